"""The parent handout (assessment/handout.py): plain words for every benign entity, this child's
own dates, and who gets one (never an urgent child; the clinician's diagnosis when it overrides).
No database: plain values and the engine's output."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from assessment import handout
from assessment.engine import assess
from assessment.engine.knowledge import ENTITIES
from assessment.handout import (
    HANDOUT_ENTITIES,
    NO_WINDOW,
    TEXTS,
    build_handout,
    expected_dates,
    handout_offered,
    long_date,
    onset_date,
)
from tests.builders import load_case

BORN = date(2025, 8, 10)
SOURCE_TAG = re.compile(r"\[(?:[A-Z]+(?: R?\d+[a-z]?)?|V R\d+[a-z]?)\]|\[[MSV]\]")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
# Medical words a parent should not have to look up (matched at a word's start, any case).
JARGON = ("calcinosis", "calcified", "calcification", "idiopathic", "iatrogenic", "dystrophic",
          "metastatic", "subepidermal", "extravasat", "nodule", "lesion", "papule", "benign",
          "erythema", "ulcer", "transepidermal", "spontaneous", "resolution", "resolve",
          "asymptomatic", "symptomatic", "excision", "excise", "curettage", "biopsy",
          "histolog", "dermoscop", "cutis", "hypercalc", "subcutaneous", "watchful", "prognosis",
          "aetiolog", "etiolog", "intravenous", "necros", "cellulitis", "abscess", "sequelae",
          "differential", "milia", "dermis", "analges", "oedema", "edema", "infusion",
          "cannula", "electrode", "regress", "persist", "neonat", "plantar", "malignan")
# Abbreviations, matched as whole words with their case.
ACRONYMS = ("MICC", "SCN", "EEG", "EMG", "ABR", "IV", "CKD", "PTH", "NICU")
MAX_WORDS_PER_SENTENCE = 25


def output(entity: str, management: str = "watchful_waiting",
           flags: tuple[str, ...] = ()) -> dict[str, Any]:
    """The part of an engine output the offer reads."""
    return {"leading_entity": {"code": entity}, "management": {"category": management},
            "red_flags": [{"action": action, "message": f"An {action} flag."}
                          for action in flags]}


def decided(kind: str, entity: str, management: str) -> SimpleNamespace:
    return SimpleNamespace(decision=kind, final_entity=entity, final_management=management)


def parent_text(sheet: dict[str, Any]) -> str:
    """Everything a parent reads except the one line naming the diagnosis for another doctor."""
    parts = [sheet["title"], sheet["intro"], sheet["next_visit"], *sheet["what"],
             *sheet["serious"], *sheet["expect"], *sheet["care"], *sheet["sooner"]]
    return " ".join(part for part in parts if part)


def sheets_for(entity: str) -> list[dict[str, Any]]:
    """The handout in each shape it takes: one lump or several, on the foot or the hand, with
    and without a known onset."""
    return [build_handout(entity, born=BORN, visit=date(2026, 8, 10), count=count, site=site,
                          onset=onset, next_visit=date(2026, 11, 2))
            for count, site, onset in ((1, "heel", date(2026, 7, 10)), (3, "hand", None))]


# --- Plain words ------------------------------------------------------------------------------

def test_every_benign_entity_of_the_brief_has_a_handout_and_it_exists_in_the_engine() -> None:
    expected = {"calcified_heel_stick_nodule", "calcium_extravasation_calcinosis",
                "milia_like_idiopathic_calcinosis_cutis", "subepidermal_calcified_nodule",
                "electrode_paste_calcinosis", "dystrophic_calcinosis_post_traumatic",
                "idiopathic_calcinosis_cutis"}
    assert set(HANDOUT_ENTITIES) == expected
    for code in HANDOUT_ENTITIES:
        assert ENTITIES[code].management == "watchful_waiting", code


@pytest.mark.parametrize("entity", HANDOUT_ENTITIES)
def test_the_handout_has_no_source_tags_codes_or_jargon(entity: str) -> None:
    for sheet in sheets_for(entity):
        text = parent_text(sheet)
        assert not SOURCE_TAG.search(text), SOURCE_TAG.search(text)
        assert "[" not in text and "]" not in text
        assert not SNAKE.findall(text)
        lowered = text.lower()
        found = [word for word in JARGON if re.search(rf"\b{word}", lowered)]
        found += [word for word in ACRONYMS if re.search(rf"\b{word}\b", text)]
        assert found == [], found


@pytest.mark.parametrize("entity", HANDOUT_ENTITIES)
def test_the_sentences_are_short(entity: str) -> None:
    for sheet in sheets_for(entity):
        parts = [sheet["intro"], *sheet["what"], *sheet["serious"], *sheet["expect"],
                 *sheet["care"], *sheet["sooner"]]
        for sentence in re.split(r"(?<=[.!?:;])\s+", " ".join(parts)):
            assert len(sentence.split()) <= MAX_WORDS_PER_SENTENCE, sentence


@pytest.mark.parametrize("entity", HANDOUT_ENTITIES)
def test_every_handout_answers_the_parents_questions(entity: str) -> None:
    sheet = sheets_for(entity)[0]
    assert sheet["what"] and sheet["expect"] and sheet["care"]
    serious = " ".join(sheet["serious"])
    assert "not cancer" in serious and "not an infection" in serious
    assert "Do not squeeze, pick or scratch it." in sheet["care"]
    emergency, sooner = " ".join(sheet["emergency"]), " ".join(sheet["sooner"])
    assert "redness spreads quickly" in emergency and "fever" in emergency
    for sign in ("pus", "bad smell", "sore", "grows fast"):
        assert sign in sooner, sign
    assert ("swelling gets bigger than it was at this visit" if TEXTS[entity].red_at_first
            else "warm or looks swollen") in sooner
    assert ("New lumps" in sooner) is not TEXTS[entity].new_lumps_expected
    assert "hurts" in sooner or "cries when it is touched" in sooner
    assert sheet["next_visit"] == "Monday 2 November 2026"


@pytest.mark.parametrize("entity", HANDOUT_ENTITIES)
def test_the_diagnosis_is_named_once_for_another_doctor_in_words(entity: str) -> None:
    sheet = sheets_for(entity)[0]
    assert sheet["medical_name"] == ENTITIES[entity].label.split(" (")[0]
    assert sheet["medical_name"].lower() not in parent_text(sheet).lower()
    assert not SNAKE.findall(sheet["medical_name"])


def test_a_lump_on_the_foot_gets_advice_on_shoes_and_limping_elsewhere_only_pain() -> None:
    foot, hand = sheets_for("subepidermal_calcified_nodule")
    assert handout.FOOT_CARE in foot["care"] and handout.FOOT_PAIN in foot["sooner"]
    assert handout.FOOT_CARE not in hand["care"] and handout.FOOT_PAIN not in hand["sooner"]
    assert handout.PAIN in hand["sooner"]


def test_several_lumps_are_said_once_at_the_start() -> None:
    one, several = sheets_for("calcified_heel_stick_nodule")
    assert one["intro"] == ""
    assert several["intro"].startswith("Your child has 3 of these lumps.")


def test_signs_of_high_calcium_are_not_listed_for_these_entities() -> None:
    # The knowledge base ties them to fat necrosis of the newborn only, which has no handout.
    for entity in HANDOUT_ENTITIES:
        text = parent_text(sheets_for(entity)[0]).lower()
        assert "vomit" not in text and "thirst" not in text


# --- This child's dates -----------------------------------------------------------------------

def test_heel_stick_window_is_counted_from_the_date_of_birth() -> None:
    dates = expected_dates("calcified_heel_stick_nodule", born=BORN, visit=date(2026, 8, 10),
                           onset=None)
    assert (dates["from"], dates["to"]) == (date(2027, 2, 10), date(2028, 2, 10))
    assert dates["sentence"] == ("It usually goes away on its own between February 2027 and "
                                 "February 2028 (when your child is 18 to 30 months old).")
    sheet = build_handout("calcified_heel_stick_nodule", born=BORN, visit=date(2026, 8, 10))
    assert dates["sentence"] in sheet["expect"]


def test_inside_the_window_only_its_end_is_given() -> None:
    dates = expected_dates("calcified_heel_stick_nodule", born=BORN, visit=date(2027, 5, 1),
                           onset=None)
    assert dates["sentence"] == ("It usually goes away on its own by February 2028 (by the "
                                 "time your child is 30 months old).")


def test_a_window_already_past_gives_no_dates() -> None:
    assert expected_dates("calcified_heel_stick_nodule", born=BORN, visit=date(2028, 3, 1),
                          onset=None) is None
    sheet = build_handout("calcified_heel_stick_nodule", born=BORN, visit=date(2028, 3, 1))
    assert sheet["expect"][-1] == NO_WINDOW


def test_extravasation_window_is_counted_from_when_the_lump_appeared() -> None:
    onset = date(2026, 7, 1)
    dates = expected_dates("calcium_extravasation_calcinosis", born=BORN,
                           visit=date(2026, 7, 10), onset=onset)
    # 0.7 months is 21 days: about 3 weeks.
    assert (dates["from"], dates["to"]) == (date(2026, 7, 22), date(2027, 1, 1))
    assert dates["sentence"] == ("It usually goes away on its own between July 2026 and "
                                 "January 2027 (3 weeks to 6 months after it first appeared).")
    later = expected_dates("calcium_extravasation_calcinosis", born=BORN,
                           visit=date(2026, 9, 1), onset=onset)
    assert later["sentence"] == ("It usually goes away on its own by January 2027 (3 weeks to "
                                 "6 months after it first appeared).")


def test_without_an_onset_the_extravasation_window_is_given_without_dates() -> None:
    sheet = build_handout("calcium_extravasation_calcinosis", born=BORN, visit=date(2026, 9, 1))
    assert sheet["dates"] is None
    assert sheet["expect"][-1] == ("It usually goes away on its own 3 weeks to 6 months after "
                                   "it first appeared.")


@pytest.mark.parametrize("entity", [e for e in HANDOUT_ENTITIES if ENTITIES[e].window is None])
def test_no_window_in_the_knowledge_base_means_no_promise(entity: str) -> None:
    sheet = build_handout(entity, born=BORN, visit=date(2026, 8, 10), onset=date(2026, 7, 1))
    assert sheet["dates"] is None
    assert sheet["expect"][-1] == (TEXTS[entity].how_long or NO_WINDOW)
    assert "We will check it at each visit." in sheet["expect"][-1]
    assert not re.search(r"\b20\d\d\b", " ".join(sheet["expect"]))


def test_the_onset_comes_from_the_age_noticed_else_from_how_long_it_has_been_there() -> None:
    visit = date(2026, 8, 10)
    assert onset_date(born=BORN, visit=visit, onset_age_months=11,
                      duration_weeks=4) == date(2026, 7, 10)
    assert onset_date(born=BORN, visit=visit, onset_age_months=None,
                      duration_weeks=3) == date(2026, 7, 20)
    assert onset_date(born=BORN, visit=visit, onset_age_months=None,
                      duration_weeks=None) is None


def test_the_next_visit_is_written_out_with_its_weekday() -> None:
    assert long_date(date(2027, 2, 16)) == "Tuesday 16 February 2027"
    sheet = build_handout("subepidermal_calcified_nodule", born=BORN, visit=date(2026, 8, 10))
    assert sheet["next_visit"] == ""


# --- Who is offered a handout ------------------------------------------------------------------

def test_a_benign_entity_with_watchful_waiting_is_offered() -> None:
    offer = handout_offered(output("calcified_heel_stick_nodule"), None)
    assert offer and offer.entity == "calcified_heel_stick_nodule" and offer.notice == ""


@pytest.mark.parametrize("management", ["urgent", "refer", "treat"])
def test_no_handout_unless_the_plan_is_watching_and_waiting(management: str) -> None:
    offer = handout_offered(output("calcified_heel_stick_nodule", management), None)
    assert not offer and offer.entity is None
    assert offer.urgent == (management == "urgent")
    if management == "urgent":
        assert "the clinical summary is the only printout" in offer.notice


def test_an_urgent_red_flag_refuses_it_whatever_the_management() -> None:
    offer = handout_offered(output("calcified_heel_stick_nodule", flags=("urgent",)), None)
    assert not offer and offer.urgent
    # A refer or review flag (e.g. "exclude cellulitis or abscess") holds the handout back
    # until the clinician records a decision; then it is offered (clinical review, R16/R17).
    held = handout_offered(output("calcified_heel_stick_nodule", flags=("refer", "review")),
                           None)
    assert not held and "red flag stands" in held.notice
    assert handout_offered(output("calcified_heel_stick_nodule", flags=("review",)),
                           decided("agree", "calcified_heel_stick_nodule", "watchful_waiting"))


def test_warning_signs_fit_the_childs_age_and_the_diagnosis() -> None:
    """Clinical review: fever under 3 months is an emergency; a baby cannot say it hurts;
    redness is expected early after extravasation; new lumps are part of MICC."""
    newborn = build_handout("calcium_extravasation_calcinosis", born=date(2026, 3, 1),
                            visit=date(2026, 3, 22), site="arm")
    assert handout.YOUNG_INFANT_FEVER in newborn["emergency"]
    assert handout.BABY_PAIN in newborn["sooner"]
    assert not any("turns red" in line for line in newborn["sooner"])
    assert handout.CHANGED_SINCE_VISIT in newborn["sooner"]
    assert any("dark or black" in line for line in newborn["emergency"])
    infant = build_handout("calcified_heel_stick_nodule", born=date(2025, 9, 15),
                           visit=date(2026, 5, 15), site="heel")
    assert handout.YOUNG_INFANT_FEVER not in infant["emergency"]
    assert handout.BABY_FOOT_PAIN in infant["sooner"]
    toddler = build_handout("calcified_heel_stick_nodule", born=BORN, visit=date(2027, 1, 5),
                            site="heel")
    assert handout.FOOT_PAIN in toddler["sooner"]
    micc = build_handout("milia_like_idiopathic_calcinosis_cutis", born=BORN,
                         visit=date(2027, 1, 5), site="hand")
    assert handout.NEW_LUMPS not in micc["sooner"]


def test_no_handout_for_a_diagnosis_without_one() -> None:
    offer = handout_offered(output("verruca_plantaris"), None)
    assert not offer and "no handout for this diagnosis" in offer.notice


def test_a_clinician_override_to_a_benign_entity_is_offered_with_that_entity() -> None:
    engine = output("metastatic_calcinosis_other", "refer", flags=("refer",))
    offer = handout_offered(engine, decided("override", "calcium_extravasation_calcinosis",
                                            "watchful_waiting"))
    assert offer and offer.entity == "calcium_extravasation_calcinosis"


def test_a_clinician_override_away_from_a_benign_entity_is_not_offered() -> None:
    engine = output("calcified_heel_stick_nodule")
    assert not handout_offered(engine, decided("override", "pilomatricoma", "refer"))
    assert not handout_offered(engine, decided("override", "verruca_plantaris",
                                               "watchful_waiting"))
    assert not handout_offered(engine, decided("override", "calcified_heel_stick_nodule",
                                               "treat"))


def test_an_override_never_lifts_an_urgent_engine_result() -> None:
    engine = output("metastatic_calcinosis_renal_failure", "urgent", flags=("urgent",))
    offer = handout_offered(engine, decided("override", "calcium_extravasation_calcinosis",
                                            "watchful_waiting"))
    assert not offer and offer.urgent
    # Nor can a clinician's urgent management be printed over a benign engine result.
    assert not handout_offered(output("calcified_heel_stick_nodule"),
                               decided("override", "calcified_heel_stick_nodule", "urgent"))


def test_agreeing_keeps_the_engines_entity() -> None:
    offer = handout_offered(output("subepidermal_calcified_nodule"),
                            decided("agree", "subepidermal_calcified_nodule", "watchful_waiting"))
    assert offer.entity == "subepidermal_calcified_nodule"


def test_an_atypical_resolved_or_superseded_assessment_is_not_offered() -> None:
    engine = output("calcified_heel_stick_nodule")
    assert not handout_offered(engine, None, atypical_course=True)
    assert not handout_offered(engine, None, resolved=True)
    assert not handout_offered(engine, None, superseded=True)
    # An atypical course the clinician has reviewed and overridden to a benign reading is.
    assert handout_offered(engine, decided("override", "subepidermal_calcified_nodule",
                                           "watchful_waiting"), atypical_course=True)


@pytest.mark.parametrize(("case", "entity"), [
    ("seed_case_a_pearl_like_heel_nodule.json", "subepidermal_calcified_nodule"),
    ("seed_case_b_extravasation_renal_failure.json", None),
    ("seed_case_c_heel_stick_nodules.json", "calcified_heel_stick_nodule"),
])
def test_the_seed_cases(case: str, entity: str | None) -> None:
    offer = handout_offered(assess(load_case(case)["input"]), None)
    assert offer.entity == entity
    assert bool(offer) == (entity is not None)
