"""Demo records built from the seed cases (contract inputs) through the same services the pages
use, so the demo shows exactly what a clinician entering the case would get."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from . import services
from .models import (
    LESION_HISTORY_FLAGS,
    PATIENT_HISTORY_FLAGS,
    VISIT_HISTORY_FLAGS,
    Encounter,
    EncounterKind,
    ImagingFinding,
    LabResult,
    Lesion,
    LesionObservation,
    Patient,
)

CASES_DIR = Path(__file__).parent / "demo_cases"


@dataclass(frozen=True)
class DemoCase:
    file: str
    record_number: str
    born: date
    visit: date
    label: str


DEMO_CASES = (
    DemoCase("seed_case_a_pearl_like_heel_nodule.json", "DEMO-A", date(2025, 8, 10),
             date(2026, 8, 10), "right lateral heel nodule"),
    DemoCase("seed_case_b_extravasation_renal_failure.json", "DEMO-B", date(2025, 4, 15),
             date(2026, 9, 15), "left heel plaque at the infusion site"),
    DemoCase("seed_case_c_heel_stick_nodules.json", "DEMO-C", date(2026, 2, 1),
             date(2026, 10, 1), "medial heel nodules, both heels"),
)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def record_contract_case(*, data: dict[str, Any], record_number: str, born: date, visit: date,
                         label: str, user: AbstractBaseUser) -> Patient:
    """Create a patient and one initial visit from a contract input."""
    history = data["patient"].get("history") or {}
    lesion_in = data["lesion"]
    with transaction.atomic():
        patient = Patient(record_number=record_number, date_of_birth=born,
                          sex=data["patient"]["sex"],
                          gestational_age_weeks=_decimal(history.get("gestational_age_weeks")),
                          **{name: history.get(name) for name in PATIENT_HISTORY_FLAGS})
        services.patient_create(patient=patient, user=user)
        encounter = Encounter(date=visit, kind=EncounterKind.INITIAL,
                              **{name: history.get(name) for name in VISIT_HISTORY_FLAGS})
        lesion = Lesion(label=label, site=lesion_in["site"],
                        heel_subsite=lesion_in.get("heel_subsite") or "",
                        laterality=lesion_in.get("laterality") or "",
                        **{name: history.get(name) for name in LESION_HISTORY_FLAGS})
        observation = LesionObservation(
            count=lesion_in["count"],
            distribution=lesion_in.get("distribution") or "",
            largest_diameter_mm=_decimal(lesion_in.get("largest_diameter_mm")),
            perpendicular_diameter_mm=_decimal(lesion_in.get("perpendicular_diameter_mm")),
            color=lesion_in.get("color") or "", morphology=lesion_in.get("morphology") or "",
            surface=lesion_in.get("surface") or "",
            consistency=lesion_in.get("consistency") or "",
            features=sorted(lesion_in.get("features") or []),
            onset_age_months=_decimal(lesion_in.get("onset_age_months")),
            duration_weeks=_decimal(lesion_in.get("duration_weeks")),
            trend=lesion_in.get("trend") or "")
        labs = [LabResult(analyte=row["analyte"], value=_decimal(row["value"]), unit=row["unit"],
                          reference_low=_decimal(row.get("reference_low")),
                          reference_high=_decimal(row.get("reference_high")))
                for row in data.get("labs") or []]
        imaging_in = data.get("imaging") or {}
        imaging = [ImagingFinding(modality=m, finding=imaging_in[m])
                   for m in ("xray", "ultrasound", "histology") if imaging_in.get(m)]
        imaging += [ImagingFinding(modality="dermoscopy", finding=code)
                    for code in imaging_in.get("dermoscopy") or []]
        services.encounter_record(patient=patient, encounter=encounter,
                                  entries=[services.LesionEntry(lesion, observation)], labs=labs,
                                  imaging=imaging, user=user)
    return patient


def load_demo(user: AbstractBaseUser) -> list[str]:
    """Create the demo patients that do not exist yet; return the record numbers created."""
    created = []
    for case in DEMO_CASES:
        if Patient.objects.filter(record_number=case.record_number).exists():
            continue
        data = json.loads((CASES_DIR / case.file).read_text(encoding="utf-8"))["input"]
        record_contract_case(data=data, record_number=case.record_number, born=case.born,
                             visit=case.visit, label=case.label, user=user)
        created.append(case.record_number)
    return created
