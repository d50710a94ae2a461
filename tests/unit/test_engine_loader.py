"""The compiled engine runs only when built from the source on disk, and it answers exactly as
the source does (assessment/engine_loader.py, assessment/engine_build.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

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


def test_the_environment_can_ask_for_the_source(tmp_path: Path) -> None:
    assert engine_loader.stale_reason(_package(tmp_path), {"CALCINOSIS_ENGINE": "source"}) == (
        "CALCINOSIS_ENGINE=source")


DIGESTS = """
import json
from assessment import engine_loader
from tests.unit.test_engine_identical import _digests
running = engine_loader.running()
import assessment.engine.core as core
print(json.dumps({"compiled": running.compiled, "core": core.__file__, "digests": _digests()}))
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
    default = _run({"CALCINOSIS_ENGINE": ""})
    # Compiled wherever the build matches the source (make install builds it); the same bytes.
    built = engine_loader.stale_reason(engine_loader.ENGINE_DIR, {}) is None
    assert default["compiled"] is built
    assert default["core"].endswith(SUFFIX if built else "core.py")
    assert default["digests"] == golden["digests"]
