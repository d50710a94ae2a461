"""The prose linter over every seed and reviewed case and a few thousand generated inputs."""

from __future__ import annotations

from typing import Any

import pytest

from assessment.engine import assess
from assessment.engine.prose import prose_problems
from assessment.engine.samples import random_inputs
from tests.builders import all_cases, make, review_cases

CASES = all_cases() + review_cases()
GENERATED = 3000


def _problems(data: dict[str, Any]) -> list[str]:
    return prose_problems(assess(data), age_months=data["patient"]["age_months"],
                          site=data["lesion"]["site"])


@pytest.mark.parametrize("name", [name for name, _ in CASES])
def test_cases_read_well(name: str) -> None:
    data = dict(CASES)[name]["input"]
    assert _problems(data) == []


def test_generated_inputs_read_well() -> None:
    found: dict[str, str] = {}
    for data in random_inputs(GENERATED, seed=11):
        for problem in _problems(data):
            found.setdefault(problem.split(":", 1)[0] + problem[-60:], problem)
    assert list(found.values())[:20] == []


@pytest.mark.parametrize(("output_part", "expected"), [
    ({"management": {"options": ["Classic presentation of subepidermal calcified nodule (scn; "
                                 "solitary idiopathic calcinosis) [M]."]}}, "lower-cased label"),
    ({"management": {"options": ["Lesion on the foot_dorsum [M]."]}}, "code"),
    ({"management": {"options": ["Curettage [V R5][S][M]. [V R5][M]."]}}, "twice"),
    ({"management": {"options": ["First noticed at about 93.7 months [M]."]}}, "decimal"),
    ({"management": {"options": ["Swelling, fluctuance with fluctuance [M]."]}}, "repeated"),
    ({"management": {"options": ["Serum calcium and phosphate are within the intervals for "
                                 "age [M]."]}}, "normal beside"),
])
def test_the_linter_catches_what_the_specialist_found(output_part: dict[str, Any],
                                                      expected: str) -> None:
    out = assess(make(labs=[{"analyte": "calcium_total", "value": 7.5, "unit": "mg/dL"}]))
    out["management"]["options"] = output_part["management"]["options"]
    assert any(expected in problem for problem in prose_problems(out))


def test_the_linter_catches_a_generic_sentence_shared_by_many_entries() -> None:
    out = assess(make(color="white", consistency="hard"))
    for item in out["differential"]:
        item["for"] = ["A white-yellow papule on the foot [V R3]."]
    assert any("one 'for' sentence" in p for p in prose_problems(out))
