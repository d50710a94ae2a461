"""The outcomes page's Kaplan–Meier figures against a textbook example with known values:
the Freireich et al. 6-MP leukaemia remission data (Gehan 1965), as worked in Kleinbaum &
Klein, Survival Analysis, chapter 2. Weeks of remission; "+" marks a censored time.

The figures come through ``assessment.outcomes.km.km_figures``, the function the page uses."""

from __future__ import annotations

import pytest

from assessment.outcomes.km import km_figures, survival_at

# 6-MP group: 6,6,6,6+,7,9+,10,10+,11+,13,16,17+,19+,20+,22,23,25+,32+,32+,34+,35+
SIX_MP = [(6, True), (6, True), (6, True), (6, False), (7, True), (9, False), (10, True),
          (10, False), (11, False), (13, True), (16, True), (17, False), (19, False),
          (20, False), (22, True), (23, True), (25, False), (32, False), (32, False),
          (34, False), (35, False)]
PLACEBO = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]
AT = (0, 4, 8, 10, 13, 26, 52)


def six_mp() -> object:
    return km_figures([t for t, _ in SIX_MP], [e for _, e in SIX_MP], AT)


@pytest.mark.parametrize(("time", "expected"), [
    (0, 1.0), (5.9, 1.0), (6, 0.857), (7, 0.807), (9, 0.807), (10, 0.753), (12.9, 0.753),
    (13, 0.690), (16, 0.627), (21, 0.627), (22, 0.538), (23, 0.448), (35, 0.448)])
def test_it_matches_the_textbook_survival_estimates(time: float, expected: float) -> None:
    assert survival_at(six_mp(), time) == pytest.approx(expected, abs=0.0005)


def test_it_counts_lesions_events_and_censored() -> None:
    figures = six_mp()
    assert (figures.lesions, figures.events, figures.censored) == (21, 9, 12)
    assert figures.last_time == 35


def test_it_gives_the_textbook_median_of_23_weeks_for_6mp() -> None:
    figures = six_mp()
    assert figures.median == 23
    # The lower limit from lifelines' confidence band (13 weeks); the upper band never falls
    # to one half, so the upper limit is "not reached" (None).
    assert figures.median_low == 13
    assert figures.median_high is None


def test_it_gives_the_textbook_median_of_8_weeks_for_placebo() -> None:
    figures = km_figures(PLACEBO, [True] * len(PLACEBO), AT)
    assert figures.median == 8
    assert (figures.events, figures.censored) == (21, 0)
    assert figures.median_low is not None and figures.median_low <= 8
    assert figures.median_high is not None and figures.median_high >= 8
    # Every child relapsed by 23 weeks: the curve ends at zero.
    assert figures.curve[-1] == (23.0, 0.0)


def test_a_median_not_reached_is_none() -> None:
    figures = km_figures([5, 10, 20, 30], [True, False, False, False], AT)
    assert figures.median is None
    assert survival_at(figures, 30) == pytest.approx(0.75)


def test_it_counts_the_number_at_risk_at_chosen_times() -> None:
    # At risk at t: remission lasted at least t weeks (Kleinbaum & Klein's n_j).
    assert dict(six_mp().at_risk) == {0: 21, 4: 21, 8: 16, 10: 15, 13: 12, 26: 4, 52: 0}
    placebo = km_figures(PLACEBO, [True] * len(PLACEBO), AT)
    assert dict(placebo.at_risk) == {0: 21, 4: 16, 8: 12, 10: 8, 13: 4, 26: 0, 52: 0}


def test_the_estimate_at_chosen_times_stops_at_the_last_follow_up() -> None:
    estimates = dict(six_mp().unresolved_at)
    assert estimates[13] == pytest.approx(0.690, abs=0.0005)
    assert estimates[26] == pytest.approx(0.448, abs=0.0005)
    assert estimates[52] is None  # nobody was followed that long


def test_the_curve_is_a_step_curve_from_one() -> None:
    curve = six_mp().curve
    assert curve[0] == (0.0, 1.0)
    assert [t for t, _ in curve] == [0, 6, 7, 10, 13, 16, 22, 23, 35]
    values = [s for _, s in curve]
    assert values == sorted(values, reverse=True)


def test_collapsing_repeated_durations_changes_nothing() -> None:
    """The page fits weighted distinct pairs; the figures equal those of the raw data, the
    confidence interval included (compared with lifelines on the expanded data)."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    durations = [t for t, _ in SIX_MP] * 3
    events = [e for _, e in SIX_MP] * 3
    figures = km_figures(durations, events, AT)
    raw = KaplanMeierFitter().fit(durations, events)
    interval = median_survival_times(raw.confidence_interval_)
    assert figures.median == raw.median_survival_time_
    assert figures.median_low == interval.iloc[0, 0]
    for time, value in figures.curve:
        assert value == pytest.approx(raw.predict(time))
    assert figures.lesions == 63 and figures.events == 27


@pytest.mark.parametrize(("durations", "events"), [([], []), ([1], [True, False]), ([-1], [True])])
def test_it_refuses_impossible_input(durations: list[float], events: list[bool]) -> None:
    with pytest.raises(ValueError):
        km_figures(durations, events, AT)
