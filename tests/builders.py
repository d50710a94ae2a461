"""Build contract inputs for tests: a neutral presentation plus the fields a test cares about."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

CASES_DIR = Path(__file__).parent / "data" / "cases"
REVIEW_CASES_DIR = Path(__file__).parent / "data" / "review_cases"


def load_case(name: str) -> dict[str, Any]:
    return json.loads((CASES_DIR / name).read_text(encoding="utf-8"))


def all_cases() -> list[tuple[str, dict[str, Any]]]:
    return [(path.name, json.loads(path.read_text(encoding="utf-8")))
            for path in sorted(CASES_DIR.glob("*.json"))]


def review_cases() -> list[tuple[str, dict[str, Any]]]:
    """The specialist-reviewed presentations (docs/CLINICAL_REVIEW.md), kept as regression
    tests with their expected answers."""
    return [(path.name, json.loads(path.read_text(encoding="utf-8")))
            for path in sorted(REVIEW_CASES_DIR.glob("*.json"))]


def make(
    *,
    age: float = 12,
    sex: str = "female",
    history: dict[str, Any] | None = None,
    labs: list[dict[str, Any]] | None = None,
    imaging: dict[str, Any] | None = None,
    **lesion: Any,
) -> dict[str, Any]:
    """A contract input; unspecified lesion fields are unknown (null) except site and count."""
    base_lesion: dict[str, Any] = {"site": "heel", "count": 1}
    base_lesion.update(lesion)
    return {
        "patient": {"age_months": age, "sex": sex, "history": dict(history or {})},
        "lesion": base_lesion,
        "labs": copy.deepcopy(labs or []),
        "imaging": dict(imaging or {}),
    }


def lab(analyte: str, value: float, unit: str, low: float | None = None,
        high: float | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"analyte": analyte, "value": value, "unit": unit}
    if low is not None:
        row["reference_low"] = low
    if high is not None:
        row["reference_high"] = high
    return row


def fired(output: dict[str, Any]) -> list[str]:
    return [rule["id"] for rule in output["rules_fired"]]
