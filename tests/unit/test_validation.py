"""Bad input: every error names its field path; values that are valid pass untouched."""

from __future__ import annotations

from typing import Any

import pytest

from assessment.engine import InvalidInput, validate
from tests.builders import lab, make


def errors_for(data: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        validate(data)
    return {e.field: e.message for e in caught.value.errors}


def with_(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    node = data
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    return data


BAD: list[tuple[str, Any, str, str]] = [
    # (path to set, value, field expected in errors, words expected in its message)
    ("patient.age_months", -1, "patient.age_months", "from 0 to 216"),
    ("patient.age_months", 216.1, "patient.age_months", "from 0 to 216"),
    ("patient.age_months", "12", "patient.age_months", "must be a number"),
    ("patient.age_months", True, "patient.age_months", "must be a number"),
    ("patient.age_months", None, "patient.age_months", "is required"),
    ("patient.sex", "F", "patient.sex", "unknown code"),
    ("patient.history", [], "patient.history", "must be an object"),
    ("patient.history.nicu_stay", "yes", "patient.history.nicu_stay", "true, false or null"),
    ("patient.history.nicu_stay", 1, "patient.history.nicu_stay", "true, false or null"),
    ("patient.history.nicu", True, "patient.history.nicu", "did you mean 'nicu_stay'"),
    ("patient.history.gestational_age_weeks", 21.9, "patient.history.gestational_age_weeks",
     "from 22 to 44"),
    ("patient.history.gestational_age_weeks", 44.1, "patient.history.gestational_age_weeks",
     "from 22 to 44"),
    ("lesion.site", "hele", "lesion.site", "did you mean 'heel'"),
    ("lesion.site", 3, "lesion.site", "must be one of the codes"),
    ("lesion.count", 0, "lesion.count", "from 1 to 500"),
    ("lesion.count", 1.5, "lesion.count", "whole number"),
    ("lesion.count", 10**12, "lesion.count", "from 1 to 500"),
    ("lesion.largest_diameter_mm", 0, "lesion.largest_diameter_mm", "greater than 0"),
    ("lesion.largest_diameter_mm", 300.1, "lesion.largest_diameter_mm", "to 300 mm"),
    ("lesion.largest_diameter_mm", float("nan"), "lesion.largest_diameter_mm", "finite"),
    ("lesion.largest_diameter_mm", float("inf"), "lesion.largest_diameter_mm", "finite"),
    ("lesion.colour", "white", "lesion.colour", "did you mean 'color'"),
    ("lesion.features", "pain", "lesion.features", "must be a list"),
    ("lesion.features", ["pain", "pain"], "lesion.features[1]", "listed twice"),
    ("lesion.features", ["itchy"], "lesion.features[0]", "unknown code"),
    ("lesion.trend", "bigger", "lesion.trend", "unknown code"),
    ("lesion.onset_age_months", 13, "lesion.onset_age_months", "later than the child's age"),
    ("lesion.duration_weeks", 60, "lesion.duration_weeks", "longer than the child's life"),
    ("imaging.xray", "positive", "imaging.xray", "unknown code"),
    ("imaging.dermoscopy", ["dots"], "imaging.dermoscopy[0]", "unknown code"),
    ("imaging.mri", "x", "imaging.mri", "unknown field"),
    ("labs", {}, "labs", "must be a list"),
    ("extra", 1, "extra", "unknown field"),
    ("contract", 2, "contract", "contract 1"),
]


@pytest.mark.parametrize(("path", "value", "field", "words"), BAD,
                         ids=[f"{b[0]}={b[1]!r}"[:60] for b in BAD])
def test_bad_value_is_reported_on_its_field(path: str, value: Any, field: str,
                                            words: str) -> None:
    errors = errors_for(with_(make(age=12), path, value))
    assert field in errors, errors
    assert words in errors[field]


@pytest.mark.parametrize(("row", "field", "words"), [
    ({"analyte": "calcium", "value": 9, "unit": "mg/dL"}, "labs[0].analyte",
     "did you mean 'calcium_total'"),
    ({"analyte": "calcium_total", "value": 9, "unit": "mg"}, "labs[0].unit", "not accepted"),
    ({"analyte": "creatinine", "value": 0.4, "unit": "mmol/L"}, "labs[0].unit", "umol/L"),
    ({"analyte": "calcium_total", "value": -1, "unit": "mg/dL"}, "labs[0].value", "negative"),
    ({"analyte": "calcium_total", "value": 90, "unit": "mg/dL"}, "labs[0].value",
     "outside the plausible range"),
    ({"analyte": "calcium_total", "value": "9", "unit": "mg/dL"}, "labs[0].value",
     "must be a number"),
    ({"analyte": "calcium_total", "unit": "mg/dL"}, "labs[0].value", "is required"),
    ({"analyte": "calcium_total", "value": 9}, "labs[0].unit", "is required"),
    ({"analyte": "calcium_total", "value": 9, "unit": "mg/dL", "reference_low": 10,
      "reference_high": 8}, "labs[0].reference_high", "greater than reference_low"),
    ({"analyte": "calcium_total", "value": 9, "unit": "mg/dL", "flag": "low"}, "labs[0].flag",
     "unknown field"),
    ("calcium 9", "labs[0]", "must be an object"),
])
def test_bad_lab_row_is_reported_on_its_field(row: Any, field: str, words: str) -> None:
    errors = errors_for(make(labs=[row]))
    assert field in errors, errors
    assert words in errors[field]


def test_the_same_analyte_twice_is_refused() -> None:
    errors = errors_for(make(labs=[lab("phosphate", 5, "mg/dL"), lab("phosphate", 6, "mg/dL")]))
    assert "already given in labs[0]" in errors["labs[1].analyte"]


def test_all_errors_are_collected_in_one_pass() -> None:
    data = make(age=-1, site="x", count=0)
    data["lesion"]["color"] = "green"
    assert len(errors_for(data)) == 4


@pytest.mark.parametrize("data", [None, [], "text", 3, True])
def test_non_object_input_is_refused(data: Any) -> None:
    assert "input" in errors_for(data)


def test_missing_patient_and_lesion_are_named() -> None:
    errors = errors_for({"labs": []})
    assert errors == {"patient": "is required", "lesion": "is required"}


@pytest.mark.parametrize(("history", "field"), [
    ({"preterm_birth": True, "gestational_age_weeks": 38},
     "patient.history.gestational_age_weeks"),
    ({"preterm_birth": False, "gestational_age_weeks": 30},
     "patient.history.gestational_age_weeks"),
    ({"iv_calcium_received": False, "iv_calcium_at_lesion_site": True},
     "patient.history.iv_calcium_at_lesion_site"),
])
def test_contradictions_in_history_are_refused(history: dict, field: str) -> None:
    assert field in errors_for(make(history=history))


def test_heel_subsite_needs_the_heel() -> None:
    assert "lesion.heel_subsite" in errors_for(make(site="sole", heel_subsite="medial"))


def test_perpendicular_diameter_cannot_exceed_the_largest() -> None:
    errors = errors_for(make(largest_diameter_mm=3, perpendicular_diameter_mm=4))
    assert "lesion.perpendicular_diameter_mm" in errors


def test_long_hostile_strings_are_truncated_in_messages() -> None:
    errors = errors_for(make(site="<script>" + "x" * 10_000))
    assert len(errors["lesion.site"]) < 600


def test_null_means_unknown_everywhere() -> None:
    data = make()
    data["lesion"].update({key: None for key in ("heel_subsite", "laterality", "distribution",
                                                 "color", "features", "trend")})
    data["imaging"] = None
    data["labs"] = None
    findings = validate(data)
    assert findings.lesion.features == frozenset()
    assert findings.labs == ()


def test_an_empty_key_is_named_by_the_object_that_holds_it() -> None:
    """Found by hypothesis: {"": null} gave an error with an empty field name."""
    from assessment.engine import InvalidInput, assess

    for body, where in (({"": None}, "input"), ({"patient": {"": 1}}, "patient")):
        with pytest.raises(InvalidInput) as raised:
            assess(body)
        fields = [error.field for error in raised.value.errors]
        assert all(fields) and where in fields
