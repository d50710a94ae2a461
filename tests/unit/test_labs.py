"""Units, conversions, age- and sex-specific intervals and Ca×P."""

from __future__ import annotations

import pytest

from assessment.engine import InvalidInput, assess
from assessment.engine import labs as catalog
from tests.builders import lab, make


@pytest.mark.parametrize(("analyte", "value", "unit", "canonical"), [
    ("calcium_total", 2.5, "mmol/L", 10.02),
    ("calcium_ionized", 5.0, "mg/dL", 1.2475),
    ("phosphate", 1.0, "mmol/L", 3.097),
    ("creatinine", 88.4, "umol/L", 1.0),
    ("urea", 10, "mmol/L", 60.06),
    ("albumin", 40, "g/L", 4.0),
    ("crp", 1, "mg/dL", 10),
    ("vitamin_d_25oh", 50, "nmol/L", 20.03),
])
def test_it_converts_to_the_canonical_unit(analyte, value, unit, canonical) -> None:
    assert catalog.to_canonical(analyte, value, unit) == pytest.approx(canonical, rel=1e-3)


def test_unit_spelling_is_normalised_but_never_guessed() -> None:
    assert catalog.normalise_unit("mg/dl", "calcium_total") == "mg/dL"
    assert catalog.normalise_unit("µmol/L", "creatinine") == "umol/L"
    assert catalog.normalise_unit("umol/L", "calcium_total") is None


@pytest.mark.parametrize(("analyte", "age", "sex", "low", "high"), [
    ("calcium_total", 0.2, "male", 7.6, 10.4),     # neonatal band, first 10 days
    ("calcium_total", 0.4, "male", 8.7, 11.0),
    ("calcium_total", 11.99, "female", 8.7, 11.0),
    ("calcium_total", 12, "female", 9.3, 10.6),
    ("phosphate", 8, "male", 3.1, 6.6),
    ("phosphate", 8, "female", 3.1, 6.8),
    ("phosphate", 8, "unknown", 3.1, 6.8),          # widest of the two when sex is unknown
    ("phosphate", 17, "female", 3.1, 6.3),
    ("phosphate", 156, "female", 4.0, 5.2),
    ("creatinine", 17, "female", 0.19, 0.49),
    ("creatinine", 0.3, "male", 0.30, 0.90),       # first two weeks
    ("creatinine", 185, "male", 0.74, 1.35),
    ("creatinine", 185, "female", 0.35, 0.86),
    ("creatinine", 185, "unknown", 0.35, 1.35),
    ("alkaline_phosphatase", 200, "female", 50, 117),   # 16.7 years
    ("alkaline_phosphatase", 204, "female", 35, 104),
])
def test_age_and_sex_specific_intervals(analyte, age, sex, low, high) -> None:
    interval = catalog.reference_interval(analyte, age, sex)
    assert interval is not None
    assert (interval.low, interval.high) == (low, high)
    assert "[" in interval.source


def test_every_age_has_a_calcium_phosphate_and_creatinine_interval() -> None:
    for analyte in ("calcium_total", "phosphate", "creatinine", "alkaline_phosphatase"):
        for tenth in range(0, 2161):
            for sex in ("female", "male", "unknown"):
                assert catalog.reference_interval(analyte, tenth / 10, sex), (analyte, tenth)


def test_lab_interval_is_used_when_given_and_shown_in_the_entered_unit() -> None:
    out = assess(make(age=24, labs=[lab("phosphate", 2.0, "mmol/L", 1.0, 1.8)]))
    row = out["labs"][0]
    assert (row["reference_low"], row["reference_high"]) == (1.0, 1.8)
    assert row["flag"] == "high"
    assert row["converted"] == {"value": 6.19, "unit": "mg/dL",
                                "conversion_source": "[V R63][V R93]"}


def test_builtin_interval_is_converted_to_the_entered_unit() -> None:
    out = assess(make(age=24, labs=[lab("creatinine", 30, "umol/L")]))
    row = out["labs"][0]
    assert row["reference_high"] == pytest.approx(43.32, abs=0.01)
    assert row["flag"] == "normal"
    assert "CRTS1" in row["reference_source"] and "1–5 years" in row["reference_source"]


def test_analyte_without_interval_is_not_flagged() -> None:
    # Every analyte now has a built-in interval at every age (tests/unit/test_intervals.py), so
    # "no_reference" is left only for an interval with neither bound.
    assert catalog.flag(80, None, None) == "no_reference"
    out = assess(make(labs=[lab("fgf23_intact", 80, "pg/mL")]))
    assert out["labs"][0]["flag"] == "high"  # paediatric upper limit 52 pg/mL [V R107]


@pytest.mark.parametrize(("ca", "p", "age", "flag"), [
    (10, 7.0, 30, "high"),
    (10, 6.99, 30, "above_target"),
    (10, 6.51, 144, "above_target"),
    (10, 6.5, 144, "normal"),
    (10, 5.51, 145, "above_target"),
    (10, 5.5, 145, "normal"),
])
def test_calcium_phosphate_product_flags(ca, p, age, flag) -> None:
    out = assess(make(age=age, labs=[lab("calcium_total", ca, "mg/dL"),
                                     lab("phosphate", p, "mg/dL")]))
    assert out["calcium_phosphate_product"]["flag"] == flag


def test_product_is_computed_in_mg_units_from_si_input() -> None:
    out = assess(make(age=17, labs=[lab("calcium_total", 0.973, "mmol/L"),
                                    lab("phosphate", 6.393, "mmol/L")]))
    assert out["calcium_phosphate_product"]["value_mg2_dl2"] == pytest.approx(77.2, abs=0.1)


def test_a_value_in_the_wrong_unit_is_an_error_that_suggests_the_unit() -> None:
    with pytest.raises(InvalidInput) as caught:
        assess(make(labs=[lab("calcium_total", 9.8, "mmol/L")]))
    (error,) = caught.value.errors
    assert error.field == "labs[0].value"
    assert "9.8 mg/dL would be plausible" in error.message


def test_reference_interval_by_age_band_matches_the_scan_at_every_bound() -> None:
    """The cached band lookup gives the interval the scan of the table gives, just below, at
    and just above every bound, for every sex."""
    for analyte, bounds in catalog._BOUNDS.items():
        ages = {0.0, 216.0}
        for bound in bounds:
            ages |= {max(0.0, bound - 0.01), float(bound), bound + 0.01}
        for age in sorted(ages):
            for sex in ("male", "female", "unknown"):
                assert (catalog.reference_interval(analyte, age, sex)
                        == catalog._reference_interval(analyte, age, sex)), (analyte, age, sex)


def test_a_nan_age_is_never_cached_as_a_band() -> None:
    """NaN compares false with every bound (bisect puts it in the last band): its answer must
    not become that band's answer for the ages that belong there."""
    catalog._BY_BAND.clear()  # a fresh cache: the NaN lookup comes first
    for analyte, bounds in catalog._BOUNDS.items():
        catalog.reference_interval(analyte, float("nan"), "male")
        last = float(bounds[-1]) + 1 if bounds else 24.0
        assert (catalog.reference_interval(analyte, last, "male")
                == catalog._reference_interval(analyte, last, "male")), analyte
