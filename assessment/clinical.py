"""Bridges between stored records and the engine contract: ages, and contract inputs built from
(possibly unsaved) model instances so a form can be checked by the engine before anything is
saved."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from .models import (
    LESION_HISTORY_FLAGS,
    PATIENT_HISTORY_FLAGS,
    VISIT_HISTORY_FLAGS,
    Encounter,
    ImagingFinding,
    LabResult,
    Lesion,
    LesionObservation,
    Patient,
)

DAYS_PER_MONTH = 30.4375


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    total = start.month - 1 + months
    year, month = start.year + total // 12, total % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def age_in_months(born: date, on: date) -> float:
    """Completed calendar months plus the fraction of the current month, to 2 decimals.

    Clinicians count age in calendar months (born 10 Aug, seen 10 Aug a year later = 12.0).
    """
    if on < born:
        raise ValueError("the date is before birth")
    months = (on.year - born.year) * 12 + (on.month - born.month)
    if add_months(born, months) > on:
        months -= 1
    days = (on - add_months(born, months)).days
    return round(months + days / DAYS_PER_MONTH, 2)


def age_words(months: float) -> str:
    """Age as clinicians write it: days for neonates, months and days to 3 years, then years."""
    whole = int(months)
    days = round((months - whole) * DAYS_PER_MONTH)
    if whole < 1:
        return _count(days, "day")
    if whole < 36:
        return _count(whole, "month") + (f" {_count(days, 'day')}" if days else "")
    years, rest = divmod(whole, 12)
    return _count(years, "year") + (f" {_count(rest, 'month')}" if rest else "")


def _count(number: int, unit: str) -> str:
    """ "1 month", "2 months": singular where it is one (clinical review: "1 months")."""
    return f"{number} {unit}{'' if number == 1 else 's'}"


def date_at_age(born: date, months: float) -> date:
    whole = int(months)
    extra_days = round((months - whole) * DAYS_PER_MONTH)
    return date.fromordinal(add_months(born, whole).toordinal() + extra_days)


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _code(value: str) -> str | None:
    return value or None


def contract_input(
    *,
    patient: Patient,
    encounter: Encounter,
    lesion: Lesion,
    observation: LesionObservation,
    labs: Iterable[LabResult],
    imaging: Iterable[ImagingFinding],
) -> dict[str, Any]:
    history: dict[str, Any] = {name: getattr(patient, name) for name in PATIENT_HISTORY_FLAGS}
    history.update({name: getattr(lesion, name) for name in LESION_HISTORY_FLAGS})
    history.update({name: getattr(encounter, name) for name in VISIT_HISTORY_FLAGS})
    history["gestational_age_weeks"] = _number(patient.gestational_age_weeks)
    found: dict[str, Any] = {"xray": None, "ultrasound": None, "dermoscopy": [],
                             "histology": None}
    for item in imaging:
        if item.modality == "dermoscopy":
            found["dermoscopy"].append(item.finding)
        else:
            found[item.modality] = item.finding
    found["dermoscopy"].sort()
    return {
        "patient": {
            "age_months": age_in_months(patient.date_of_birth, encounter.date),
            "sex": patient.sex,
            "history": history,
        },
        "lesion": {
            "site": lesion.site,
            "heel_subsite": _code(lesion.heel_subsite),
            "laterality": _code(lesion.laterality),
            "count": observation.count,
            "distribution": _code(observation.distribution),
            "largest_diameter_mm": _number(observation.largest_diameter_mm),
            "perpendicular_diameter_mm": _number(observation.perpendicular_diameter_mm),
            "color": _code(observation.color),
            "morphology": _code(observation.morphology),
            "surface": _code(observation.surface),
            "consistency": _code(observation.consistency),
            "features": sorted(observation.features or []),
            "onset_age_months": _number(observation.onset_age_months),
            "duration_weeks": _number(observation.duration_weeks),
            "trend": _code(observation.trend),
        },
        "labs": [
            {"analyte": lab.analyte, "value": float(lab.value), "unit": lab.unit,
             "reference_low": _number(lab.reference_low),
             "reference_high": _number(lab.reference_high)}
            for lab in labs
        ],
        "imaging": found,
    }


def overridden_flag(output: dict[str, Any], management: str) -> dict[str, Any] | None:
    """The most severe urgent or refer red flag that ``management`` would be milder than, or
    None. Overriding to a milder category than such a flag needs the clinician to confirm they
    considered it (the override guard), checked by the form and again by the service."""
    from .engine.vocab import ACTION_TO_MINIMUM_MANAGEMENT, MANAGEMENT_RANK

    if management not in MANAGEMENT_RANK:
        return None
    for action in ("urgent", "refer"):
        for flag in output.get("red_flags", []):
            floor = ACTION_TO_MINIMUM_MANAGEMENT.get(flag["action"])
            if (flag["action"] == action and floor
                    and MANAGEMENT_RANK[management] < MANAGEMENT_RANK[floor]):
                return flag
    return None
