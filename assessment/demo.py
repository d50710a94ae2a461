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
    CourseStatus,
    Encounter,
    EncounterKind,
    ImagingFinding,
    LabResult,
    Lesion,
    LesionObservation,
    Patient,
    Site,
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


DEMO_SITE = {"code": "demo", "name": "Demo heel clinic"}


def demo_site() -> Site:
    site, _ = Site.objects.get_or_create(code=DEMO_SITE["code"],
                                         defaults={"name": DEMO_SITE["name"]})
    return site


def record_contract_case(*, data: dict[str, Any], record_number: str, born: date, visit: date,
                         label: str, user: AbstractBaseUser, site: Site | None = None
                         ) -> Patient:
    """Create a patient and one initial visit from a contract input."""
    history = data["patient"].get("history") or {}
    lesion_in = data["lesion"]
    with transaction.atomic():
        patient = Patient(site=site or demo_site(), record_number=record_number,
                          date_of_birth=born,
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


@dataclass(frozen=True)
class DemoFollowUp:
    record_number: str
    on: date
    status: str
    changes: dict[str, Any]


# Seed case A: "rechecked after 3 months, showed full resolution" (13 weeks after the first visit).
# DEMO-D: a heel-stick nodule that grows and reddens instead of fading: an atypical course.
DEMO_FOLLOW_UPS = (
    DemoFollowUp("DEMO-A", date(2026, 11, 9), CourseStatus.RESOLVED, {}),
    DemoFollowUp("DEMO-D", date(2026, 8, 3), CourseStatus.LARGER,
                 {"largest_diameter_mm": Decimal(6), "perpendicular_diameter_mm": Decimal(5),
                  "features": ["erythema_around", "tenderness"], "trend": "growing"}),
)
ATYPICAL_CASE = {
    "patient": {"age_months": 14, "sex": "male",
                "history": {"preterm_birth": True, "gestational_age_weeks": 33,
                            "nicu_stay": True, "neonatal_heel_sticks": True,
                            "iv_calcium_received": False, "renal_disease": False}},
    "lesion": {"site": "heel", "heel_subsite": "lateral", "laterality": "left", "count": 1,
               "distribution": "localized", "largest_diameter_mm": 3,
               "perpendicular_diameter_mm": 3, "color": "white", "morphology": "papule",
               "surface": "smooth", "consistency": "hard", "features": [],
               "onset_age_months": 11, "duration_weeks": 12, "trend": "stable"},
    "labs": [], "imaging": {},
}


def record_follow_up(*, patient: Patient, on: date, status: str, changes: dict[str, Any],
                     user: AbstractBaseUser) -> None:
    """A follow-up of the patient's first lesion, copying its last observation plus changes."""
    lesion = patient.lesions.order_by("id").first()
    last = lesion.observations.order_by("-encounter__date", "-id").first()
    fields = {name: getattr(last, name) for name in (
        "count", "distribution", "largest_diameter_mm", "perpendicular_diameter_mm", "color",
        "morphology", "surface", "consistency", "features", "onset_age_months", "trend")}
    fields.update(changes)
    observation = LesionObservation(course_status=status, **fields)
    services.encounter_record(patient=patient,
                              encounter=Encounter(date=on, kind=EncounterKind.FOLLOW_UP),
                              entries=[services.LesionEntry(lesion, observation)], labs=[],
                              imaging=[], user=user)


def _home_site(user: AbstractBaseUser) -> Site:
    """The clinic of a clinician with exactly one clinic, else the demo clinic."""
    sites = list(Site.objects.filter(memberships__user=user,
                                     memberships__role="clinician")[:2])
    return sites[0] if len(sites) == 1 else demo_site()


def load_demo(user: AbstractBaseUser) -> list[str]:
    """Create whatever part of the demo does not exist yet; return what was created."""
    site = _home_site(user)
    created = []
    for case in DEMO_CASES:
        if Patient.objects.filter(record_number=case.record_number).exists():
            continue
        data = json.loads((CASES_DIR / case.file).read_text(encoding="utf-8"))["input"]
        record_contract_case(data=data, record_number=case.record_number, born=case.born,
                             visit=case.visit, label=case.label, user=user, site=site)
        created.append(case.record_number)
    if not Patient.objects.filter(record_number="DEMO-D").exists():
        record_contract_case(data=ATYPICAL_CASE, record_number="DEMO-D", born=date(2025, 3, 1),
                             visit=date(2026, 5, 1), label="left lateral heel nodule",
                             user=user, site=site)
        created.append("DEMO-D")
    for follow_up in DEMO_FOLLOW_UPS:
        patient = Patient.objects.get(record_number=follow_up.record_number)
        if patient.encounters.filter(date=follow_up.on).exists():
            continue
        record_follow_up(patient=patient, on=follow_up.on, status=follow_up.status,
                         changes=follow_up.changes, user=user)
        created.append(f"{follow_up.record_number} follow-up {follow_up.on:%Y-%m-%d}")
    return created
