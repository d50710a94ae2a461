"""Kaplan–Meier figures for one group of lesions: the numbers the outcomes page prints and
plots, from (duration, resolved?) pairs. Pure: no Django, no database, no clock.

The estimator is lifelines' ``KaplanMeierFitter`` (a well-kept library rather than a
hand-written estimator). Identical (duration, event) pairs are collapsed into integer weights
before fitting: a registry has hundreds of thousands of lesions but only a few thousand distinct
durations in days, and with integer weights the estimate and its Greenwood confidence interval
equal those of the expanded data.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class KmFigures:
    """What the page shows of one group. Times are in the unit of the durations given (weeks
    on the page). A median or confidence limit of None means the curve (or its confidence
    band) never falls to one half: "not reached"."""

    lesions: int
    events: int
    censored: int
    median: float | None
    median_low: float | None
    median_high: float | None
    # The step curve as (time, proportion still unresolved) at 0, at every time where it
    # drops, and at the last time observed (where the curve ends).
    curve: tuple[tuple[float, float], ...]
    # Number at risk: lesions still followed and unresolved just before each chosen time.
    at_risk: tuple[tuple[float, int], ...]
    # The estimate at each chosen time; None past the last time observed (not estimable).
    unresolved_at: tuple[tuple[float, float | None], ...]
    last_time: float


def _finite(value: float) -> float | None:
    return None if value is None or math.isinf(value) or math.isnan(value) else float(value)


def km_figures(durations: Sequence[float], events: Sequence[bool],
               at_times: Sequence[float]) -> KmFigures:
    """Kaplan–Meier figures of one group; ``events[i]`` is True when ``durations[i]`` ended in
    the event (resolution), False when the lesion was censored then (still followed, not
    resolved). ``at_times``: where to count the number at risk and read the estimate."""
    if len(durations) != len(events):
        raise ValueError("durations and events differ in length")
    return km_figures_counted(
        Counter(zip((float(d) for d in durations), (bool(e) for e in events), strict=True)),
        at_times)


def km_figures_counted(pairs: Mapping[tuple[float, bool], int],
                       at_times: Sequence[float]) -> KmFigures:
    """The same from {(duration, event): number of lesions}: what the page counts in one
    pass over the registry."""
    if not pairs or not sum(pairs.values()):
        raise ValueError("no lesions in the group")
    if any(time < 0 for time, _ in pairs) or any(count < 0 for count in pairs.values()):
        raise ValueError("a duration or count is negative")
    # Imported here: lifelines brings pandas and scipy (about 2 s and 150 MB), which only
    # the outcomes page needs; every other page and worker stays without them.
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    times = [float(time) for time, _ in pairs]
    observed = [bool(event) for _, event in pairs]
    weights = list(pairs.values())
    fitter = KaplanMeierFitter().fit(times, observed, weights=weights)
    interval = median_survival_times(fitter.confidence_interval_)
    low_column, high_column = fitter.confidence_interval_.columns[:2]

    column = fitter.survival_function_.columns[0]
    estimate = fitter.survival_function_[column]
    curve: list[tuple[float, float]] = []
    previous = None
    for time, value in estimate.items():
        if value != previous:
            curve.append((float(time), float(value)))
            previous = value
    last_time = max(times)
    if curve[-1][0] != last_time:
        curve.append((last_time, curve[-1][1]))

    def value_at(time: float) -> float | None:
        if time > last_time:
            return None
        # The estimate is a right-continuous step: its value at ``time`` is that of the last
        # step at or before it.
        return next(value for step, value in reversed(curve) if step <= time)

    lesions = sum(weights)
    event_count = sum(count for (_, event), count in pairs.items() if event)
    return KmFigures(
        lesions=lesions, events=event_count, censored=lesions - event_count,
        median=_finite(fitter.median_survival_time_),
        median_low=_finite(interval[low_column].iloc[0]),
        median_high=_finite(interval[high_column].iloc[0]),
        curve=tuple(curve),
        at_risk=tuple((float(t), sum(count for (time, _), count in pairs.items() if time >= t))
                      for t in at_times),
        unresolved_at=tuple((float(t), value_at(t)) for t in at_times),
        last_time=last_time,
    )


def survival_at(figures: KmFigures, time: float) -> float:
    """The estimate at ``time`` read from the figures' curve (for tests and captions)."""
    return next(value for step, value in reversed(figures.curve) if step <= time)
