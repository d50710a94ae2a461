"""Reads, always through the user: every page and API looks records up here, so per-site access
(the trust issue) changes these functions, not the views."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from .models import (
    Assessment,
    AssessmentDecision,
    Encounter,
    Lesion,
    LesionObservation,
    Patient,
)

User = AbstractBaseUser | AnonymousUser


def patients_visible_to(user: User) -> QuerySet[Patient]:
    if not user.is_authenticated or not user.has_perm("assessment.view_patient"):
        return Patient.objects.none()
    return Patient.objects.all()


def patient_list(user: User, query: str = "") -> QuerySet[Patient]:
    patients = patients_visible_to(user).annotate(
        encounter_count=Count("encounters", distinct=True),
        last_visit=Max("encounters__date"),
        active_lesions=Count("lesions", filter=Q(lesions__status="active"), distinct=True),
    )
    query = query.strip()
    if query:
        patients = patients.filter(record_number__icontains=query)
    return patients.order_by("record_number")


def patient_for(user: User, pk: int) -> Patient:
    return get_object_or_404(patients_visible_to(user), pk=pk)


def patient_overview(user: User, pk: int) -> Patient:
    """A patient with encounters (newest first), their observations and assessments, and
    lesions, in a fixed number of queries."""
    latest_first = Assessment.objects.order_by("-created_at", "-id").prefetch_related(
        Prefetch("decisions", queryset=AssessmentDecision.objects.select_related("decided_by")))
    observations = LesionObservation.objects.select_related("lesion").prefetch_related(
        Prefetch("assessments", queryset=latest_first))
    encounters = Encounter.objects.select_related("clinician", "reviewed_by").prefetch_related(
        Prefetch("observations", queryset=observations)).order_by("-date", "-id")
    queryset = patients_visible_to(user).prefetch_related(
        Prefetch("encounters", queryset=encounters),
        Prefetch("lesions", queryset=Lesion.objects.order_by("status", "id")),
    )
    return get_object_or_404(queryset, pk=pk)


def encounter_for(user: User, pk: int) -> Encounter:
    observations = LesionObservation.objects.select_related("lesion").prefetch_related(
        Prefetch("assessments", queryset=Assessment.objects.order_by("-created_at", "-id")))
    queryset = Encounter.objects.filter(patient__in=patients_visible_to(user)).select_related(
        "patient", "clinician", "reviewed_by").prefetch_related(
        Prefetch("observations", queryset=observations), "labs", "imaging")
    return get_object_or_404(queryset, pk=pk)


def assessment_for(user: User, pk: int) -> Assessment:
    queryset = Assessment.objects.filter(
        observation__encounter__patient__in=patients_visible_to(user)
    ).select_related(
        "observation__lesion", "observation__encounter__patient",
        "observation__encounter__clinician", "created_by",
    ).prefetch_related(
        Prefetch("decisions", queryset=AssessmentDecision.objects.select_related("decided_by")))
    return get_object_or_404(queryset, pk=pk)
