"""The engine is pure: no Django, no clock, no database, no I/O; its output is deterministic."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from assessment.engine import assess
from tests.builders import CASES_DIR, all_cases

ENGINE_DIR = Path(__file__).resolve().parents[2] / "assessment" / "engine"
# datetime is allowed for date *values* (course checks take dates as inputs); reading the
# clock is not (checked below).
# dis reads rule conditions to gate them (gates.py); bisect finds a lab's age band (labs.py).
# ast and pathlib: rulecode.py reads the rule table's own source to compile it; builtins: it
# names the globals its generated code reads that are not builtins (rulecode.cython_source).
ALLOWED_IMPORTS = {"__future__", "ast", "bisect", "builtins", "collections", "dataclasses",
                   "datetime", "difflib", "dis", "functools", "math", "pathlib", "random", "re",
                   "types", "typing"}
CLOCK_CALLS = {"today", "now", "utcnow", "time", "monotonic", "perf_counter"}


def test_the_engine_imports_only_the_standard_library_it_needs() -> None:
    for path in sorted(ENGINE_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in ALLOWED_IMPORTS, f"{path.name} imports {name}"


def test_the_engine_never_reads_the_clock() -> None:
    for path in sorted(ENGINE_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in CLOCK_CALLS, f"{path.name} calls {node.func.attr}()"


def test_the_engine_runs_without_django_installed() -> None:
    script = (
        "import sys, json\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'django': raise ImportError('django blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from assessment.engine import assess\n"
        f"data = json.load(open({str(CASES_DIR / 'seed_case_c_heel_stick_nodules.json')!r}))\n"
        "print(assess(data['input'])['leading_entity']['code'])\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=ENGINE_DIR.parents[1], check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "calcified_heel_stick_nodule"


def test_same_input_gives_byte_identical_json_across_processes() -> None:
    script = ("import json, sys\nfrom assessment.engine import assess\n"
              "from tests.builders import all_cases\n"
              "print(json.dumps([assess(d['input']) for _, d in all_cases()], "
              "ensure_ascii=False))\n")
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                cwd=ENGINE_DIR.parents[1], env=env, check=True)
        outputs.add(result.stdout)
    assert len(outputs) == 1
    here = json.dumps([assess(d["input"]) for _, d in all_cases()], ensure_ascii=False)
    assert outputs == {here + "\n"}


def test_the_engine_does_not_mutate_its_input() -> None:
    for _, case in all_cases():
        before = json.dumps(case["input"], sort_keys=True)
        assess(case["input"])
        assert json.dumps(case["input"], sort_keys=True) == before
