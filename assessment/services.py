"""Writes. Each function is one clinical action, atomic: it saves everything or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F

from . import engine
from .clinical import age_in_months, contract_input
from .models import (
    Assessment,
    AssessmentDecision,
    Decision,
    Encounter,
    ImagingFinding,
    LabResult,
    Lesion,
    LesionObservation,
    Patient,
)


class StaleEdit(Exception):
    """The record changed since the form was opened; nothing was saved."""

    def __init__(self, current: Any) -> None:
        self.current = current
        super().__init__("the record was changed by someone else")


def _stamp(instance: Any, user: AbstractBaseUser, *, new: bool) -> None:
    if new:
        instance.created_by = user
    instance.updated_by = user


@transaction.atomic
def patient_create(*, patient: Patient, user: AbstractBaseUser) -> Patient:
    _stamp(patient, user, new=True)
    patient.version = 1
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, expected_version: int, user: AbstractBaseUser,
                   fields: Sequence[str]) -> Patient:
    """Save edited fields unless someone saved the patient since ``expected_version``."""
    current = Patient.objects.select_for_update().get(pk=patient.pk)
    if current.version != expected_version:
        raise StaleEdit(current)
    _stamp(patient, user, new=False)
    patient.version = current.version + 1
    patient.full_clean()
    patient.save(update_fields=[*fields, "version", "updated_by", "updated_at"])
    return patient


@dataclass
class LesionEntry:
    lesion: Lesion
    observation: LesionObservation


def encounter_record(
    *,
    patient: Patient,
    encounter: Encounter,
    entries: Sequence[LesionEntry],
    labs: Sequence[LabResult],
    imaging: Sequence[ImagingFinding],
    user: AbstractBaseUser,
) -> Encounter:
    """Save a visit with its lesions, observations, labs and imaging, then assess each
    observation. The caller has validated everything (forms and engine); if anything still
    fails here, the transaction leaves no half-saved record."""
    with transaction.atomic():
        encounter.patient = patient
        encounter.clinician = user
        _stamp(encounter, user, new=True)
        encounter.full_clean()
        encounter.save()
        for lab in labs:
            lab.encounter = encounter
            _stamp(lab, user, new=True)
        LabResult.objects.bulk_create(labs)
        for item in imaging:
            item.encounter = encounter
            _stamp(item, user, new=True)
        ImagingFinding.objects.bulk_create(imaging)
        for entry in entries:
            lesion, observation = entry.lesion, entry.observation
            if lesion.pk is None:
                lesion.patient = patient
                _stamp(lesion, user, new=True)
                lesion.full_clean()
                lesion.save()
            observation.lesion = lesion
            observation.encounter = encounter
            _stamp(observation, user, new=True)
            observation.full_clean()
            observation.save()
            assessment_run(patient=patient, encounter=encounter, lesion=lesion,
                           observation=observation, labs=labs, imaging=imaging, user=user)
    return encounter


def assessment_run(*, patient: Patient, encounter: Encounter, lesion: Lesion,
                   observation: LesionObservation, labs: Sequence[LabResult],
                   imaging: Sequence[ImagingFinding], user: AbstractBaseUser) -> Assessment:
    """Run the engine on one observation and store input, output and ruleset version."""
    data = contract_input(patient=patient, encounter=encounter, lesion=lesion,
                          observation=observation, labs=labs, imaging=imaging)
    output = engine.assess(data)
    primary = next((s["code"] for s in output["subtypes"] if s["role"] == "primary"), "")
    interval = output["follow_up"]["interval_weeks"]
    return Assessment.objects.create(
        observation=observation,
        observation_version=observation.version,
        input_json=data,
        output_json=output,
        contract_version=output["contract"],
        ruleset_version=output["ruleset_version"],
        age_months=age_in_months(patient.date_of_birth, encounter.date),
        leading_entity=output["leading_entity"]["code"],
        primary_subtype=primary,
        management_category=output["management"]["category"],
        calcinosis=output["calcinosis"],
        urgent=any(flag["action"] == "urgent" for flag in output["red_flags"]),
        follow_up_due=encounter.date + timedelta(weeks=interval),
        created_by=user,
    )


@transaction.atomic
def assessment_decide(*, assessment: Assessment, decision: str, final_subtypes: list[str],
                      final_entity: str, final_management: str, reason: str,
                      user: AbstractBaseUser) -> AssessmentDecision:
    """Record the clinician's decision. Agreeing copies the engine's reading; an override keeps
    the engine's output untouched beside the clinician's reading and reason."""
    output = assessment.output_json
    if decision == Decision.AGREE:
        final_subtypes = [s["code"] for s in output["subtypes"] if s["role"] != "alternative"]
        final_entity = output["leading_entity"]["code"]
        final_management = output["management"]["category"]
    row = AssessmentDecision(assessment=assessment, decision=decision,
                             final_subtypes=final_subtypes, final_entity=final_entity,
                             final_management=final_management, reason=reason.strip(),
                             decided_by=user)
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def encounter_review(*, encounter: Encounter, status: str, comment: str,
                     user: AbstractBaseUser) -> Encounter:
    from django.utils import timezone

    encounter.review_status = status
    encounter.review_comment = comment
    encounter.reviewed_by = user
    encounter.reviewed_at = timezone.now()
    encounter.version = F("version") + 1
    encounter.save(update_fields=["review_status", "review_comment", "reviewed_by",
                                  "reviewed_at", "version", "updated_at"])
    encounter.refresh_from_db(fields=["version"])
    return encounter
