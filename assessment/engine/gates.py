"""Rule gates: skip a rule without calling its condition when a fact it needs is absent.

Most rule conditions open with one plain fact, ``lambda f: f.yes("fever") and ...`` or
``lambda f: f.lab_is("crp", "high")``: when that first fact is false the whole condition is
false, whatever follows. Reading the first fact off the condition's bytecode gives the rule a
*gate*; the engine builds the set of gates that are open for one presentation (history answered
yes, analytes measured, features present, a few derived facts) once, and calls a rule's
condition only when its gate is open. The answer cannot change: a gate is only ever the
condition's own first conjunct, and a condition whose shape is not recognised gets no gate and is
always called. ``tests/unit/test_gates.py`` checks both on thousands of presentations.

Only the shapes below are recognised, on CPython's bytecode (3.11); on another interpreter the
patterns may not match, and then every rule is simply evaluated as before.
"""

from __future__ import annotations

import dis
from collections.abc import Callable
from typing import Any

# ("yes", history key) | ("lab", analyte) | ("has", feature) | ("attr", name) | ("site", site)
# | ("field", "lesion.color"): a recorded (not None) lesion or imaging field
Gate = tuple[str, str]

# Calls whose first argument names what must be present for them to be true.
_METHOD_GATES = {"yes": "yes", "has": "has", "lab_is": "lab", "measured": "lab"}
# Derived facts cheap to read once per presentation (plain attributes or cached properties).
GATE_ATTRIBUTES = frozenset({
    "on_heel", "on_foot", "head_neck", "whiteish", "hard", "multiple", "painful", "ulcerated",
    "calcium_clinical", "papular", "wart_signs", "inflammation", "ischaemic_signs",
    "renal_impairment", "mineral_abnormal", "metastatic_evidence", "calcium_shown",
    "systemic_clues", "caxp_high", "caxp_above_target", "vitamin_d_toxic", "no_cause",
})
# After the first conjunct: the condition returns it when it is false (checked: the jump lands
# on the return). "A and B or C" jumps elsewhere and gets no gate.
_AND_OR_END = {"JUMP_IF_FALSE_OR_POP", "RETURN_VALUE"}
_NOISE = {"RESUME", "CACHE", "PRECALL", "NOP", "PUSH_NULL", "KW_NAMES"}


def gate_of(when: Callable[..., Any]) -> Gate | None:
    """The first conjunct of ``when`` as a gate, or None when its shape is not recognised."""
    try:
        instructions = list(dis.get_instructions(when))
    except TypeError:
        return None
    returns = {i.offset for i in instructions if i.opname == "RETURN_VALUE"}
    ops = [i for i in instructions if i.opname not in _NOISE
           and (i.opname != "JUMP_IF_FALSE_OR_POP" or i.argval in returns)]
    # A jump that does not land on the return leaves a gap in ``ops`` that no pattern matches.
    code = getattr(when, "__code__", None)
    if code is None or code.co_argcount != 1 or not ops:
        return None
    arg = code.co_varnames[0]
    # bool(f.x) and ...: as f.x
    if (len(ops) > 4 and ops[0].opname == "LOAD_GLOBAL" and ops[0].argval == "bool"
            and ops[1].opname == "LOAD_FAST" and ops[1].argval == arg
            and ops[2].opname == "LOAD_ATTR" and ops[3].opname == "CALL"
            and ops[4].opname in _AND_OR_END):
        return _attr(ops[2].argval)
    if len(ops) < 3 or ops[0].opname != "LOAD_FAST" or ops[0].argval != arg:
        return None
    # f.x and ...
    if ops[1].opname == "LOAD_ATTR" and ops[2].opname in _AND_OR_END:
        return _attr(ops[1].argval)
    # f.site == "scrotum" and ... / f.lesion.color in ("white", ...) and ...
    compared = _compared(ops)
    if compared is not None:
        return compared
    # f.yes("key") and ... / f.lab_is("analyte", ...) and ... / f.has("feature") and ...
    if ops[1].opname in ("LOAD_METHOD", "LOAD_ATTR") and ops[1].argval in _METHOD_GATES:
        args = []
        index = 2
        while index < len(ops) and ops[index].opname == "LOAD_CONST":
            args.append(ops[index].argval)
            index += 1
        if (index + 1 < len(ops) and ops[index].opname == "CALL" and args
                and isinstance(args[0], str) and ops[index + 1].opname in _AND_OR_END):
            kind = _METHOD_GATES[ops[1].argval]
            if kind == "has" and len(args) != 1:
                return None  # any of several features: not one gate
            return (kind, args[0])
    return None


# Optional fields whose recorded value a comparison needs (None never equals a code).
LESION_FIELDS = ("heel_subsite", "laterality", "distribution", "color", "morphology", "surface",
                 "consistency", "trend")
IMAGING_FIELDS = ("xray", "ultrasound", "histology")


def _compared(ops: list[dis.Instruction]) -> Gate | None:
    """``f.site == c`` or ``f.lesion.x == c`` / ``in (c, ...)`` as the first conjunct."""
    index = 1
    names = []
    while index < len(ops) and ops[index].opname == "LOAD_ATTR":
        names.append(ops[index].argval)
        index += 1
    if index + 2 >= len(ops) or ops[index].opname != "LOAD_CONST":
        return None
    constant, op = ops[index].argval, ops[index + 1]
    if ops[index + 2].opname not in _AND_OR_END:
        return None
    equal = op.opname == "COMPARE_OP" and op.argval == "=="
    member = (op.opname == "CONTAINS_OP" and op.argval == 0 and isinstance(constant, tuple)
              and None not in constant)
    if names == ["site"] and equal and isinstance(constant, str):
        return ("site", constant)
    if len(names) == 2 and ((equal and constant is not None) or member):
        owner, name = names
        if (owner == "lesion" and name in LESION_FIELDS) or (owner == "imaging"
                                                               and name in IMAGING_FIELDS):
            return ("field", f"{owner}.{name}")
    return None


def _attr(name: str) -> Gate | None:
    return ("attr", name) if name in GATE_ATTRIBUTES else None


class GateIndex:
    """One site's rules, indexed by gate: the candidates for a presentation are the ungated
    rules plus the rules behind each open gate, walked in table order."""

    __slots__ = ("by_attr", "by_field", "by_kind", "rules", "ungated")

    def __init__(self, rules: tuple[Any, ...], site: str) -> None:
        self.rules = rules
        self.ungated: list[int] = []
        self.by_kind: dict[str, dict[str, list[int]]] = {"yes": {}, "lab": {}, "has": {}}
        self.by_attr: dict[str, list[int]] = {}
        self.by_field: dict[tuple[str, str], list[int]] = {}
        for index, rule in enumerate(rules):
            gate = rule.gate
            if gate is None or (gate[0] == "site" and gate[1] == site):
                self.ungated.append(index)
            elif gate[0] == "site":
                continue  # bound to another site: never true here
            elif gate[0] == "attr":
                self.by_attr.setdefault(gate[1], []).append(index)
            elif gate[0] == "field":
                owner, name = gate[1].split(".")
                self.by_field.setdefault((owner, name), []).append(index)
            else:
                self.by_kind[gate[0]].setdefault(gate[1], []).append(index)

    def candidates(self, f: Any) -> list[Any]:
        """The rules whose gate is open for these facts, in table order."""
        chosen = list(self.ungated)
        by_yes, by_lab, by_has = self.by_kind["yes"], self.by_kind["lab"], self.by_kind["has"]
        for key, value in f.h.items():
            if value is True and key in by_yes:
                chosen += by_yes[key]
        for analyte in f.labs:
            if analyte in by_lab:
                chosen += by_lab[analyte]
        for feature in f.features:
            if feature in by_has:
                chosen += by_has[feature]
        for name, indices in self.by_attr.items():
            if getattr(f, name):
                chosen += indices
        lesion, imaging = f.lesion, f.imaging
        for (owner, name), indices in self.by_field.items():
            if getattr(lesion if owner == "lesion" else imaging, name) is not None:
                chosen += indices
        chosen.sort()
        rules = self.rules
        return [rules[index] for index in chosen]
