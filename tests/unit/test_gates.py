"""Rule gates skip a rule only when its condition is false (assessment/engine/gates.py).

A gate is read off the condition's own first conjunct, so skipping on a closed gate can never
change an answer; these tests check that on every stored case and a few thousand generated
presentations, and pin the shapes that get a gate and those that must not.
"""

from __future__ import annotations

import sys

import pytest

from assessment.engine.core import COMPILED, GATE_INDEX, RULES_BY_SITE
from assessment.engine.facts import Facts
from assessment.engine.gates import gate_of
from assessment.engine.samples import random_inputs
from assessment.engine.validation import validate
from tests.builders import all_cases, review_cases


def _presentations() -> list[dict]:
    return ([data["input"] for _, data in review_cases()]
            + [data["input"] for _, data in all_cases()]
            + random_inputs(2000, seed=7))


def test_every_rule_whose_condition_holds_is_a_candidate() -> None:
    for data in _presentations():
        facts = Facts(validate(data))
        candidates = {rule.id for rule in GATE_INDEX[facts.site].candidates(facts)}
        holding = {rule.id for rule in RULES_BY_SITE[facts.site] if rule.when(facts)}
        assert holding <= candidates, holding - candidates


def test_candidates_keep_table_order() -> None:
    for data in random_inputs(200, seed=8):
        facts = Facts(validate(data))
        order = [rule.id for rule in RULES_BY_SITE[facts.site]]
        chosen = [rule.id for rule in GATE_INDEX[facts.site].candidates(facts)]
        assert chosen == sorted(chosen, key=order.index)


@pytest.mark.parametrize(("condition", "gate"), [
    (lambda f: f.yes("fever") and f.age < 3, ("yes", "fever")),
    (lambda f: f.yes("fever"), ("yes", "fever")),
    (lambda f: f.lab_is("crp", "high"), ("lab", "crp")),
    (lambda f: f.measured("pth") and f.age > 2, ("lab", "pth")),
    (lambda f: f.has("tent_sign") and f.age > 2, ("has", "tent_sign")),
    (lambda f: f.on_heel and f.age > 36, ("attr", "on_heel")),
    (lambda f: bool(f.inflammation) and f.age > 1, ("attr", "inflammation")),
    (lambda f: f.site == "scrotum", ("site", "scrotum")),
    (lambda f: f.lesion.color == "white" and f.age > 1, ("field", "lesion.color")),
    (lambda f: f.lesion.color in ("white", "yellow"), ("field", "lesion.color")),
    (lambda f: f.imaging.xray == "radiopaque", ("field", "imaging.xray")),
])
def test_first_conjunct_becomes_the_gate(condition, gate) -> None:
    if sys.version_info[:2] != (3, 11):
        assert gate_of(condition) in (None, gate)  # other bytecode: no gate, never a wrong one
    else:
        assert gate_of(condition) == gate


@pytest.mark.parametrize("condition", [
    lambda f: f.yes("fever") or f.age < 3,  # either suffices
    lambda f: (f.yes("fever") and f.age < 3) or f.on_heel,  # "A and B or C"
    lambda f: not f.on_heel,
    lambda f: f.on_heel if f.age < 3 else f.on_foot,
    lambda f: f.lesion.color in (None, "white"),  # an unrecorded colour passes
    lambda f: f.lesion.color != "white",
    lambda f: f.has("tent_sign", "pain"),  # any of several features
    lambda f: f.no("fever"),
    lambda f: f.age < 3 and f.yes("fever"),  # first conjunct is not a presence test
])
def test_shapes_that_must_not_get_a_gate(condition) -> None:
    assert gate_of(condition) is None


def test_most_rules_are_gated_on_this_interpreter() -> None:
    gated = sum(1 for rule in COMPILED.values() if rule.gate is not None)
    if sys.version_info[:2] == (3, 11):
        assert gated >= 100, gated  # the speed-up is real, not silently lost
    else:
        assert gated >= 0
