"""Engine throughput: ``python -m assessment.engine_bench [COUNT]`` prints assessments per second.

Single process, single thread, so the figure is per core. The inputs are generated first and
the timing covers only ``assess`` (validation plus rules), not input generation.
"""

from __future__ import annotations

import sys
import time

from .engine import assess
from .engine.samples import random_inputs


def main(argv: list[str]) -> int:
    count = int(argv[1]) if len(argv) > 1 else 5000
    inputs = random_inputs(count)
    for data in inputs[:50]:  # warm-up
        assess(data)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        for data in inputs:
            assess(data)
        timings.append(time.perf_counter() - start)
    best = min(timings)
    print(f"engine: {count} generated inputs x 3 runs, one core")
    print(f"  best run     {best:.3f} s  ->  {count / best:,.0f} assessments/s")
    print(f"  slowest run  {max(timings):.3f} s  ->  {count / max(timings):,.0f} assessments/s")
    print(f"  mean per assessment  {1000 * best / count:.3f} ms")
    print("  target: at least 2,000 assessments/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
