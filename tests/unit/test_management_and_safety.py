"""Management categories, the never-milder-than-a-flag invariant, course and follow-up."""

from __future__ import annotations

from assessment.engine import assess
from tests.builders import fired, lab, make

HEEL_STICK = {"neonatal_heel_sticks": True, "nicu_stay": True}


def classic_heel_stick(**changes):
    fields = dict(age=9, onset_age_months=6, heel_subsite="medial", color="white_yellow",
                  consistency="firm", largest_diameter_mm=3, history=dict(HEEL_STICK))
    fields.update(changes)
    return make(**fields)


def test_it_waits_and_watches_a_classic_heel_stick_nodule() -> None:
    out = assess(classic_heel_stick())
    assert out["leading_entity"]["code"] == "calcified_heel_stick_nodule"
    assert out["management"]["category"] == "watchful_waiting"
    assert out["red_flags"] == []
    assert out["workup"] == []
    assert out["expected_course"]["resolution_expected_by_age_months"] == [18, 30]
    assert out["follow_up"]["interval_weeks"] == 12


def test_it_treats_a_heel_stick_nodule_that_limits_walking() -> None:
    out = assess(classic_heel_stick(features=["pain_limits_walking"]))
    assert out["management"]["category"] == "treat"
    assert "MG-TREAT-SYMPTOMATIC" in fired(out)
    assert any(f["code"] == "atypical_heel_nodule" for f in out["red_flags"])


def test_it_treats_a_heel_stick_nodule_persisting_past_its_window() -> None:
    out = assess(classic_heel_stick(age=31, onset_age_months=8))
    assert out["leading_entity"]["code"] == "calcified_heel_stick_nodule"
    assert out["management"]["category"] == "treat"
    assert "already past that window" in out["expected_course"]["text"]


def test_a_review_flag_is_shown_but_does_not_escalate_management() -> None:
    out = assess(classic_heel_stick(features=["erythema_around"]))
    assert [f["action"] for f in out["red_flags"]] == ["review"]
    assert out["management"]["category"] == "watchful_waiting"
    assert "MG-REVIEW-FLAGS" in fired(out)


def test_heel_prick_inflammation_in_a_young_infant_is_urgent_whatever_else_says() -> None:
    # Everything else says "heel-stick nodule, wait and watch"; the flag must win.
    out = assess(classic_heel_stick(age=2, onset_age_months=1.5, features=["erythema_around",
                                                                          "swelling"]))
    assert out["red_flags"][0]["code"] == "suspected_abscess_or_osteomyelitis"
    assert out["management"]["category"] == "urgent"
    assert out["follow_up"]["interval_weeks"] == 0
    assert "infection_screen" in [w["code"] for w in out["workup"]]
    assert out["workup"][0]["priority"] == "essential"


def test_symptomatic_hypercalcaemia_is_urgent_and_first() -> None:
    out = assess(classic_heel_stick(history={**HEEL_STICK, "hypercalcemia_symptoms": True}))
    assert out["red_flags"][0]["action"] == "urgent"
    assert out["management"]["category"] == "urgent"
    assert out["management"]["options"][0].startswith("Same-day")


def test_calciphylaxis_signs_in_renal_disease_are_urgent() -> None:
    out = assess(make(age=120, site="leg", features=["retiform_purpura", "pain"],
                      surface="necrotic", history={"renal_disease": True}))
    assert out["red_flags"][0]["code"] == "calciphylaxis"
    assert out["management"]["category"] == "urgent"
    assert "calciphylaxis" in [d["code"] for d in out["differential"]][:3]


def test_renal_disease_refers_at_least() -> None:
    out = assess(classic_heel_stick(history={**HEEL_STICK, "renal_disease": True}))
    assert out["management"]["category"] in ("refer", "urgent")
    codes = [w["code"] for w in out["workup"]]
    assert "serum_calcium_phosphate" in codes and "renal_function" in codes
    workup = {w["code"]: w for w in out["workup"]}
    assert "renal disease" in workup["serum_calcium_phosphate"]["reason"]
    assert workup["serum_calcium_phosphate"]["priority"] == "essential"


def test_heel_sticks_denied_never_removes_the_heel_stick_nodule() -> None:
    out = assess(classic_heel_stick(history={"neonatal_heel_sticks": False}))
    codes = [d["code"] for d in out["differential"]]
    assert "calcified_heel_stick_nodule" in codes[:2]


def test_extravasation_window_is_counted_from_onset() -> None:
    out = assess(make(age=2, onset_age_months=1.5, site="foot_dorsum", color="white",
                      consistency="hard", history={"iv_calcium_received": True,
                                                   "iv_calcium_at_lesion_site": True},
                      imaging={"xray": "radiopaque"}))
    assert out["leading_entity"]["code"] == "calcium_extravasation_calcinosis"
    assert out["subtypes"][0] == out["subtypes"][0] | {"code": "iatrogenic", "role": "primary"}
    assert out["expected_course"]["resolution_expected_by_age_months"] == [2.2, 7.5]
    assert out["management"]["category"] == "watchful_waiting"


def test_micc_in_down_syndrome_is_benign_and_prompts_an_eyelid_check() -> None:
    out = assess(make(age=120, site="hand", count=8, distribution="acral", color="white",
                      consistency="firm", largest_diameter_mm=2,
                      history={"down_syndrome": True}))
    assert out["leading_entity"]["code"] == "milia_like_idiopathic_calcinosis_cutis"
    assert out["management"]["category"] == "watchful_waiting"
    assert "examine_eyelids" in [w["code"] for w in out["workup"]]


def test_a_wart_is_recognised_as_a_mimic() -> None:
    out = assess(make(age=96, site="heel", surface="hyperkeratotic", color="skin_colored",
                      features=["black_dots", "interrupted_dermatoglyphics"]))
    assert out["leading_entity"]["code"] == "verruca_plantaris"
    assert out["calcinosis"] == "unlikely"


def test_pilomatricoma_is_secondary_calcinosis_and_referred() -> None:
    out = assess(make(age=60, site="face", color="bluish", consistency="hard",
                      features=["tent_sign"]))
    assert out["leading_entity"]["code"] == "pilomatricoma"
    assert out["calcinosis"] == "secondary"
    assert out["management"]["category"] == "refer"


def test_an_adult_lab_interval_does_not_hide_a_paediatric_abnormality() -> None:
    out = assess(make(age=24, labs=[lab("creatinine", 0.8, "mg/dL", 0.5, 1.2)]))
    row = out["labs"][0]
    assert row["flag"] == "normal" and row["age_reference"]["flag"] == "high"
    assert any(f["code"] == "lab_interval_not_paediatric" for f in out["red_flags"])
    assert any(f["code"] == "renal_failure" for f in out["red_flags"])


def test_every_statement_carries_a_source_tag() -> None:
    out = assess(make(age=17, history={"renal_disease": True}, features=["erythema_around"],
                      labs=[lab("phosphate", 9, "mg/dL")]))
    for item in out["red_flags"]:
        assert item["source"].startswith("[")
    for item in out["workup"]:
        assert "[" in item["reason"]
    for reason in out["management"]["reasons"]:
        assert "[" in reason
    for rule in out["rules_fired"]:
        assert rule["source"].startswith("[")
    assert "R30" in out["sources"]
