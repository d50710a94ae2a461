"""Synthetic registry data: realistic children with heel (and other) lesions followed over
visits, written with bulk inserts in batches so memory stays bounded whatever the size.

Every assessment is the real engine's output for that observation's contract input, and
follow-ups go through the real course checks, so pages and filters see realistic data.
Historical (audit) rows are not generated: bulk inserts bypass the audit trail by design, and a
registry import would be audited as one event, not as per-field edits.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from . import engine
from .clinical import add_months, age_in_months, contract_input
from .engine.course import CourseContext, Visit, check_course
from .models import (
    Assessment,
    Encounter,
    LabResult,
    Lesion,
    LesionObservation,
    Membership,
    Patient,
    Site,
)

PREFIX = "SYN"
ARCHETYPES = (  # (name, weight)
    ("heel_stick", 60), ("idiopathic", 15), ("wart", 10), ("extravasation", 5),
    ("renal", 3), ("other", 7),
)


@dataclass
class PlannedLesion:
    lesion: Lesion
    archetype: str
    observations: list[LesionObservation] = field(default_factory=list)


def _choice(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    names, weights = zip(*weighted, strict=True)
    return rng.choices(names, weights=weights)[0]


def _history(rng: random.Random, archetype: str) -> dict[str, Any]:
    tri = [True, False, None]
    history = {name: rng.choice(tri) if rng.random() < 0.3 else None for name in (
        "hyperparathyroidism", "vitamin_d_excess", "down_syndrome", "family_history_calcinosis")}
    for name in history:
        if history[name] is True and rng.random() < 0.9:
            history[name] = False  # rare conditions stay rare
    preterm = archetype == "heel_stick" and rng.random() < 0.5
    history.update({
        "preterm_birth": preterm, "nicu_stay": preterm or rng.random() < 0.1,
        "neonatal_heel_sticks": True if archetype == "heel_stick" and rng.random() < 0.6
        else rng.choice([None, None, False]),
        "iv_calcium_received": archetype in ("extravasation", "renal") or (
            False if rng.random() < 0.5 else None),
        "renal_disease": archetype == "renal" or (False if rng.random() < 0.6 else None),
    })
    return history


def plan_patient(rng: random.Random, index: int, site: Site, user: Any, today: date
                 ) -> tuple[Patient, list[Encounter], list[PlannedLesion], list[LabResult]]:
    archetype = _choice(rng, ARCHETYPES)
    visits = rng.randint(1, 6)
    first_age = rng.randint(4, 30) if archetype != "wart" else rng.randint(30, 150)
    gaps = [rng.randint(6, 16) for _ in range(visits - 1)]
    span_days = sum(gaps) * 7
    slack = rng.randint(0, 700)
    first_visit = today - timedelta(days=span_days + slack)
    born = add_months(first_visit, -first_age) - timedelta(days=rng.randint(0, 27))
    history = _history(rng, archetype)
    patient = Patient(site=site, record_number=f"{PREFIX}{index:07d}", date_of_birth=born,
                      sex=rng.choice(["female", "male"]), created_by=user, updated_by=user,
                      gestational_age_weeks=Decimal(rng.randint(26, 36)) if history[
                          "preterm_birth"] else None, **history)
    dates = [first_visit]
    for gap in gaps:
        dates.append(dates[-1] + timedelta(weeks=gap))
    encounters = [Encounter(patient=patient, clinic=site, date=d, patient_born=born,
                            clinician=user,
                            kind="initial" if i == 0 else "follow_up", created_by=user,
                            updated_by=user, fever=False if rng.random() < 0.5 else None,
                            review_status="approved" if d < today - timedelta(days=30)
                            and rng.random() < 0.95 else "pending")
                  for i, d in enumerate(dates)]
    lesions: list[PlannedLesion] = []
    for number in range(rng.randint(1, 4)):
        site_code = "heel" if archetype in ("heel_stick", "extravasation", "renal") or \
            rng.random() < 0.5 else rng.choice(["sole", "ear", "hand", "leg", "face"])
        lesion = Lesion(patient=patient, clinic=site, site=site_code,
                        label=f"lesion {number + 1}",
                        heel_subsite=rng.choice(["lateral", "medial", "posterior", ""])
                        if site_code == "heel" else "",
                        laterality=rng.choice(["left", "right", "bilateral"]),
                        iv_calcium_at_lesion_site=archetype == "extravasation" or None,
                        created_by=user, updated_by=user)
        planned = PlannedLesion(lesion=lesion, archetype=archetype)
        start = 0 if number == 0 else rng.randint(0, len(encounters) - 1)
        size = Decimal(rng.randint(10, 60)) / 10
        for position, encounter in enumerate(encounters[start:]):
            if position == 0:
                status = ""
            else:
                roll = rng.random()
                status = "resolved" if roll < 0.25 else "smaller" if roll < 0.7 else \
                    "present" if roll < 0.9 else "larger"
                size = max(Decimal("0.5"), size + {"smaller": Decimal("-0.8"),
                                                   "larger": Decimal("1.2")}.get(status, 0))
            features = []
            if archetype in ("extravasation", "renal"):
                features = ["erythema_around", "swelling"]
            elif status == "larger" and rng.random() < 0.3:
                features = ["erythema_around"]
            planned.observations.append(LesionObservation(
                lesion=lesion, encounter=encounter, count=rng.choice([1, 1, 1, 2, 3]),
                course_status=status, largest_diameter_mm=None if status == "resolved" else size,
                color="white_yellow" if archetype in ("heel_stick", "idiopathic") else
                rng.choice(["white", "skin_colored", "erythematous"]),
                consistency="firm" if archetype != "wart" else "rubbery",
                surface="verrucous" if archetype == "wart" else "smooth",
                morphology="papule", features=features, created_by=user, updated_by=user,
                onset_age_months=Decimal(max(0, first_age - 1)) if position == 0 else None))
            if status == "resolved":
                lesion.status = "resolved"
                lesion.resolved_on = encounter.date
                break
        lesions.append(planned)
    labs: list[LabResult] = []
    if rng.random() < 0.35 or archetype == "renal":
        high = archetype == "renal"
        for analyte, value in (("calcium_total", Decimal("9.8") if not high else Decimal("8.1")),
                               ("phosphate", Decimal("5.2") if not high else Decimal("9.5")),
                               ("creatinine", Decimal("0.3") if not high else Decimal("3.2"))):
            labs.append(LabResult(encounter=encounters[0], analyte=analyte, value=value,
                                  unit="mg/dL", created_by=user, updated_by=user))
    return patient, encounters, lesions, labs


def _assess(patient: Patient, planned: PlannedLesion, labs_by_encounter: dict[int, list],
            user: Any) -> list[Assessment]:
    """Assess every non-resolved observation and run the course checks on follow-ups."""
    assessments: list[Assessment] = []
    previous_obs, previous_assessment = None, None
    lesion = planned.lesion
    for observation in planned.observations:
        encounter = observation.encounter
        if observation.course_status == "resolved":
            lesion.next_follow_up_due = None
            break
        data = contract_input(patient=patient, encounter=encounter, lesion=lesion,
                              observation=observation,
                              labs=labs_by_encounter.get(id(encounter), []), imaging=[])
        output = engine.assess(data)
        interval = output["follow_up"]["interval_weeks"]
        assessment = Assessment(
            observation=observation, observation_version=1, input_json=data,
            output_json=output, contract_version=output["contract"],
            ruleset_version=output["ruleset_version"],
            age_months=Decimal(str(data["patient"]["age_months"])),
            leading_entity=output["leading_entity"]["code"],
            primary_subtype=next((s["code"] for s in output["subtypes"]
                                  if s["role"] == "primary"), ""),
            management_category=output["management"]["category"],
            calcinosis=output["calcinosis"],
            urgent=any(f["action"] == "urgent" for f in output["red_flags"]),
            follow_up_due=encounter.date + timedelta(weeks=interval), created_by=user)
        if previous_obs is not None and previous_assessment is not None:
            window = previous_assessment.output_json["expected_course"][
                "resolution_expected_by_age_months"]
            flags = check_course(CourseContext(
                previous=_visit(previous_obs, patient), current=_visit(observation, patient),
                expected_window_months=tuple(window) if window else None,
                previous_management=previous_assessment.management_category,
                previous_follow_up_due=previous_assessment.follow_up_due))
            assessment.course_flags = flags
            assessment.atypical_course = bool(flags)
        assessments.append(assessment)
        lesion.next_follow_up_due = assessment.follow_up_due
        lesion.atypical_course = assessment.atypical_course
        previous_obs, previous_assessment = observation, assessment
    return assessments


def _visit(observation: LesionObservation, patient: Patient) -> Visit:
    size = observation.largest_diameter_mm
    return Visit(on=observation.encounter.date,
                 age_months=age_in_months(patient.date_of_birth, observation.encounter.date),
                 status=observation.course_status,
                 largest_diameter_mm=None if size is None else float(size),
                 surface=observation.surface or None, color=observation.color or None,
                 features=frozenset(observation.features))


def copy_insert(model: type, objects: list[Any]) -> None:
    """Insert rows without returning ids. On PostgreSQL this streams them with COPY: quoting
    thousands of 15 kB JSON documents client-side (as a multi-row INSERT does) costs several
    times more than the engine that produced them."""
    from django.db import connection

    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=500)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {table} ({columns}) FROM STDIN") as copy:
        for obj in objects:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection)
                            for f in fields])


def ensure_sites(count: int) -> list[Site]:
    return [Site.objects.get_or_create(code=f"site{n:02d}",
                                       defaults={"name": f"Registry clinic {n:02d}"})[0]
            for n in range(1, count + 1)]


def synth_user() -> Any:
    user, created = get_user_model().objects.get_or_create(
        username="synth", defaults={"is_active": False, "first_name": "Synthetic"})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def generate(patients: int, *, sites: int = 5, batch: int = 1000, seed: int = 2026,
             today: date | None = None, start: int | None = None, worker: int = 0,
             workers: int = 1) -> Iterator[dict[str, int]]:
    """Create ``patients`` synthetic patients, one transaction per batch; yield counts.

    With several workers, worker ``w`` writes batches w, w + workers, …; each batch's random
    stream depends only on its position, so the data is the same however it is split.
    """
    today = today or date.today()
    site_rows = ensure_sites(sites)
    user = synth_user()
    for site in site_rows:
        Membership.objects.get_or_create(user=user, site=site, defaults={"role": "clinician"})
    first = start if start is not None else Patient.objects.filter(
        record_number__startswith=PREFIX).count()
    for number, offset in enumerate(range(0, patients, batch)):
        if number % workers != worker:
            continue
        size = min(batch, patients - offset)
        rng = random.Random(seed * 1_000_003 + first + offset)
        with transaction.atomic():
            yield _write_batch(rng, first + offset, size, site_rows, user, today)


def _write_batch(rng: random.Random, first: int, size: int, sites: list[Site], user: Any,
                 today: date) -> dict[str, int]:
    plans = [plan_patient(rng, first + i, sites[(first + i) % len(sites)], user, today)
             for i in range(size)]
    Patient.objects.bulk_create([plan[0] for plan in plans], batch_size=1000)
    encounters, lesions, observations, labs, assessments = [], [], [], [], []
    for patient, patient_encounters, planned, patient_labs in plans:
        for encounter in patient_encounters:
            encounter.patient = patient  # now with its id
        labs_by_encounter: dict[int, list] = {}
        for lab in patient_labs:
            labs_by_encounter.setdefault(id(lab.encounter), []).append(lab)
        for item in planned:
            item.lesion.patient = patient
            assessments.extend(_assess(patient, item, labs_by_encounter, user))
            lesions.append(item.lesion)
            observations.extend(item.observations)
        encounters.extend(patient_encounters)
        labs.extend(patient_labs)
    Encounter.objects.bulk_create(encounters, batch_size=1000)
    Lesion.objects.bulk_create(lesions, batch_size=1000)
    for observation in observations:
        observation.encounter = observation.encounter  # refresh the id now the row exists
        observation.lesion = observation.lesion
    LesionObservation.objects.bulk_create(observations, batch_size=1000)
    for lab in labs:
        lab.encounter = lab.encounter
    LabResult.objects.bulk_create(labs, batch_size=1000)
    for assessment in assessments:
        assessment.observation = assessment.observation
    copy_insert(Assessment, assessments)
    return {"patients": size, "encounters": len(encounters), "lesions": len(lesions),
            "observations": len(observations), "labs": len(labs),
            "assessments": len(assessments)}
