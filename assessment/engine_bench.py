"""Engine throughput: ``python -m assessment.engine_bench [COUNT]`` prints assessments per second.

Single process, single thread, so the figure is per core. The inputs are generated first and
the timing covers only ``assess`` (validation plus rules), not input generation. Validation alone
is timed in the same run, interleaved, so the ratio between the two does not drift with the
machine (a shared 2-core machine here varies by a third from minute to minute).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from . import engine_loader
from .engine import assess
from .engine.samples import random_inputs
from .engine.validation import validate

RUNS = 5


def _rate(fn: Callable[[Any], Any], inputs: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    for data in inputs:
        fn(data)
    return len(inputs) / (time.perf_counter() - start)


def main(argv: list[str]) -> int:
    count = int(argv[1]) if len(argv) > 1 else 5000
    inputs = random_inputs(count)
    for data in inputs[:50]:  # warm-up
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
