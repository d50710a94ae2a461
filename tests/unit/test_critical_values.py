"""Critical lab values (KNOWLEDGE.md section 9.7) escalate on the number alone.

Any analyte beyond a critical limit is an `urgent` red flag, listed first, naming the analyte,
the value and unit as entered (and the SI value when the units differ), whatever the lesion looks
like. Limits are compared in SI units, strictly: exactly at the limit is not critical. The limits
below are written out independently of the engine, with the conversion factors of section 9.5.
"""

from __future__ import annotations

from typing import Any

import pytest

from assessment.engine import assess
from assessment.engine.contract import output_problems
from tests.builders import fired, lab, load_case, make

CA_F, P_F, CREAT_F, UREA_F, BUN_F = 4.008, 3.097, 88.4, 6.006, 0.357

NAMES = {
    "calcium_total": "total calcium", "calcium_ionized": "ionised calcium",
    "phosphate": "phosphate", "creatinine": "creatinine", "urea": "urea",
    "bun": "blood urea nitrogen (BUN)",
}
SI = {"calcium_total": "mmol/L", "calcium_ionized": "mmol/L", "phosphate": "mmol/L",
      "creatinine": "umol/L", "urea": "mmol/L", "bun": "mmol/L"}


def classic(age: float = 24, labs: list[dict[str, Any]] | None = None, **changes: Any
            ) -> dict[str, Any]:
    """A benign, classic heel-stick nodule: watchful waiting when the labs are normal."""
    fields: dict[str, Any] = dict(
        age=age, onset_age_months=min(age, 8), heel_subsite="medial", color="white_yellow",
        consistency="firm", largest_diameter_mm=3, trend="stable",
        history={"neonatal_heel_sticks": True, "nicu_stay": True}, labs=labs or [])
    fields.update(changes)
    return make(**fields)


def critical_flags(out: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in out["red_flags"]
            if f["rule"].startswith("RF-CRITICAL-") or f["rule"] == "RF-IONISED-CALCIUM-INFANT"]


# (analyte, direction, unit, value exactly at the limit, value just beyond it) at 24 months.
# Creatinine at 24 months: 3 x the upper limit for 1-5 years (0.49 mg/dL) is 1.47 mg/dL, above
# 129 umol/L (1.459 mg/dL), so the fixed limit applies.
THRESHOLDS: list[tuple[str, str, str, float, float]] = [
    ("calcium_total", "low", "mmol/L", 1.63, 1.62),
    ("calcium_total", "low", "mg/dL", 1.63 * CA_F, 6.53),
    ("calcium_total", "low", "mg/dL", 1.63 * CA_F, 6.5),  # §9.7's rounded 6.5 is critical in SI
    ("calcium_total", "high", "mmol/L", 3.24, 3.25),
    ("calcium_total", "high", "mg/dL", 3.24 * CA_F, 12.99),
    ("calcium_total", "high", "mg/dL", 3.24 * CA_F, 13.0),
    ("calcium_ionized", "low", "mmol/L", 0.8, 0.79),
    ("calcium_ionized", "low", "mg/dL", 0.8 * CA_F, 3.2),
    ("calcium_ionized", "high", "mmol/L", 1.6, 1.61),
    ("calcium_ionized", "high", "mg/dL", 1.6 * CA_F, 6.42),
    ("phosphate", "low", "mmol/L", 0.4, 0.39),
    ("phosphate", "low", "mg/dL", 0.4 * P_F, 1.23),
    ("phosphate", "low", "mg/dL", 0.4 * P_F, 1.2),
    ("phosphate", "high", "mmol/L", 2.6, 2.61),
    ("phosphate", "high", "mg/dL", 2.6 * P_F, 8.06),
    ("creatinine", "high", "umol/L", 129.0, 129.1),
    ("creatinine", "high", "mg/dL", 129 / CREAT_F, 1.46),
    ("urea", "high", "mmol/L", 12.0, 12.1),
    ("urea", "high", "mg/dL", 12 * UREA_F, 72.1),
    ("bun", "high", "mmol/L", 12.0, 12.1),
    ("bun", "high", "mg/dL", 12 / BUN_F, 33.62),
    ("bun", "high", "mg/dL", 12 / BUN_F, 34.0),
]
IDS = [f"{a}-{d}-{u.replace('/', '_')}-{beyond:g}" for a, d, u, _, beyond in THRESHOLDS]


def test_the_presentation_is_benign_without_labs() -> None:
    out = assess(classic())
    assert out["leading_entity"]["code"] == "calcified_heel_stick_nodule"
    assert out["management"]["category"] == "watchful_waiting"
    assert out["red_flags"] == []


@pytest.mark.parametrize(("analyte", "direction", "unit", "at", "beyond"), THRESHOLDS, ids=IDS)
def test_just_beyond_the_limit_is_urgent_and_named(analyte: str, direction: str, unit: str,
                                                   at: float, beyond: float) -> None:
    out = assess(classic(labs=[lab(analyte, beyond, unit)]))
    assert output_problems(out) == []
    flag = out["red_flags"][0]
    assert flag["action"] == "urgent"
    assert flag["code"] == f"critical_{analyte}_{direction}"
    assert flag["rule"] == f"RF-CRITICAL-{analyte.upper().replace('_', '-')}-{direction.upper()}"
    side = "below" if direction == "low" else "above"
    message = flag["message"]
    assert f"{NAMES[analyte]} {beyond:g} {unit}" in message
    assert f"is {side} the critical limit of" in message
    if unit != SI[analyte]:
        assert f"{beyond:g} {unit} (" in message and f" {SI[analyte]})" in message
    assert flag["source"] in message or flag["source"].startswith("[")
    assert out["management"]["category"] == "urgent"
    assert out["follow_up"]["interval_weeks"] == 0
    assert "R95" in out["sources"] or flag["source"] == "[M]"


@pytest.mark.parametrize(("analyte", "direction", "unit", "at", "beyond"), THRESHOLDS, ids=IDS)
def test_exactly_at_the_limit_is_not_critical(analyte: str, direction: str, unit: str,
                                             at: float, beyond: float) -> None:
    out = assess(classic(labs=[lab(analyte, at, unit)]))
    assert critical_flags(out) == []
    assert out["management"]["category"] != "urgent"


# --- The reviewer's examples ----------------------------------------------------------------

def test_calcium_5_mg_dl_on_a_classic_heel_nodule_is_urgent() -> None:
    out = assess(classic(labs=[lab("calcium_total", 5.0, "mg/dL")]))
    assert out["management"]["category"] == "urgent"
    first = out["red_flags"][0]
    assert first["action"] == "urgent"
    assert ("Critical value: total calcium 5 mg/dL (1.25 mmol/L) is below the critical limit "
            "of 6.53 mg/dL (1.63 mmol/L).") in first["message"]
    assert first["source"] == "[V R95][M]"


def test_calcium_14_5_mg_dl_is_urgent_not_only_refer() -> None:
    out = assess(classic(labs=[lab("calcium_total", 14.5, "mg/dL")]))
    assert out["management"]["category"] == "urgent"
    first = out["red_flags"][0]
    assert first["code"] == "critical_calcium_total_high"
    assert ("total calcium 14.5 mg/dL (3.62 mmol/L) is above the critical limit of 13 mg/dL "
            "(3.24 mmol/L)") in first["message"]
    # The refer flag for abnormal minerals stays, after it.
    # One flag per finding: the critical flag names the calcium, no second "abnormal" flag.
    assert "abnormal_calcium_or_phosphate" not in [f["code"] for f in out["red_flags"]]


def seed_b_crusted() -> dict[str, Any]:
    data = load_case("seed_case_b_extravasation_renal_failure.json")["input"]
    data["lesion"]["surface"] = "crusted"
    return data


def test_seed_b_labs_on_a_crusted_plaque_are_urgent_and_name_every_critical_value() -> None:
    out = assess(seed_b_crusted())
    assert out["management"]["category"] == "urgent"
    assert out["follow_up"]["interval_weeks"] == 0
    critical = critical_flags(out)
    assert [f["code"] for f in critical] == [
        "critical_calcium_total_low", "critical_phosphate_high", "critical_creatinine_high",
        "critical_urea_high"]
    assert out["red_flags"][:4] == critical, "critical values are listed first"
    text = " ".join(f["message"] for f in critical)
    assert "total calcium 3.9 mg/dL (0.97 mmol/L) is below the critical limit" in text
    assert "phosphate 19.8 mg/dL (6.39 mmol/L)" in text
    assert "creatinine 7.18 mg/dL (635 umol/L)" in text
    # Known renal disease does not silence them; the sentence says so.
    assert all("Renal disease is recorded" in f["message"] for f in critical)


# --- Known disease, age-specific creatinine, lab intervals ---------------------------------------

@pytest.mark.parametrize("renal", [True, False, None])
def test_known_renal_disease_does_not_silence_a_critical_value(renal: bool | None) -> None:
    out = assess(classic(labs=[lab("creatinine", 300, "umol/L"), lab("phosphate", 2.9, "mmol/L")],
                         history={"neonatal_heel_sticks": True, "renal_disease": renal}))
    codes = [f["code"] for f in critical_flags(out)]
    assert codes == ["critical_phosphate_high", "critical_creatinine_high"]
    assert out["management"]["category"] == "urgent"
    said = all("Renal disease is recorded" in f["message"] for f in critical_flags(out))
    assert said is (renal is True)


@pytest.mark.parametrize(("value", "unit", "critical"), [
    (1.3, "mg/dL", True),  # 115 umol/L: under 129 but over 3 x 0.42 mg/dL
    (1.27, "mg/dL", True),
    (1.26, "mg/dL", False),  # exactly 3 x the upper limit
    (112, "umol/L", True),
    (3 * 0.42 * CREAT_F, "umol/L", False),
    (1.0, "mg/dL", False),
])
def test_creatinine_above_three_times_the_infant_upper_limit_is_critical(
        value: float, unit: str, critical: bool) -> None:
    out = assess(classic(age=2, onset_age_months=1.5, labs=[lab("creatinine", value, unit)]))
    assert ("RF-CRITICAL-CREATININE-HIGH" in fired(out)) is critical
    if critical:
        flag = out["red_flags"][0]
        assert flag["code"] == "critical_creatinine_high"
        assert f"creatinine {value:g} {unit}" in flag["message"]
        assert "3 times the upper limit for age (0.42 mg/dL" in flag["message"]
        assert out["management"]["category"] == "urgent"


def test_an_adult_lab_interval_does_not_hide_a_critical_infant_creatinine() -> None:
    out = assess(classic(age=2, onset_age_months=1.5,
                         labs=[lab("creatinine", 1.3, "mg/dL", 0.5, 1.5)]))
    assert out["red_flags"][0]["code"] == "critical_creatinine_high"
    assert out["management"]["category"] == "urgent"


def test_micro_sign_unit_is_accepted_and_flagged() -> None:
    out = assess(classic(labs=[lab("creatinine", 700, "µmol/L")]))
    assert "creatinine 700 umol/L is above the critical limit of 129 umol/L" in (
        out["red_flags"][0]["message"])


# --- Ionised calcium: one flag, not two --------------------------------------------------------

@pytest.mark.parametrize(("age", "rule"), [(6, "RF-IONISED-CALCIUM-INFANT"),
                                          (24, "RF-CRITICAL-CALCIUM-IONIZED-HIGH")])
def test_high_ionised_calcium_gives_one_flag(age: float, rule: str) -> None:
    out = assess(classic(age=age, labs=[lab("calcium_ionized", 1.8, "mmol/L")]))
    flags = critical_flags(out)
    assert [f["rule"] for f in flags] == [rule]
    assert "ionised calcium 1.8 mmol/L is above the critical limit of 1.6 mmol/L" in (
        flags[0]["message"])
    assert out["management"]["category"] == "urgent"


# --- Order and the management floor ---------------------------------------------------------

def test_a_critical_value_is_listed_before_other_urgent_flags() -> None:
    out = assess(classic(age=2, onset_age_months=1.5, features=["erythema_around", "swelling"],
                         labs=[lab("calcium_total", 1.5, "mmol/L")]))
    assert [f["code"] for f in out["red_flags"][:2]] == [
        "critical_calcium_total_low", "suspected_abscess_or_osteomyelitis"]


def test_no_other_rule_lowers_a_critical_value() -> None:
    # Symptomatic benign nodule ("treat") and a review flag: still urgent.
    out = assess(classic(features=["pain_limits_walking"],
                         labs=[lab("phosphate", 0.3, "mmol/L")]))
    assert out["management"]["category"] == "urgent"
    assert "MG-TREAT-SYMPTOMATIC" in fired(out)
    assert out["management"]["reasons"][-1].startswith("Urgent, because of the red flag: "
                                                       "Critical value: phosphate 0.3 mmol/L")
    assert out["management"]["options"][0].startswith("Act on the critical result today")


def test_several_critical_values_add_the_advice_once() -> None:
    out = assess(classic(labs=[lab("calcium_total", 1.2, "mmol/L"),
                               lab("phosphate", 3.0, "mmol/L")]))
    options = out["management"]["options"]
    assert len(options) == len(set(options))
    assert len(critical_flags(out)) == 2


# --- Low total calcium short of critical: refer ---------------------------------------------

def test_total_calcium_below_1_9_mmol_l_refers() -> None:
    out = assess(classic(labs=[lab("calcium_total", 7.2, "mg/dL")]))
    assert [f["code"] for f in out["red_flags"]] == ["calcium_total_below_1_9"]
    assert out["red_flags"][0]["action"] == "refer"
    assert "7.2 mg/dL (1.8 mmol/L)" in out["red_flags"][0]["message"]
    assert out["management"]["category"] == "refer"
