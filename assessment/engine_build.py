"""Compile the engine's hot modules with Cython: ``python -m assessment.engine_build``.

The engine stays Python source: the same files are what tests, reviewers and the interpreter
read. Cython translates them unchanged into extension modules placed beside each ``.py`` file,
which Python imports in preference to the source. Two ``.pxd`` files, read by Cython only,
declare the per-assessment classes (``Facts``, ``State``, ``EntityScore`` and the compiled rule)
as C structs, so that the compiled code reads their fields directly. On this machine the build
makes an assessment about 1.6 times as fast (docs/PERFORMANCE.md). The rule table (``rules.py``)
is not compiled: ``rulecode.py`` copies its conditions out of the source into one generated
function per pass, and compiling that function as it stood gained nothing (attribute and
dictionary reads are what it does, and the interpreter's specialised instructions do them as
fast as Cython's generic calls). The first pass is compiled as a module of its own
(``_pass_run_early_rules``), with its facts argument declared a ``Facts``: its fact reads
become C struct reads, 38,000 fewer instructions per assessment of about 645,000. The second
pass holds one rule and stays interpreted.

``engine/compiled.json`` records the SHA-256 of each compiled module's source, and of each
compiled pass's generated code (``rulecode.compile_pass`` uses a compiled pass only when the
code it generates now has that digest, else it runs the code it generated). At import,
``assessment.engine_loader`` loads every engine module from source instead whenever one of them
has changed since the build, when the record is missing, or when ``CALCINOSIS_ENGINE=source``:
a compiled module can never stand in for code it was not built from. ``make install`` runs this
build when a source file is newer than the record; without Cython or a C compiler it says so
and the engine runs as plain Python, with the same output and slower.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import warnings
from pathlib import Path

from . import engine_loader

ROOT = Path(__file__).resolve().parents[1]
# The modules an assessment spends its time in; see the module docstring for rules.py.
COMPILED_MODULES = ("core", "facts", "frozen", "gates", "knowledge", "labs", "sources",
                    "validation", "vocab")
# The generated rule passes compiled as modules, by the attribute of core that holds each.
COMPILED_PASSES = {"run_early_rules": "RUN_EARLY"}


def _pass_sources(build_dir: Path) -> dict[str, tuple[Path, str]]:
    """Each compiled pass's generated Cython code, written to the build folder: {module: (file,
    digest)}. Read from the engine's source (the record is gone, so the loader picks it)."""
    from .engine import core, rulecode

    found = {}
    for name, attribute in COMPILED_PASSES.items():
        run = getattr(core, attribute)
        if run is None:
            continue  # no readable rule table: nothing is generated (rulecode.compile_pass)
        text = rulecode.cython_source(run.source)
        module = engine_loader.PASS_PREFIX + name
        path = build_dir / f"{module}.pyx"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        found[module] = (path, engine_loader.pass_digest(text))
    return found


def build() -> int:
    try:
        from Cython import __version__ as cython_version
        from Cython.Build import cythonize
        from setuptools import Extension, setup
    except ImportError as error:
        print(f"engine build: {error}; the engine runs as plain Python.", file=sys.stderr)
        return 1
    engine_dir = Path(engine_loader.ENGINE_DIR)
    record = engine_dir / engine_loader.RECORD
    record.unlink(missing_ok=True)  # never a record that names another build's modules
    build_dir = ROOT / "build" / "cython"
    passes = _pass_sources(build_dir)
    # No debug symbols: half the compile time, and nobody steps through these. GCC's
    # array-bounds warnings on Cython's inlined comparisons are spurious.
    flags = ["-g0", "-Wno-array-bounds"]
    extensions = [
        *(Extension(f"assessment.engine.{name}", [str(engine_dir / f"{name}.py")],
                    extra_compile_args=flags) for name in COMPILED_MODULES),
        *(Extension(f"assessment.engine.{module}", [str(path)], extra_compile_args=flags)
          for module, (path, _) in passes.items()),
    ]
    modules = cythonize(extensions, build_dir=str(build_dir), quiet=True, include_path=[str(ROOT)],
                        nthreads=os.cpu_count() or 1,
                        compiler_directives={"language_level": 3, "binding": True})
    # setuptools reads pyproject.toml's [tool.setuptools] and warns that it is "beta".
    warnings.filterwarnings("ignore", message=".*tool.setuptools.*")
    cwd = Path.cwd()
    os.chdir(ROOT)  # --inplace places each module beside its source, relative to here
    try:
        setup(name="calcinosis-engine", ext_modules=modules, script_args=[
            "--quiet", "build_ext", "--inplace", "--parallel", str(os.cpu_count() or 1)])
    finally:
        os.chdir(cwd)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    missing = [name for name in (*COMPILED_MODULES, *passes)
               if not (engine_dir / f"{name}{suffix}").exists()]
    if missing:
        print(f"engine build: no compiled module for {', '.join(missing)}", file=sys.stderr)
        return 1
    record.write_text(json.dumps({
        "cython": cython_version,
        "python": sys.version.split()[0],
        "modules": {name: engine_loader.source_digest(engine_dir, name)
                    for name in COMPILED_MODULES},
        "passes": {module: digest for module, (_, digest) in passes.items()},
    }, indent=1) + "\n")
    print(f"engine build: {len(COMPILED_MODULES)} modules and {len(passes)} rule pass compiled "
          f"with Cython {cython_version}")
    return 0


def clean() -> None:
    """Remove the compiled modules and their record: the engine runs from source."""
    engine_dir = Path(engine_loader.ENGINE_DIR)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    for path in engine_dir.glob(f"*{suffix}"):  # the modules and the compiled passes
        path.unlink()
    (engine_dir / engine_loader.RECORD).unlink(missing_ok=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--clean"]:
        clean()
        raise SystemExit(0)
    raise SystemExit(build())
