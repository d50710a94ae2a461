"""The rule table compiled to straight-line code (engine/rulecode.py) does what the rule loop
does: rule by rule, pass by pass, and when a rule's source cannot be copied."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assessment.engine import core, rulecode
from assessment.engine import rules as rules_module
from assessment.engine.facts import Facts
from assessment.engine.samples import random_inputs
from assessment.engine.validation import validate

EARLY = [core.COMPILED[rule.id] for rule in (*rules_module.EVIDENCE_RULES,
                                             *core.EARLY_FLAG_RULES)]


def _state(facts: Facts) -> core.State:
    return core.State(facts=facts, scores={})


def _snapshot(state: core.State) -> dict[str, Any]:
    """Everything a pass writes, in order."""
    return {
        "fired": list(state.fired),
        "scores": [(code, s.score, s.supporting, s.against, s.qualified, s.specific_points)
                   for code, s in state.scores.items()],
        "flags": state.flags, "workup": state.workup, "options": state.options,
        "shared": (state.shared_for, state.shared_against), "cited": state.cited,
    }


@pytest.fixture(scope="module")
def presentations() -> list[Any]:
    return [validate(data) for data in random_inputs(2500, seed=77)]


def test_the_rule_table_compiles_and_copies_nearly_every_condition() -> None:
    assert core.RUN_EARLY is not None and core.RUN_LATE is not None
    called = core.RUN_EARLY.source.count("_f_when_") + core.RUN_LATE.source.count("_f_when_")
    # Only conditions of several statements (infection, severe low calcium, neoplasm) are
    # called rather than copied; a drop here means the copying stopped recognising a shape.
    assert called <= 2 * 5, core.RUN_EARLY.source
    # Lab flags are read off Facts.lab_flags, not asked of Facts.lab_is one call at a time.
    assert "_f.lab_is(" not in core.RUN_EARLY.source
    assert core.RUN_EARLY.source.count("_f_lab_flags.get(") >= 20
    # The lesion's and the imaging's fields are read once each, at the top, into locals.
    reads = [line.strip() for line in core.RUN_EARLY.source.splitlines()
             if "_f_lesion." in line or "_f_imaging." in line]
    assert reads and all(line.split(" = ")[0] == line.split(" = ")[1].replace(".", "_")
                         for line in reads), reads


def test_both_passes_write_exactly_what_the_rule_loop_writes(presentations: list[Any]) -> None:
    for findings in presentations:
        looped, compiled = Facts(findings), Facts(findings)
        a, b = _state(looped), _state(compiled)
        core._run(a, core.GATE_INDEX[looped.site].candidates(looped))
        core.RUN_EARLY(b, compiled)
        assert _snapshot(a) == _snapshot(b)
        # The late pass reads the leader: try it with each entity that scored.
        for leader in [None, *a.scores]:
            looped.leader = compiled.leader = leader
            late_a, late_b = _state(looped), _state(compiled)
            core._run(late_a, core.LATE_FLAG_RULES)
            core.RUN_LATE(late_b, compiled)
            assert _snapshot(late_a) == _snapshot(late_b)


def test_each_rule_fires_compiled_exactly_when_its_condition_holds(
        presentations: list[Any]) -> None:
    facts = [Facts(findings) for findings in presentations[:600]]
    for index, rule in enumerate(EARLY):
        run = rulecode.compile_pass([rule], rules_module, rules_module.SITE_BOUND, core._apply,
                                    f"one_rule_{index}")
        assert run is not None
        bound = rules_module.SITE_BOUND.get(rule.id)
        for f in facts:
            state = _state(f)
            run(state, f)
            expected = bool(rule.when(f)) and (bound is None or f.site in bound)
            assert bool(state.fired) == expected, (rule.id, f.findings)
            if expected:
                text = rule.static if rule.static is not None else rule.text(f)
                assert state.fired == [{"id": rule.id, "text": text, "source": rule.source}]


def test_the_engine_gives_the_same_answers_without_the_compiled_passes(
        presentations: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    sample = presentations[:400]
    compiled = [core.assess_findings(findings) for findings in sample]
    monkeypatch.setattr(core, "RUN_EARLY", None)
    monkeypatch.setattr(core, "RUN_LATE", None)
    assert [core.assess_findings(findings) for findings in sample] == compiled


def test_the_cython_form_of_a_pass_types_the_facts_and_names_every_global() -> None:
    text = rulecode.cython_source(core.RUN_EARLY.source)
    assert "def run_early_rules(state, Facts _f):" in text
    assert "from assessment.engine.facts cimport Facts" in text
    declared = {line.split(" = ")[0] for line in text.splitlines() if line.endswith(" = None")}
    # The rules' helpers and the engine's own names; not the function's locals or builtins.
    assert {"_f_apply", "_f_rule_0", "words", "sentence_start"} <= declared
    assert not declared & {"_f", "_f_text", "_f_site", "state", "any", "len"}
    # Below the declarations, the code is the generated pass, but for core._apply called as
    # the C function core.pxd declares.
    assert "from assessment.engine.core cimport _apply as _f_apply_c" in text
    body = core.RUN_EARLY.source.split("\n", 1)[1]
    assert text.endswith(body.replace("_f_apply(", "_f_apply_c("))


def test_no_readable_source_means_no_compiled_pass() -> None:
    module = types.ModuleType("rules_without_source")
    assert rulecode.compile_pass(EARLY, module, {}, core._apply, "nothing") is None


RULES_SOURCE = '''
from assessment.engine.rules import Rule

PREFIX_NAME = 1
LIMIT = 3


def _closure_over(value):
    return lambda f: f.age > value


def _closure_over_list(values):
    return lambda f: f.age > values[0]


def _two_statements(f):
    age = f.age
    return age > 12


def _one_expression(f):
    """A docstring, then one return."""
    return f.yes("fever")


RULES = (
    Rule("T-INLINE", "[M]", lambda f: f.yes("fever") and f.has("pain"), "Inline.",
         scores=(("osteomyelitis", 2),)),
    Rule("T-CLOSURE-LITERAL", "[M]", _closure_over(6), "Closure over a number.",
         scores=(("osteomyelitis", 1),)),
    Rule("T-CLOSURE-OBJECT", "[M]", _closure_over_list([6]), lambda f: f"Age {f.age:g}.",
         scores=(("osteomyelitis", -1),)),
    Rule("T-STATEMENTS", "[M]", _two_statements, "Two statements."),
    Rule("T-ONE-EXPRESSION", "[M]", _one_expression, "One expression."),
    Rule("T-OUR-NAME", "[M]", lambda f: f.age > 1 and bool([_f_x for _f_x in (1,)]), "Ours."),
    Rule("T-REBOUND", "[M]", lambda f: any(f > 1 for f in (f.age,)), "Rebound."),
)
'''


@pytest.fixture
def synthetic_rules(tmp_path: Path) -> Iterator[types.ModuleType]:
    path = tmp_path / "synthetic_rules.py"
    path.write_text(textwrap.dedent(RULES_SOURCE), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("synthetic_rules", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["synthetic_rules"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["synthetic_rules"]


def test_only_safe_shapes_are_copied_and_the_rest_are_called(
        synthetic_rules: types.ModuleType, presentations: list[Any]) -> None:
    compiled = [core.Compiled(rule) for rule in synthetic_rules.RULES]
    run = rulecode.compile_pass(compiled, synthetic_rules, {}, core._apply, "synthetic")
    assert run is not None
    blocks = dict(zip([c.id for c in compiled], run.source.split("    # ")[1:], strict=True))
    assert "_f_h['fever'] is True and 'pain' in _f_features" in blocks["T-INLINE"]
    assert "_f_age > 6" in blocks["T-CLOSURE-LITERAL"]  # the closure's value, written in
    assert "_f_h['fever'] is True" in blocks["T-ONE-EXPRESSION"]
    assert "_f_text = (f'Age {_f_age:g}.')" in blocks["T-CLOSURE-OBJECT"]
    for called in ("T-CLOSURE-OBJECT", "T-STATEMENTS", "T-OUR-NAME", "T-REBOUND"):
        assert "_f_when_" in blocks[called], called
    for findings in presentations[:300]:
        looped, generated = _state(Facts(findings)), _state(Facts(findings))
        core._run(looped, compiled)
        run(generated, generated.facts)
        assert _snapshot(looped) == _snapshot(generated)
