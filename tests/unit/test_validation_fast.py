"""The validator's fast path (validation._valid_fast) gives exactly the findings of the full
validator, or leaves the input to it: it never accepts an input the full validator refuses."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from assessment.engine import validation
from assessment.engine.samples import random_inputs
from assessment.engine.validation import InvalidInput, _valid_fast, _validate_collecting

DATA = Path(__file__).resolve().parents[1] / "data"

ODD_VALUES: list[Any] = [None, True, False, 0, -1, 1.5, 2.0, 1e300, float("nan"),
                         float("inf"), "", "heel", "mg/dL", "x", [], ["pain"], {}, {"a": 1}]


def _seed_inputs() -> list[dict[str, Any]]:
    found = []
    for path in sorted(DATA.glob("**/*.json")):
        try:
            data = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        items = data if isinstance(data, list) else [data]
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("input"), dict):
                found.append(item["input"])
    return found


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in an input where a value can be replaced."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            found.append((*prefix, key))
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found.append((*prefix, index))
            found += _paths(inner, (*prefix, index))
    return found


def _mutated(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    result = copy.deepcopy(data)
    paths = _paths(result)
    if not paths:
        return result
    path = rng.choice(paths)
    holder = result
    for step in path[:-1]:
        holder = holder[step]
    action = rng.random()
    if action < 0.15 and isinstance(holder, dict):
        del holder[path[-1]]
    elif action < 0.25 and isinstance(holder, dict):
        holder[rng.choice(["unknown", "site", "value", "reference_low", "history"])] = (
            rng.choice(ODD_VALUES))
    else:
        holder[path[-1]] = rng.choice(ODD_VALUES)
    return result


def _full(data: Any) -> validation.Findings | None:
    try:
        return _validate_collecting(data)
    except InvalidInput:
        return None


def _check(data: Any) -> bool:
    fast = _valid_fast(data)
    full = _full(data)
    if fast is not None:
        assert full is not None, f"fast path accepted an invalid input: {data!r}"
        assert fast == full
        assert list(fast.patient.history) == list(full.patient.history)
        assert list(fast.lesion.features) == list(full.lesion.features)
        assert list(fast.imaging.dermoscopy) == list(full.imaging.dermoscopy)
    return fast is not None


def test_generated_inputs_take_the_fast_path_with_identical_findings() -> None:
    inputs = random_inputs(3000, seed=77)
    taken = sum(_check(data) for data in inputs)
    assert taken == len(inputs)  # every generated input is valid and takes the fast path


def test_seed_and_review_inputs_agree() -> None:
    inputs = _seed_inputs()
    assert len(inputs) >= 3
    for data in inputs:
        _check(data)


@pytest.mark.parametrize("seed", range(4))
def test_mutated_inputs_are_never_accepted_when_invalid(seed: int) -> None:
    rng = random.Random(seed)
    bases = random_inputs(150, seed=seed) + _seed_inputs()
    accepted = refused = 0
    for base in bases:
        for _ in range(6):
            if _check(_mutated(base, rng)):
                accepted += 1
            else:
                refused += 1
    # Both kinds occurred, so both directions were exercised.
    assert accepted and refused


def test_odd_top_level_values_fall_back() -> None:
    for value in [*ODD_VALUES, {"patient": None}, {"contract": 99}]:
        assert _valid_fast(value) is None
