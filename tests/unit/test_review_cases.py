"""The specialist-reviewed presentations give what a paediatric dermatologist expects.

Each case in tests/data/review_cases was written blind to the engine's rules, reviewed on the
engine's answers, and kept with its expected answer (docs/CLINICAL_REVIEW.md).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from assessment.engine import assess
from assessment.engine.contract import output_problems
from tests.builders import review_cases

CASES = review_cases()
SPECIALTY_WORDS = {
    "nephrology": "nephrology", "endocrinology": "endocrinology", "rheumatology": "rheumatology",
    "surgery": "surgery", "dermatology": "dermatology", "orthopaedics": "orthopaedic",
}


@pytest.fixture(params=CASES, ids=[name for name, _ in CASES], scope="module")
def case(request: pytest.FixtureRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    _, data = request.param
    return data["expected"], assess(data["input"])


def test_at_least_thirty_cases_cover_every_entity() -> None:
    from assessment.engine.knowledge import ENTITIES

    assert len(CASES) >= 30
    answers = {code for _, data in CASES for code in data["expected"]["leading_entity_any_of"]}
    assert set(ENTITIES) <= answers


def test_contract(case: tuple[dict, dict]) -> None:
    assert output_problems(case[1]) == []


def test_leading_entity(case: tuple[dict, dict]) -> None:
    expected, out = case
    assert out["leading_entity"]["code"] in expected["leading_entity_any_of"]


def test_calcinosis_level(case: tuple[dict, dict]) -> None:
    expected, out = case
    assert out["calcinosis"] in expected["calcinosis"]


def test_management(case: tuple[dict, dict]) -> None:
    expected, out = case
    assert out["management"]["category"] in expected["management_any_of"]


def test_urgent_flag(case: tuple[dict, dict]) -> None:
    expected, out = case
    urgent = any(flag["action"] == "urgent" for flag in out["red_flags"])
    assert urgent is expected["urgent_flag_expected"]


def test_differential(case: tuple[dict, dict]) -> None:
    expected, out = case
    codes = [d["code"] for d in out["differential"]]
    assert set(expected.get("differential_must_include", [])) <= set(codes)
    assert not set(codes[:3]) & set(expected.get("top3_must_not_include", []))


def test_workup(case: tuple[dict, dict]) -> None:
    expected, out = case
    asked = {w["code"] for w in out["workup"]}
    assert not asked & set(expected.get("workup_must_not_include", []))


def test_words(case: tuple[dict, dict]) -> None:
    expected, out = case
    text = json.dumps(out, ensure_ascii=False).lower()
    for phrase in expected.get("text_must_not_contain", []):
        assert phrase.lower() not in text, phrase


def test_referral_specialty(case: tuple[dict, dict]) -> None:
    expected, out = case
    wanted = expected.get("referral_specialty")
    if not wanted or out["management"]["category"] not in ("refer", "urgent"):
        return
    named = " ".join(out["management"].get("refer_to", []) + out["management"]["options"])
    assert SPECIALTY_WORDS[wanted] in named.lower()
