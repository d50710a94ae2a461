"""The engine's output is byte-identical for the same input and ruleset.

Speed work on the engine (rule gating, precomputed sentences) must not change one byte of any
answer. The digests in ``tests/data/engine_golden/`` were written by the engine of the ruleset
they name; this test recomputes them on the same seeded generated inputs. When the ruleset
version changes on purpose, regenerate with::

    .venv/bin/python -m tests.unit.test_engine_identical
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from assessment.engine import RULESET_VERSION, assess
from assessment.engine.samples import random_inputs

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "engine_golden" / "digests.json"
COUNT = 3000
SEED = 2026


def _digest(output: dict) -> str:
    # The bytes a client receives: keys in the engine's order, not sorted.
    encoded = json.dumps(output, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()[:20]


def _digests() -> list[str]:
    return [_digest(assess(data)) for data in random_inputs(COUNT, seed=SEED)]


def test_output_is_byte_identical_to_the_stored_digests() -> None:
    golden = json.loads(GOLDEN.read_text())
    assert golden["ruleset_version"] == RULESET_VERSION, (
        "The ruleset version changed: regenerate the digests (see this module's docstring).")
    current = _digests()
    changed = [index for index, (old, new) in enumerate(zip(golden["digests"], current,
                                                            strict=True)) if old != new]
    assert not changed, (f"{len(changed)} of {COUNT} generated inputs give different output, "
                         f"first at input {changed[0]}")


def test_the_same_input_gives_the_same_bytes_twice() -> None:
    inputs = random_inputs(200, seed=SEED + 1)
    assert [_digest(assess(d)) for d in inputs] == [_digest(assess(d)) for d in inputs]


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps({"ruleset_version": RULESET_VERSION, "seed": SEED,
                                  "count": COUNT, "digests": _digests()}, indent=0) + "\n")
    print(f"wrote {GOLDEN}")
