"""Which engine code runs: the Cython build of the engine's modules, or their source.

``assessment/engine/__init__.py`` calls ``choose()`` before it imports any engine module. When
the compiled modules (``python -m assessment.engine_build``) were built from exactly the source
files now on disk, Python imports them as usual (an extension module wins over a ``.py`` file
of the same name). Otherwise every engine module is loaded from its ``.py`` file: after an edit
with no rebuild, with no build at all, or when ``CALCINOSIS_ENGINE=source`` asks for the
interpreted engine (to debug, or to compare). Both run the same source and give byte-identical
output (tests/unit/test_engine_loader.py).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

ENGINE_DIR = Path(__file__).resolve().parent / "engine"
ENGINE_PACKAGE = "assessment.engine"
RECORD = "compiled.json"  # what engine_build compiled, with each source file's digest
# A rule pass generated from the rule table (rulecode.py) and compiled: "_pass_<name>".
PASS_PREFIX = "_pass_"


@dataclass(frozen=True)
class Status:
    compiled: bool
    reason: str  # for people: why the engine runs compiled or from source

    def describe(self) -> str:
        return f"{'compiled with Cython' if self.compiled else 'interpreted'} ({self.reason})"


STATUS = Status(False, "not chosen yet")


def source_digest(engine_dir: Path, name: str) -> str:
    """The digest of what a module is compiled from: its ``.py`` file and, when there is one,
    the ``.pxd`` file that declares its classes to Cython."""
    digest = hashlib.sha256((engine_dir / f"{name}.py").read_bytes())
    declarations = engine_dir / f"{name}.pxd"
    if declarations.is_file():
        digest.update(b"\0pxd\0" + declarations.read_bytes())
    return digest.hexdigest()


def stale_reason(engine_dir: Path, environ: Mapping[str, str]) -> str | None:
    """Why the compiled modules in ``engine_dir`` must not run, or None when they may."""
    if environ.get("CALCINOSIS_ENGINE", "").lower() == "source":
        return "CALCINOSIS_ENGINE=source"
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    built = sorted(path.name[: -len(suffix)] for path in engine_dir.glob(f"*{suffix}"))
    record_path = engine_dir / RECORD
    if not built:
        return "no compiled build (python -m assessment.engine_build)"
    if not record_path.is_file():
        return "compiled modules without a build record: rebuild"
    try:
        record = json.loads(record_path.read_text())
        modules, passes = record["modules"], record.get("passes", {})
    except (ValueError, KeyError, TypeError, AttributeError):
        return "unreadable build record: rebuild"
    unrecorded = [name for name in built if name not in modules and name not in passes]
    if unrecorded:
        return f"compiled {', '.join(unrecorded)} not in the build record: rebuild"
    for name in passes:
        if name not in built:
            return f"{name} is in the build record but not compiled: rebuild"
    for name, digest in modules.items():
        source = engine_dir / f"{name}.py"
        if name not in built:
            return f"{name} is in the build record but not compiled: rebuild"
        if not source.is_file() or source_digest(engine_dir, name) != digest:
            return f"{name}.py or {name}.pxd changed since the build: rebuild"
    return None


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the engine's modules as source files, ahead of the compiled ones."""

    def __init__(self, engine_dir: Path, package: str) -> None:
        self.engine_dir = engine_dir
        self.prefix = package + "."

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(self.prefix) or "." in fullname[len(self.prefix):]:
            return None
        source = self.engine_dir / f"{fullname[len(self.prefix):]}.py"
        if not source.is_file():
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def choose() -> Status:
    """Load the engine from source unless a current compiled build exists; say which."""
    global STATUS
    reason = stale_reason(ENGINE_DIR, os.environ)
    if reason is None:
        STATUS = Status(True, "built from the current source")
        return STATUS
    if not any(isinstance(finder, _SourceFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder(ENGINE_DIR, ENGINE_PACKAGE))
    STATUS = Status(False, reason)
    return STATUS


def pass_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def compiled_pass(name: str, text: str) -> ModuleType | None:
    """The compiled module of a generated rule pass (``rulecode.cython_source``), or None.

    Only when the engine runs compiled and the module was built from exactly ``text``: the
    generated code follows the rule table, which is not among the compiled modules, so an
    edit to it leaves a built pass stale without making the rest of the build stale."""
    if not STATUS.compiled:
        return None
    module = PASS_PREFIX + name
    try:
        recorded = json.loads((ENGINE_DIR / RECORD).read_text()).get("passes", {}).get(module)
    except (OSError, ValueError, AttributeError):
        return None
    if recorded != pass_digest(text):
        return None
    return importlib.import_module(f"{ENGINE_PACKAGE}.{module}")


def running() -> Status:
    """What actually runs, read off the imported core module."""
    core = sys.modules.get(f"{ENGINE_PACKAGE}.core")
    if core is None:
        return STATUS
    compiled = not (getattr(core, "__file__", "") or "").endswith(".py")
    return Status(compiled, STATUS.reason)
