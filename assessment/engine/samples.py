"""Random valid contract inputs, for the benchmark and for demos (seeded, so repeatable)."""

from __future__ import annotations

import random
from typing import Any

from . import labs, vocab


def _maybe(rng: random.Random, choices: tuple[Any, ...], none_weight: float = 0.3) -> Any:
    return None if rng.random() < none_weight else rng.choice(choices)


def random_input(rng: random.Random) -> dict[str, Any]:
    age = round(rng.uniform(0, 216), 1)
    site = rng.choice(vocab.SITES)
    largest = round(rng.uniform(0.5, 40), 1) if rng.random() < 0.8 else None
    perpendicular = (round(rng.uniform(0.1, largest), 1)
                     if largest is not None and rng.random() < 0.4 else None)
    history: dict[str, Any] = {
        key: rng.choice((True, False, None)) for key in vocab.HISTORY_FLAGS if rng.random() < 0.5
    }
    if history.get("iv_calcium_received") is False:
        history.pop("iv_calcium_at_lesion_site", None)
        history.pop("extravasation_documented", None)
    if rng.random() < 0.2:
        preterm = history.get("preterm_birth")
        low, high = (22, 36.9) if preterm is True else (37, 44) if preterm is False else (22, 44)
        history["gestational_age_weeks"] = round(rng.uniform(low, high), 1)
    lab_rows = []
    for analyte in rng.sample(labs.ANALYTE_CODES, rng.randint(0, 5)):
        spec = labs.ANALYTES[analyte]
        unit = rng.choice(tuple(spec.units))
        low, high = spec.plausible
        canonical = rng.uniform(max(low, 0.01), min(high, low * 40 + 10))
        value = round(canonical / spec.units[unit], 3)
        if not low <= labs.to_canonical(analyte, value, unit) <= high:
            continue
        lab_rows.append({"analyte": analyte, "value": value, "unit": unit})
    onset = round(rng.uniform(0, age), 1) if rng.random() < 0.7 else None
    return {
        "patient": {"age_months": age, "sex": rng.choice(vocab.SEXES), "history": history},
        "lesion": {
            "site": site,
            "heel_subsite": _maybe(rng, vocab.HEEL_SUBSITES) if site == "heel" else None,
            "laterality": _maybe(rng, vocab.LATERALITIES),
            "count": rng.choice((1, 1, 1, 2, 3, 5, 12)),
            "distribution": _maybe(rng, vocab.DISTRIBUTIONS),
            "largest_diameter_mm": largest,
            "perpendicular_diameter_mm": perpendicular,
            "color": _maybe(rng, vocab.COLORS),
            "morphology": _maybe(rng, vocab.MORPHOLOGIES),
            "surface": _maybe(rng, vocab.SURFACES),
            "consistency": _maybe(rng, vocab.CONSISTENCIES),
            "features": rng.sample(vocab.FEATURES, rng.randint(0, 4)),
            "onset_age_months": onset,
            "duration_weeks": round(rng.uniform(0, (age - onset) * 4.3), 1)
            if onset is not None and rng.random() < 0.5 else None,
            "trend": _maybe(rng, vocab.TRENDS),
        },
        "labs": lab_rows,
        "imaging": {
            "xray": _maybe(rng, vocab.XRAY, 0.7),
            "ultrasound": _maybe(rng, vocab.ULTRASOUND, 0.7),
            "dermoscopy": rng.sample(vocab.DERMOSCOPY, rng.randint(0, 2)),
            "histology": _maybe(rng, vocab.HISTOLOGY, 0.85),
        },
    }


def random_inputs(count: int, seed: int = 2026) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [random_input(rng) for _ in range(count)]
