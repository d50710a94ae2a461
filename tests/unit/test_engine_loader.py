"""The compiled engine runs only when built from the source on disk, and it answers exactly as
the source does (assessment/engine_loader.py, assessment/engine_build.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from assessment import engine_loader

ROOT = Path(__file__).resolve().parents[2]
SUFFIX = sysconfig.get_config_var("EXT_SUFFIX")


def _package(tmp_path: Path, *, compiled: bool = True, record: bool = True) -> Path:
    (tmp_path / "core.py").write_text("ANSWER = 1\n")
    (tmp_path / "rules.py").write_text("RULES = ()\n")
    if compiled:
        (tmp_path / f"core{SUFFIX}").write_bytes(b"not really a module")
    if record:
        (tmp_path / engine_loader.RECORD).write_text(json.dumps(
            {"modules": {"core": engine_loader.source_digest(tmp_path, "core")}}))
    return tmp_path


def test_a_build_of_the_current_source_may_run(tmp_path: Path) -> None:
    assert engine_loader.stale_reason(_package(tmp_path), {}) is None


def test_an_edit_after_the_build_sends_the_engine_back_to_source(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / "core.py").write_text("ANSWER = 2\n")
    assert engine_loader.stale_reason(package, {}) == (
        "core.py or core.pxd changed since the build: rebuild")


def test_a_new_or_changed_declaration_file_also_makes_the_build_stale(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / "core.pxd").write_text("cdef class Facts:\n    pass\n")
    assert engine_loader.stale_reason(package, {}) == (
        "core.py or core.pxd changed since the build: rebuild")


def test_no_build_no_record_or_an_unrecorded_module_means_source(tmp_path: Path) -> None:
    packages = {name: tmp_path / name for name in ("none", "unrecorded", "extra", "broken")}
    for path in packages.values():
        path.mkdir()
    assert "no compiled build" in engine_loader.stale_reason(
        _package(packages["none"], compiled=False), {})
    assert "without a build record" in engine_loader.stale_reason(
        _package(packages["unrecorded"], record=False), {})
    extra = _package(packages["extra"])
    (extra / f"rules{SUFFIX}").write_bytes(b"")
    assert engine_loader.stale_reason(extra, {}) == (
        "compiled rules not in the build record: rebuild")
    broken = _package(packages["broken"])
    (broken / engine_loader.RECORD).write_text("{")
    assert engine_loader.stale_reason(broken, {}) == "unreadable build record: rebuild"


def test_a_compiled_rule_pass_is_recorded_with_the_digest_of_its_generated_code(
        tmp_path: Path) -> None:
    package = _package(tmp_path)
    record = json.loads((package / engine_loader.RECORD).read_text())
    module = f"{engine_loader.PASS_PREFIX}run_early_rules"
    (package / f"{module}{SUFFIX}").write_bytes(b"")
    assert engine_loader.stale_reason(package, {}) == (
        f"compiled {module} not in the build record: rebuild")
    record["passes"] = {module: engine_loader.pass_digest("def run(state, _f): pass")}
    (package / engine_loader.RECORD).write_text(json.dumps(record))
    assert engine_loader.stale_reason(package, {}) is None
    (package / f"{module}{SUFFIX}").unlink()
    assert engine_loader.stale_reason(package, {}) == (
        f"{module} is in the build record but not compiled: rebuild")


def test_a_compiled_pass_runs_only_for_the_code_it_was_built_from(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from assessment.engine import core, rulecode

    built = engine_loader.stale_reason(engine_loader.ENGINE_DIR, {}) is None
    text = rulecode.cython_source(core.RUN_EARLY.source)
    assert (engine_loader.compiled_pass("run_early_rules", text) is not None) is built
    # Generated code that differs by a character (an edited rule table) is not the build's.
    assert engine_loader.compiled_pass("run_early_rules", text + " ") is None
    monkeypatch.setattr(engine_loader, "STATUS", engine_loader.Status(False, "from source"))
    assert engine_loader.compiled_pass("run_early_rules", text) is None


def test_the_environment_can_ask_for_the_source(tmp_path: Path) -> None:
    assert engine_loader.stale_reason(_package(tmp_path), {"CALCINOSIS_ENGINE": "source"}) == (
        "CALCINOSIS_ENGINE=source")


DIGESTS = """
import json
from assessment import engine_loader
from tests.unit.test_engine_identical import _digests
running = engine_loader.running()
import assessment.engine.core as core
print(json.dumps({"compiled": running.compiled, "core": core.__file__, "digests": _digests(),
                  "pass": type(core.RUN_EARLY).__name__}))
"""


def _run(environ: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-c", DIGESTS], cwd=ROOT, capture_output=True,
                            text=True, check=True, env={**os.environ, **environ}, timeout=300)
    return json.loads(result.stdout)


def test_source_and_build_give_the_stored_answers_byte_for_byte() -> None:
    golden = json.loads((ROOT / "tests" / "data" / "engine_golden" / "digests.json").read_text())
    source = _run({"CALCINOSIS_ENGINE": "source"})
    assert source["core"].endswith("core.py") and not source["compiled"]
    assert source["digests"] == golden["digests"]
    assert source["pass"] == "function"  # the generated pass, run by the interpreter
    default = _run({"CALCINOSIS_ENGINE": ""})
    # Compiled wherever the build matches the source (make install builds it); the same bytes.
    built = engine_loader.stale_reason(engine_loader.ENGINE_DIR, {}) is None
    assert default["compiled"] is built
    assert default["core"].endswith(SUFFIX if built else "core.py")
    assert default["digests"] == golden["digests"]
    # The build compiles the first rule pass too (engine_build.COMPILED_PASSES).
    assert (default["pass"] == "cython_function_or_method") is built
