"""Reads, always through the user: every page and API looks records up here, so per-site access
(the trust issue) changes these functions, not the views."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from . import access
from .models import (
    Assessment,
    AssessmentDecision,
    Encounter,
    Lesion,
    LesionObservation,
    LesionStatus,
    Patient,
    Photo,
    ReviewStatus,
)

WORKLIST_LIMIT = 25
COUNT_CAP = 1000  # the worklist says "1000+" rather than count a registry's backlog

User = AbstractBaseUser | AnonymousUser


def patients_visible_to(user: User) -> QuerySet[Patient]:
    """Every patient of the user's sites, archived ones included (their pages stay readable;
    lists and the worklist leave them out)."""
    if not user.is_authenticated:
        return Patient.objects.none()
    allowed = access.site_ids(user, access.VIEW)
    if allowed is None:
        return Patient.objects.all()
    return Patient.objects.filter(site_id__in=allowed)


def patient_list(user: User, query: str = "") -> QuerySet[Patient]:
    """The patients to list, ordered; cheap to count. Summaries are added per page by
    ``patient_list_summaries`` (annotating before paginating would make the count aggregate
    every visit and lesion of the registry)."""
    patients = patients_visible_to(user).filter(archived_at__isnull=True)
    query = query.strip()
    if query:
        patients = patients.filter(record_number__icontains=query)
    return patients.order_by("record_number", "id")


def patient_list_summaries(rows: list[Patient]) -> list[Patient]:
    """The page's patients with visit count, last visit and active lesions, in one query."""
    summaries = Patient.objects.filter(pk__in=[row.pk for row in rows]).select_related(
        "site").annotate(
        encounter_count=Count("encounters", distinct=True),
        last_visit=Max("encounters__date"),
        active_lesions=Count("lesions", filter=Q(lesions__status="active"), distinct=True),
    ).in_bulk()
    return [summaries[row.pk] for row in rows]


def patient_for(user: User, pk: int) -> Patient:
    return get_object_or_404(patients_visible_to(user).select_related("site"), pk=pk)


def patient_overview(user: User, pk: int) -> Patient:
    """A patient with encounters (newest first), their observations and assessments, and
    lesions, in a fixed number of queries."""
    latest_first = Assessment.objects.order_by("-created_at", "-id").prefetch_related(
        Prefetch("decisions", queryset=AssessmentDecision.objects.select_related("decided_by")))
    observations = LesionObservation.objects.select_related("lesion").prefetch_related(
        Prefetch("assessments", queryset=latest_first))
    encounters = Encounter.objects.select_related("clinician", "reviewed_by").prefetch_related(
        Prefetch("observations", queryset=observations)).order_by("-date", "-id")
    queryset = patients_visible_to(user).select_related("site", "archived_by").prefetch_related(
        Prefetch("encounters", queryset=encounters),
        Prefetch("lesions", queryset=Lesion.objects.order_by("status", "id")),
    )
    return get_object_or_404(queryset, pk=pk)


def encounter_for(user: User, pk: int) -> Encounter:
    observations = LesionObservation.objects.select_related("lesion").prefetch_related(
        Prefetch("assessments", queryset=Assessment.objects.order_by("-created_at", "-id")))
    queryset = Encounter.objects.filter(patient__in=patients_visible_to(user)).select_related(
        "patient__site", "clinician", "reviewed_by").prefetch_related(
        Prefetch("observations", queryset=observations), "labs", "imaging")
    return get_object_or_404(queryset, pk=pk)


def assessment_for(user: User, pk: int) -> Assessment:
    queryset = Assessment.objects.filter(
        observation__encounter__patient__in=patients_visible_to(user)
    ).select_related(
        "observation__lesion", "observation__encounter__patient__site",
        "observation__encounter__clinician", "created_by",
    ).prefetch_related(
        Prefetch("decisions", queryset=AssessmentDecision.objects.select_related("decided_by")))
    return get_object_or_404(queryset, pk=pk)


def lesions_visible_to(user: User) -> QuerySet[Lesion]:
    if not user.is_authenticated:
        return Lesion.objects.none()
    allowed = access.site_ids(user, access.VIEW)
    if allowed is None:
        return Lesion.objects.all()
    return Lesion.objects.filter(clinic_id__in=allowed)


def lesion_timeline(user: User, pk: int) -> Lesion:
    """A lesion with every observation in visit order, their assessments and photos."""
    observations = LesionObservation.objects.select_related("encounter").prefetch_related(
        Prefetch("assessments", queryset=Assessment.objects.order_by("-created_at", "-id")),
        Prefetch("photos", queryset=Photo.objects.order_by("id")),
    ).order_by("encounter__date", "id")
    queryset = lesions_visible_to(user).select_related("patient__site").prefetch_related(
        Prefetch("observations", queryset=observations))
    return get_object_or_404(queryset, pk=pk)


def follow_up_candidates(user: User, patient: Patient
                         ) -> list[tuple[Lesion, LesionObservation | None]]:
    """The patient's active lesions, each with its latest observation (for prefilling)."""
    observations = LesionObservation.objects.select_related("encounter").order_by(
        "-encounter__date", "-id")
    lesions = lesions_visible_to(user).filter(patient=patient, status=LesionStatus.ACTIVE
                                              ).prefetch_related(
        Prefetch("observations", queryset=observations)).order_by("id")
    return [(lesion, next(iter(lesion.observations.all()), None)) for lesion in lesions]


def observation_for(user: User, pk: int) -> LesionObservation:
    queryset = LesionObservation.objects.filter(
        lesion__in=lesions_visible_to(user)).select_related(
        "lesion", "encounter__patient__site", "updated_by")
    return get_object_or_404(queryset, pk=pk)


def photo_for(user: User, pk: int) -> Photo:
    queryset = Photo.objects.filter(
        observation__lesion__patient__in=patients_visible_to(user))
    return get_object_or_404(queryset, pk=pk)


def assessments_for_export(user: User) -> QuerySet[Assessment]:
    """Every assessment of the user's sites, with what a data manager needs, in one query."""
    return Assessment.objects.filter(
        observation__encounter__patient__in=patients_visible_to(user)
    ).select_related(
        "observation__lesion", "observation__encounter__patient__site",
    ).order_by("observation__encounter__patient__record_number", "observation__encounter__date",
               "id")


def patient_history(user: User, pk: int) -> tuple[Patient, list[dict[str, Any]]]:
    """The audit trail of a patient's record: every historical row of the patient and of its
    visits, lesions, observations, labs, imaging, assessments, decisions and photos, newest
    first, each with who, when and which fields changed. One query per record type."""
    from .models import AssessmentDecision as Decision
    from .models import ImagingFinding, LabResult

    patient = patient_for(user, pk)
    sources = [
        ("Patient", Patient.history.filter(id=patient.pk)),
        ("Visit", Encounter.history.filter(patient_id=patient.pk)),
        ("Lesion", Lesion.history.filter(patient_id=patient.pk)),
        ("Observation", LesionObservation.history.filter(
            lesion_id__in=Lesion.objects.filter(patient=patient).values("id"))),
        ("Lab result", LabResult.history.filter(
            encounter_id__in=Encounter.objects.filter(patient=patient).values("id"))),
        ("Imaging", ImagingFinding.history.filter(
            encounter_id__in=Encounter.objects.filter(patient=patient).values("id"))),
        ("Assessment", Assessment.history.filter(
            observation__encounter__patient=patient)),
        ("Decision", Decision.history.filter(
            assessment__observation__encounter__patient=patient)),
        ("Photo", Photo.history.filter(observation__encounter__patient=patient)),
    ]
    entries: list[dict[str, Any]] = []
    for label, rows in sources:
        previous: dict[int, Any] = {}
        for row in rows.select_related("history_user").order_by("id", "history_date",
                                                                 "history_id"):
            before = previous.get(row.id)
            entries.append({"kind": label, "object_id": row.id, "row": row,
                            "change": {"+": "created", "~": "changed", "-": "deleted"}[
                                row.history_type],
                            "fields": _changed_fields(before, row)})
            previous[row.id] = row
    entries.sort(key=lambda e: (e["row"].history_date, e["row"].history_id), reverse=True)
    return patient, entries


_UNTRACKED = {"history_id", "history_date", "history_change_reason", "history_type",
              "history_user", "history_user_id", "updated_at", "version", "created_at",
              "updated_by", "updated_by_id", "created_by", "created_by_id"}


def _changed_fields(before: Any, after: Any) -> list[dict[str, Any]]:
    fields = [f for f in after._meta.concrete_fields if f.attname not in _UNTRACKED]
    changes = []
    for field in fields:
        new = getattr(after, field.attname)
        old = None if before is None else getattr(before, field.attname)
        if before is None:
            if new not in (None, "", [], False):
                changes.append({"field": field.verbose_name, "old": None, "new": new})
        elif old != new:
            changes.append({"field": field.verbose_name, "old": old, "new": new})
    return changes


WORKLIST_CACHE_SECONDS = 300


def worklist(user: User, today: date) -> dict[str, Any]:
    """The worklist, computed once per user, day and change of the registry.

    Every write that alters it bumps a counter in the same transaction (services.
    worklist_changed), and the cache key includes that counter, so a cached worklist is never
    stale, in any server process; views between writes cost one small query.
    """
    from django.core.cache import cache

    from .models import ChangeCounter

    generation = ChangeCounter.objects.filter(name="worklist").values_list(
        "value", flat=True).first() or 0
    sites = access.site_ids(user, access.VIEW)
    scope = "all" if sites is None else "-".join(map(str, sites))
    key = f"worklist:{user.pk}:{scope}:{today.isoformat()}:{generation}"
    context = cache.get(key)
    if context is None:
        context = _worklist(user, today)
        cache.set(key, context, WORKLIST_CACHE_SECONDS)
    return context


def _worklist(user: User, today: date) -> dict[str, Any]:
    """What needs attention: follow-ups due this week and overdue, lesions with an atypical
    course, visits awaiting review. A fixed number of queries whatever the registry size.

    The most visited page, so rows are plain dictionaries with only what is shown (building
    full model rows cost more than the queries). Archived patients' lesions carry no due date
    and no atypical flag (archiving clears them), so no join on the archive is needed.
    """
    from django.urls import reverse

    active = lesions_visible_to(user).filter(status=LesionStatus.ACTIVE)
    week_end = today + timedelta(days=7)
    due = active.filter(next_follow_up_due__gte=today, next_follow_up_due__lt=week_end)
    overdue = active.filter(next_follow_up_due__lt=today)
    atypical = active.filter(atypical_course=True)
    allowed = access.site_ids(user, access.VIEW)
    review = Encounter.objects.filter(review_status=ReviewStatus.PENDING,
                                      patient__archived_at__isnull=True)
    if allowed is not None:
        review = review.filter(clinic_id__in=allowed)
    lesion_url = reverse("lesion-timeline", args=[0])[:-2]  # "/lesions/"
    encounter_url = reverse("encounter-detail", args=[0])[:-2]

    def lesions(queryset: QuerySet) -> list[dict[str, Any]]:
        rows = queryset.order_by("next_follow_up_due", "id").values(
            "id", "label", "site", "heel_subsite", "laterality", "next_follow_up_due",
            "patient__record_number")[:WORKLIST_LIMIT]
        return [{"url": f"{lesion_url}{row['id']}/", "record": row["patient__record_number"],
                 "title": row["label"] or " ".join(filter(None, (
                     row["laterality"], row["heel_subsite"], row["site"]))).replace("_", " "),
                 "due": row["next_follow_up_due"]} for row in rows]

    visits = [{"url": f"{encounter_url}{row['id']}/", "record": row["patient__record_number"],
               "date": row["date"], "kind": row["kind"].replace("_", "-"),
               "clinician": " ".join(filter(None, (row["clinician__first_name"],
                                                   row["clinician__last_name"])))
               or row["clinician__username"]}
              for row in review.order_by("date", "id").values(
                  "id", "date", "kind", "patient__record_number", "clinician__username",
                  "clinician__first_name", "clinician__last_name")[:WORKLIST_LIMIT]]
    return {
        "today": today,
        "week_end": week_end - timedelta(days=1),
        "count_cap": COUNT_CAP,
        "due": lesions(due), "due_count": _capped_count(due),
        "overdue": lesions(overdue), "overdue_count": _capped_count(overdue),
        "atypical": lesions(atypical), "atypical_count": _capped_count(atypical),
        "review": visits, "review_count": _capped_count(review),
    }


def _capped_count(queryset: QuerySet) -> int:
    """Exact up to COUNT_CAP, then COUNT_CAP + 1 (shown as "1000+"): bounded work."""
    return queryset.order_by()[:COUNT_CAP + 1].count()
