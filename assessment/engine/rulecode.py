"""The rule table compiled to straight-line Python, once per process.

The interpreted loop (``core._run``) pays, for each of some seventy candidate rules per
assessment, a call to the rule's condition, the condition's own method calls (``f.yes("x")``,
``f.has("x")``) and attribute reads off the compiled rule; the gate index that picks the
candidates costs as much again. Here each rule becomes an ``if`` block in one generated
function, in table order:

- the condition's expression is copied from the rule table's source (``rules.py``, read with
  ``ast``), with the simple fact reads written out: ``f.yes("k")`` as ``h["k"] is True``,
  ``f.has("x")`` as ``"x" in features``, ``f.measured("a")`` as ``"a" in labs``,
  ``f.lab_is("a", "high")`` as a test on ``f.lab_flags``, and the plain attributes
  ``Facts.__init__`` sets, and the lesion's and imaging's fields the rules use, read once into
  locals. The first conjunct is then as cheap as the gate index's test, so no gate index is
  needed;
- a static sentence is a constant in the code; the text of a rule whose sentence quotes the
  findings is its own expression, copied the same way;
- a rule bound to some sites (``rules.SITE_BOUND``) is tested for the site first;
- what a fired rule writes (its line in ``rules_fired``, points, flags, workup) is
  ``core._apply``, the function the loop calls too: in the Cython build it runs as C.

The meaning cannot change: each block does what ``core._run`` does for that rule, in the same
order, and a condition or text whose source cannot be copied safely (a closure, a named function,
a name that would clash) is called as before. ``tests/unit/test_rulecode.py`` compares the two
paths rule by rule and on thousands of generated inputs, and the stored digests
(``test_engine_identical.py``) hold the output byte for byte. When the rule table's source is not
readable (no ``.py`` file), ``compile_pass`` returns None and the engine keeps the interpreted
loop.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .. import engine_loader

# Facts attributes set once in Facts.__init__ and never reassigned: read into locals. (Not
# ``leader``: the engine sets it between the two passes.)
PLAIN_FACTS = ("age", "sex", "h", "gestation", "lesion", "site", "features", "imaging",
               "on_heel", "on_foot", "head_neck", "whiteish", "hard", "size", "multiple",
               "painful", "ulcerated", "calcium_clinical", "papular", "wart_signs", "labs",
               "lab_flags")
# Facts attributes whose own fields the rules read (``f.lesion.surface``): frozen dataclasses,
# so each field read is hoisted to a local once per pass (``_f_lesion_surface``).
HOISTED_OWNERS = ("lesion", "imaging")
PREFIX = "_f_"  # the generated code's own names; a rule that uses one is not inlined
FACTS = "_f"
HISTORY_TESTS = {"yes": True, "no": False, "unknown": None}


def _local(name: str) -> str:
    return f"{PREFIX}{name}"


_HOISTED_LOCALS = tuple(_local(owner) for owner in HOISTED_OWNERS)


class _Inline(ast.NodeTransformer):
    """A lambda's body rewritten to read the generated function's locals."""

    def __init__(self, param: str, constants: dict[str, Any]) -> None:
        self.param = param
        self.constants = constants

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id == self.param:
            return ast.copy_location(ast.Name(FACTS, ast.Load()), node)
        if node.id in self.constants:
            return ast.copy_location(ast.Constant(self.constants[node.id]), node)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if (isinstance(node.value, ast.Name) and node.value.id == FACTS
                and isinstance(node.ctx, ast.Load) and node.attr in PLAIN_FACTS):
            return ast.copy_location(ast.Name(_local(node.attr), ast.Load()), node)
        if (isinstance(node.value, ast.Name) and isinstance(node.ctx, ast.Load)
                and node.value.id in _HOISTED_LOCALS):
            return ast.copy_location(ast.Name(f"{node.value.id}_{node.attr}", ast.Load()), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        lab_is = self._lab_is(node)
        if lab_is is not None:
            return lab_is
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and func.value.id == FACTS and not node.keywords and len(node.args) == 1
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            return node
        key = node.args[0]
        # The same tests as Facts.yes/no/unknown, Facts.has and Facts.measured with one argument.
        if func.attr in HISTORY_TESTS:
            subscript = ast.Subscript(ast.Name(_local("h"), ast.Load()), key, ast.Load())
            return ast.copy_location(
                ast.Compare(subscript, [ast.Is()], [ast.Constant(HISTORY_TESTS[func.attr])]),
                node)
        if func.attr == "has":
            return ast.copy_location(
                ast.Compare(key, [ast.In()], [ast.Name(_local("features"), ast.Load())]), node)
        if func.attr == "measured":
            return ast.copy_location(
                ast.Compare(key, [ast.In()], [ast.Name(_local("labs"), ast.Load())]), node)
        return node

    def _lab_is(self, node: ast.Call) -> ast.AST | None:
        """``f.lab_is("a", "high", ...)`` as Facts.lab_is tests it, on the flags of
        ``f.lab_flags``: ``("high" in _f_lab_flags.get("a", ()) or ...)``. The analyte may be
        any expression when one flag is asked for (it is still evaluated once)."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "lab_is"
                and isinstance(func.value, ast.Name) and func.value.id == FACTS
                and not node.keywords and len(node.args) >= 2
                and not any(isinstance(arg, ast.Starred) for arg in node.args)
                and all(isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                        for arg in node.args[1:])):
            return None
        analyte, *flags = node.args
        if len(flags) > 1 and not isinstance(analyte, ast.Constant):
            return None
        both = ast.Call(ast.Attribute(ast.Name(_local("lab_flags"), ast.Load()), "get",
                                      ast.Load()),
                        [analyte, ast.Tuple([], ast.Load())], [])
        tests: list[ast.expr] = [ast.Compare(flag, [ast.In()], [both]) for flag in flags]
        test = tests[0] if len(tests) == 1 else ast.BoolOp(ast.Or(), tests)
        return ast.copy_location(test, node)


@dataclass(frozen=True)
class _Body:
    """A one-expression function in the rule table's source: a lambda, or a ``def`` whose body
    is one ``return`` (after its docstring)."""

    node: ast.expr
    param: str
    # Where its bytecode comes from, (line, column, end line, end column): the lambda's
    # expression, or the ``return`` statement.
    span: tuple[int, int, int, int]


_PARSED: dict[str, dict[int, list[_Body]]] = {}
_LITERALS = (str, int, float, bool, type(None))


def _bodies(module: ModuleType) -> dict[int, list[_Body]]:
    """The module's one-expression functions by the line their code starts on (``{}`` when the
    source is not readable)."""
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py") or not Path(path).is_file():
        return {}
    if path not in _PARSED:
        _PARSED[path] = _parse(Path(path).read_text(encoding="utf-8"))
    return _PARSED[path]


def _parse(text: str) -> dict[int, list[_Body]]:
    found: dict[int, list[_Body]] = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Lambda):
            body = outer = node.body
        elif isinstance(node, ast.FunctionDef) and not node.decorator_list:
            statements = node.body
            if (statements and isinstance(statements[0], ast.Expr)
                    and isinstance(statements[0].value, ast.Constant)):
                statements = statements[1:]  # the docstring
            if len(statements) != 1 or not isinstance(statements[0], ast.Return):
                continue
            outer = statements[0]  # its bytecode's positions include the ``return``
            body = statements[0].value  # type: ignore[assignment]
            if body is None:
                continue
        else:
            continue
        args = node.args
        if (len(args.args) != 1 or args.posonlyargs or args.kwonlyargs or args.vararg
                or args.kwarg or args.defaults):
            continue
        span = (outer.lineno, outer.col_offset, outer.end_lineno or outer.lineno,
                outer.end_col_offset or 0)
        found.setdefault(node.lineno, []).append(_Body(body, args.args[0].arg, span))
    return found


def _find(fn: Any, module: ModuleType) -> _Body | None:
    """The source of ``fn``: among the one-expression functions on its first line, the
    narrowest whose expression holds every position its bytecode was compiled from."""
    code = fn.__code__
    candidates = _bodies(module).get(code.co_firstlineno, [])
    positions = [(line, column) for line, _, column, end in code.co_positions()
                 if line is not None and column is not None and end != column]
    if not positions:
        return None
    inside = [body for body in candidates
              if all((body.span[0], body.span[1]) <= position <= (body.span[2], body.span[3])
                     for position in positions)]
    if not inside:
        return None
    return min(inside, key=lambda body: (body.span[2] - body.span[0], body.span[3]
                                         - body.span[1] if body.span[2] == body.span[0]
                                         else 0))


def _expression(fn: Any, module: ModuleType) -> str | None:
    """``fn``'s expression over the generated locals, or None when it cannot stand in for the
    call safely: not a plain function of this module, an unknown shape, a closure over
    something that is not a literal, or a name that would clash."""
    code = getattr(fn, "__code__", None)
    if (code is None or fn.__defaults__ or fn.__kwdefaults__
            or getattr(fn, "__globals__", None) is not module.__dict__ or code.co_argcount != 1):
        return None
    body = _find(fn, module)
    if body is None:
        return None
    # A closure over literals (a rule made in a loop, for one analyte): the values are written in.
    constants: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=True):
        value = cell.cell_contents
        if not (isinstance(value, _LITERALS)
                or (isinstance(value, tuple) and all(isinstance(v, _LITERALS) for v in value))):
            return None
        constants[name] = value
    param = body.param
    for inner in ast.walk(body.node):
        # A name of ours, or a name we replace that is rebound inside (a nested lambda or a
        # comprehension variable).
        if isinstance(inner, ast.Name) and (inner.id.startswith(PREFIX) or inner.id == FACTS
                                            or ((inner.id in constants or inner.id == param)
                                            and not isinstance(inner.ctx, ast.Load))):
            return None
        if isinstance(inner, ast.arg) and (inner.arg == param or inner.arg in constants):
            return None
    tree = ast.parse(ast.unparse(body.node), mode="eval").body
    tree = _Inline(param, constants).visit(tree)
    return f"({ast.unparse(ast.fix_missing_locations(tree))})"


def compile_pass(rules: Iterable[Any], module: ModuleType, site_bound: dict[str, frozenset[str]],
                 apply: Callable[..., None], name: str) -> Callable[[Any, Any], None] | None:
    """One function ``run(state, facts)`` that applies ``rules`` (core.Compiled) in order,
    calling ``apply(state, rule, text, sentence)`` (core._apply) for each that fires. None when
    the rule table's source cannot be read."""
    if not _bodies(module):
        return None
    # The module's globals, for the copied expressions; our own names carry the prefix, which
    # no copied expression may use (_expression).
    env: dict[str, Any] = {**module.__dict__, f"{PREFIX}apply": apply}
    lines = [f"def {name}(state, {FACTS}):"]
    lines += [f"    {_local(attr)} = {FACTS}.{attr}" for attr in PLAIN_FACTS]
    blocks: list[str] = []
    for index, c in enumerate(rules):
        blocks += _block(index, c, module, site_bound, env)
    blocks.append("    return None")
    # The hoisted fields the blocks read (``_f_lesion_surface``), each read once, up front.
    read = {node.id for node in ast.walk(ast.parse("\n".join([*lines, *blocks])))
            if isinstance(node, ast.Name)}
    lines += [f"    {name} = {owner}.{name[len(owner) + 1:]}"
              for owner in _HOISTED_LOCALS
              for name in sorted(read) if name.startswith(f"{owner}_")]
    lines += blocks
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<rule table: {name}>", "exec"), env)
    run = env[name]
    if engine_loader.STATUS.compiled:
        built = engine_loader.compiled_pass(name, cython_source(source))
        if built is not None:
            # The same code compiled (engine_build.py): its globals are the ones exec used.
            vars(built).update((key, value) for key, value in env.items()
                               if not key.startswith("__") and key != name)
            run = getattr(built, name)
    run.source = source  # for tests and for reading what runs
    return run  # type: ignore[no-any-return]


def cython_source(source: str) -> str:
    """A generated pass as a Cython module (engine_build.py compiles it).

    The code is the same; Cython needs two things said: the facts argument is a ``Facts``
    (facts.pxd), so that its plain attributes are read as C struct fields, and every global
    name the code reads exists (each is bound, at import, to what ``compile_pass`` gave exec).
    Measured: 38,000 fewer instructions per assessment than the interpreted pass (of 268,000).
    """
    function = ast.parse(source).body[0]
    assert isinstance(function, ast.FunctionDef)
    bound = {arg.arg for arg in function.args.args}
    read = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
    free = sorted(read - bound - set(dir(builtins)))
    header, body = source.split("\n", 1)
    typed = header.replace(f"(state, {FACTS}):", f"(state, Facts {FACTS}):")
    assert typed != header
    # core._apply as a C call (core.pxd declares it), not a Python call through a global.
    apply = f"{PREFIX}apply"
    body = body.replace(f"{apply}(", f"{apply}_c(")
    return "\n".join([
        "# cython: language_level=3, binding=True",
        "# Generated by assessment/engine/rulecode.py from the rule table: do not edit.",
        "from assessment.engine.facts cimport Facts",
        f"from assessment.engine.core cimport _apply as {apply}_c",
        "",
        *(f"{name} = None" for name in free),
        "",
        "",
        typed,
        body,
    ])


def _block(index: int, c: Any, module: ModuleType, site_bound: dict[str, frozenset[str]],
           env: dict[str, Any]) -> list[str]:
    """The ``if`` block of one compiled rule: what core._run does when its condition holds."""
    condition = _expression(c.when, module)
    if condition is None:
        env[f"{PREFIX}when_{index}"] = c.when
        condition = f"{PREFIX}when_{index}({FACTS})"
        gate = _gate(c.gate)
        if gate is not None:  # as the gate index would: not called while its fact is absent
            condition = f"{gate} and {condition}"
    if c.id in site_bound:
        sites = site_bound[c.id]
        if len(sites) == 1:
            condition = f"{_local('site')} == {next(iter(sites))!r} and {condition}"
        else:
            env[f"{PREFIX}sites_{index}"] = sites
            condition = f"{_local('site')} in {PREFIX}sites_{index} and {condition}"
    env[f"{PREFIX}rule_{index}"] = c
    rule = f"{PREFIX}rule_{index}"
    out = [f"    # {c.id}", f"    if {condition}:"]
    if c.static is None:
        text = _expression(c.text, module)
        if text is None:
            env[f"{PREFIX}text_{index}"] = c.text
            text = f"{PREFIX}text_{index}({FACTS})"
        local = _local("text")
        out += [f"        {local} = {text}",
                f"        {PREFIX}apply(state, {rule}, {local}, f'{{{local}}} ' + {c.source!r})"]
    else:
        out.append(f"        {PREFIX}apply(state, {rule}, {c.static!r}, {c.sentence!r})")
    return out


def _gate(gate: tuple[str, str] | None) -> str | None:
    """A rule's gate (gates.py) as a test on the generated locals."""
    if gate is None:
        return None
    kind, name = gate
    if kind == "yes":
        return f"{_local('h')}[{name!r}] is True"
    if kind == "lab":
        return f"{name!r} in {_local('labs')}"
    if kind == "has":
        return f"{name!r} in {_local('features')}"
    if kind == "site":
        return f"{_local('site')} == {name!r}"
    if kind == "attr" and name.isidentifier():
        return f"{FACTS}.{name}"
    if kind == "field":
        owner, field = name.split(".")
        if owner in HOISTED_OWNERS and field.isidentifier():
            return f"{_local(owner)}_{field} is not None"  # hoisted (compile_pass)
    return None
