"""Engine throughput: ``python -m assessment.engine_bench [COUNT]`` prints assessments per second.

Single process, single thread, so the figure is per core. The inputs are generated first and
the timing covers only ``assess`` (validation plus rules), not input generation. Validation alone
is timed in the same run, interleaved, so the ratio between the two does not drift with the
machine (a shared 2-core machine here varies by a third from minute to minute).

Assessments per second depend on the machine as much as on the engine: the same build ran at
12,500/s on one machine of this kind and 3,200/s on another. When valgrind is installed, the
run also counts the instructions one assessment executes (callgrind, which counts rather than
times, so the figure repeats to within about 1% on any machine running the same interpreter;
the 1% is string hashing, randomised per process) and prints the instruction rate this machine
gave the engine. An engine change is judged by the count; the machine by the rate.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

from . import engine_loader
from .engine import assess
from .engine.samples import random_inputs
from .engine.validation import validate

RUNS = 5
COUNTED = 300  # assessments run under callgrind (the two runs take about a minute here)
WARM_UP = 50


def _rate(fn: Callable[[Any], Any], inputs: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    for data in inputs:
        fn(data)
    return len(inputs) / (time.perf_counter() - start)


def _counted_run(count: int) -> None:
    """What runs under callgrind: the same start-up, inputs and warm-up whatever ``count`` is,
    so that two runs differ only by ``count`` assessments."""
    inputs = random_inputs(COUNTED)
    for data in inputs[:WARM_UP]:
        assess(data)
    for data in inputs[:count]:
        assess(data)


class NotCounted(Exception):
    """Why there is no instruction count; printed in its place."""


def _instructions(count: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             sys.executable, "-m", "assessment.engine_bench", "--counted", str(count)],
            capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        last = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise NotCounted(f"callgrind failed (exit {done.returncode}): {last[0]}")
    return int(found.group(1))


def instructions_per_assessment() -> float:
    """Instructions one assessment executes: two callgrind runs, with and without ``COUNTED``
    assessments, subtracted (start-up and input generation cancel out)."""
    if shutil.which("valgrind") is None:
        raise NotCounted("valgrind is not installed")
    return (_instructions(COUNTED) - _instructions(0)) / COUNTED


def main(argv: list[str]) -> int:
    if len(argv) > 2 and argv[1] == "--counted":
        _counted_run(int(argv[2]))
        return 0
    count = int(argv[1]) if len(argv) > 1 else 5000
    inputs = random_inputs(count)
    for data in inputs[:WARM_UP]:
        assess(data)
    engine, validation = [], []
    for _ in range(RUNS):
        validation.append(_rate(validate, inputs))
        engine.append(_rate(assess, inputs))
    median = statistics.median(engine)
    print(f"engine: {count} generated inputs x {RUNS} runs, one core; "
          f"{engine_loader.running().describe()}")
    print(f"  median run   {median:,.0f} assessments/s  ({1000 / median:.3f} ms each)")
    print(f"  range        {min(engine):,.0f} - {max(engine):,.0f} assessments/s")
    print(f"  validation alone, same run: median {statistics.median(validation):,.0f}/s; "
          f"a full assessment costs {statistics.median(validation) / median:.1f}x validation")
    try:
        per = instructions_per_assessment()
    except NotCounted as why:
        print(f"  instructions: not counted ({why})")
    else:
        print(f"  instructions {per:,.0f} per assessment (callgrind, Python "
              f"{platform.python_version()}); this machine ran the engine at "
              f"{per * median / 1e9:.2f} billion instructions/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
