"""The three seed cases give what their `expected` block says (copies kept in tests/data/cases)."""

from __future__ import annotations

from typing import Any

import pytest

from assessment.engine import assess
from assessment.engine.contract import output_problems
from tests.builders import all_cases

CASES = all_cases()
IDS = [name for name, _ in CASES]


@pytest.fixture(params=CASES, ids=IDS)
def case(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    _, data = request.param
    return data["expected"], assess(data["input"])


def test_there_are_three_seed_cases() -> None:
    assert len(CASES) == 3


def test_output_honours_the_contract(case: tuple[dict, dict]) -> None:
    _, out = case
    assert output_problems(out) == []


def test_calcinosis_level(case: tuple[dict, dict]) -> None:
    expected, out = case
    assert out["calcinosis"] in expected["calcinosis"]


def test_required_subtypes_are_present_and_nothing_outside_the_allowed_extras(
    case: tuple[dict, dict],
) -> None:
    expected, out = case
    codes = {s["code"] for s in out["subtypes"]}
    assert set(expected["subtypes_required"]) <= codes
    assert codes <= set(expected["subtypes_required"]) | set(expected["subtypes_allowed_extra"])


def test_leading_entity(case: tuple[dict, dict]) -> None:
    expected, out = case
    assert out["leading_entity"]["code"] in expected["leading_entity_any_of"]
    assert out["leading_entity"]["reasons"], "the leading entity must say why"


def test_differential_includes_the_expected_entities(case: tuple[dict, dict]) -> None:
    expected, out = case
    codes = [d["code"] for d in out["differential"]]
    missing = set(expected["differential_must_include"]) - set(codes)
    assert not missing
    for item in out["differential"]:
        assert item["for"], f"{item['code']} is listed without a finding for it"


def test_management(case: tuple[dict, dict]) -> None:
    expected, out = case
    assert out["management"]["category"] in expected["management_any_of"]
    assert out["management"]["reasons"] and out["management"]["options"]


def test_red_flags(case: tuple[dict, dict]) -> None:
    expected, out = case
    actionable = [f for f in out["red_flags"] if f["action"] in ("urgent", "refer", "review")]
    assert bool(actionable) == expected["red_flags_expected"]


def test_lab_flags(case: tuple[dict, dict]) -> None:
    expected, out = case
    flags = {row["analyte"]: row["flag"] for row in out["labs"]}
    for analyte, flag in expected.get("lab_flags", {}).items():
        assert flags[analyte] == flag, analyte


def test_calcium_phosphate_product(case: tuple[dict, dict]) -> None:
    expected, out = case
    if "calcium_phosphate_product_mg2_dl2" in expected:
        product = out["calcium_phosphate_product"]
        assert product["value_mg2_dl2"] == pytest.approx(
            expected["calcium_phosphate_product_mg2_dl2"], abs=0.05)


def test_expected_resolution_window(case: tuple[dict, dict]) -> None:
    expected, out = case
    if "expected_resolution_by_age_months" in expected:
        assert (out["expected_course"]["resolution_expected_by_age_months"]
                == expected["expected_resolution_by_age_months"])


# --- Case-specific points from the seed notes --------------------------------------------------

def _out(name: str) -> dict[str, Any]:
    return assess(dict(CASES)[name]["input"])


def test_case_a_keeps_the_heel_stick_nodule_despite_the_parental_no() -> None:
    out = _out("seed_case_a_pearl_like_heel_nodule.json")
    codes = [d["code"] for d in out["differential"]]
    assert codes.index("calcified_heel_stick_nodule") == 1
    assert {"code": "iatrogenic", "role": "alternative"}.items() <= next(
        s for s in out["subtypes"] if s["code"] == "iatrogenic").items()
    assert "HS-STICKS-DENIED" in [r["id"] for r in out["rules_fired"]]
    assert out["workup"] == [], "a classic benign presentation must not demand tests"
    assert "serum_calcium_phosphate" in [w["code"] for w in out["workup_not_needed"]]


def test_case_b_is_mixed_iatrogenic_and_metastatic_with_the_lab_interval_used() -> None:
    out = _out("seed_case_b_extravasation_renal_failure.json")
    roles = {s["code"]: s["role"] for s in out["subtypes"]}
    assert {roles["iatrogenic"], roles["metastatic"]} == {"primary", "contributing"}
    creatinine = next(row for row in out["labs"] if row["analyte"] == "creatinine")
    assert (creatinine["reference_low"], creatinine["reference_high"]) == (0.5, 1.2)
    assert creatinine["reference_source"] == "reporting laboratory's own interval"
    # ...and the paediatric interval for 17 months is shown beside it.
    assert creatinine["age_reference"]["reference_high"] == 0.49
    assert creatinine["age_reference"]["flag"] == "high"
    assert creatinine["times_upper_limit_for_age"] == pytest.approx(14.7, abs=0.1)
    codes = [f["code"] for f in out["red_flags"]]
    assert "calcium_phosphate_product_high" in codes and "renal_failure" in codes
    assert out["red_flags"][0]["action"] == "urgent", "urgent flags come first"
    # Calcium 3.9 mg/dL, phosphate 19.8 mg/dL, creatinine and urea are critical values (9.7).
    assert out["red_flags"][0]["code"] == "critical_calcium_total_low"
    assert "total calcium 3.9 mg/dL (0.97 mmol/L)" in out["red_flags"][0]["message"]
    assert out["management"]["category"] == "urgent"
    assert out["calcium_phosphate_product"]["flag"] == "high"


def test_case_c_is_a_classic_heel_stick_nodule_with_no_test_demanded() -> None:
    out = _out("seed_case_c_heel_stick_nodules.json")
    assert out["workup"] == []
    assert out["follow_up"]["interval_weeks"] == 12
    for row in out["labs"]:
        assert "Mayo" in row["reference_source"] or "Adventist" in row["reference_source"]
