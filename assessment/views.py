"""Pages. Thin function views: look up through selectors, validate with forms, write through
services, redirect."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors, services
from .forms import DecisionForm, EncounterEntry, PatientForm, PatientSearchForm, PhotoForm
from .models import LesionStatus
from .presenters import assessment_view_model, timeline_view_model

PAGE_SIZE = 25


def require_perm(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(f"Your account cannot {perm.split('.')[1].replace('_', ' ')}.")


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The worklist: what needs the clinician's attention today."""
    require_perm(request, "assessment.view_patient")
    return render(request, "assessment/worklist.html",
                  selectors.worklist(request.user, timezone.localdate()))


@require_GET
def patient_list(request: HttpRequest) -> HttpResponse:
    require_perm(request, "assessment.view_patient")
    search = PatientSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    page = Paginator(selectors.patient_list(request.user, query), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "assessment/patient_list.html", {
        "page": page, "search": search, "query": query,
        "can_add": request.user.has_perm("assessment.add_patient"),
    })


@require_http_methods(["GET", "POST"])
def patient_create(request: HttpRequest) -> HttpResponse:
    require_perm(request, "assessment.add_patient")
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = services.patient_create(patient=form.save(commit=False), user=request.user)
        messages.success(request, f"Patient {patient.record_number} created.")
        return redirect("patient-detail", pk=patient.pk)
    return render(request, "assessment/patient_form.html", {"form": form, "creating": True},
                  status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    patient = selectors.patient_for(request.user, pk)
    require_perm(request, "assessment.change_patient")
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(patient=form.save(commit=False),
                                    expected_version=form.cleaned_data["version"] or 0,
                                    user=request.user, fields=PatientForm.Meta.fields)
        except services.StaleEdit as stale:
            form.add_error(None, f"This record was changed by {stale.current.updated_by} at "
                                 f"{stale.current.updated_at:%Y-%m-%d %H:%M} after you opened it. "
                                 "Nothing was saved; your values are kept below. Check the "
                                 "record in another tab, then save again to overwrite it.")
            form.data = form.data.copy()
            form.data["version"] = stale.current.version
        else:
            messages.success(request, f"Patient {patient.record_number} saved.")
            return redirect("patient-detail", pk=patient.pk)
    return render(request, "assessment/patient_form.html",
                  {"form": form, "patient": patient, "creating": False},
                  status=400 if request.method == "POST" else 200)


@require_GET
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = selectors.patient_overview(request.user, pk)
    lesions = list(patient.lesions.all())
    return render(request, "assessment/patient_detail.html", {
        "patient": patient,
        "encounters": patient.encounters.all(),
        "active_lesions": [x for x in lesions if x.status == LesionStatus.ACTIVE],
        "resolved_lesions": [x for x in lesions if x.status == LesionStatus.RESOLVED],
        "can_add": request.user.has_perm("assessment.add_encounter"),
        "can_edit": request.user.has_perm("assessment.change_patient"),
    })


@require_http_methods(["GET", "POST"])
def encounter_create(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = selectors.patient_for(request.user, patient_pk)
    require_perm(request, "assessment.add_encounter")
    entry = EncounterEntry(request.POST or None, patient=patient)
    if request.method == "POST" and entry.is_valid():
        encounter = services.encounter_record(
            patient=patient, encounter=entry.encounter, entries=entry.entries,
            labs=[lab for _, lab in entry.lab_rows], imaging=entry.imaging_items,
            user=request.user)
        observations = list(encounter.observations.all())
        if len(observations) == 1:
            return redirect("assessment-detail", pk=observations[0].assessments.get().pk)
        return redirect("encounter-detail", pk=encounter.pk)
    return render(request, "assessment/encounter_form.html", {"patient": patient, "entry": entry},
                  status=400 if request.method == "POST" else 200)


@require_GET
def encounter_detail(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_for(request.user, pk)
    return render(request, "assessment/encounter_detail.html", {"encounter": encounter})


@require_GET
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = selectors.assessment_for(request.user, pk)
    return render(request, "assessment/assessment_detail.html", {
        "assessment": assessment,
        "view": assessment_view_model(assessment),
        "decision_form": DecisionForm(),
        "can_decide": request.user.has_perm("assessment.add_assessmentdecision"),
    })


@require_POST
def assessment_decide(request: HttpRequest, pk: int) -> HttpResponse:
    assessment = selectors.assessment_for(request.user, pk)
    require_perm(request, "assessment.add_assessmentdecision")
    form = DecisionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        services.assessment_decide(
            assessment=assessment, decision=data["decision"],
            final_subtypes=data.get("final_subtypes") or [],
            final_entity=data.get("final_entity") or "",
            final_management=data.get("final_management") or "", reason=data.get("reason") or "",
            user=request.user)
        messages.success(request, "Your decision is recorded beside the engine's assessment.")
        return redirect(reverse("assessment-detail", kwargs={"pk": pk}) + "#decision")
    return render(request, "assessment/assessment_detail.html", {
        "assessment": assessment, "view": assessment_view_model(assessment),
        "decision_form": form, "can_decide": True,
    }, status=400)


@require_http_methods(["GET", "POST"])
def follow_up_create(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = selectors.patient_for(request.user, patient_pk)
    require_perm(request, "assessment.add_encounter")
    candidates = selectors.follow_up_candidates(request.user, patient)
    if not candidates:
        messages.info(request, "This patient has no active lesion to follow up.")
        return redirect("patient-detail", pk=patient.pk)
    only = request.GET.get("lesion")
    follow_up = [(lesion, last, not only or str(lesion.pk) == only) for lesion, last in candidates]
    entry = EncounterEntry(request.POST or None, patient=patient, follow_up=follow_up)
    if request.method == "POST" and entry.is_valid():
        services.encounter_record(
            patient=patient, encounter=entry.encounter, entries=entry.entries,
            labs=[lab for _, lab in entry.lab_rows], imaging=entry.imaging_items,
            user=request.user)
        first = entry.entries[0].lesion
        messages.success(request, "Follow-up recorded.")
        return redirect("lesion-timeline", pk=first.pk)
    return render(request, "assessment/encounter_form.html",
                  {"patient": patient, "entry": entry},
                  status=400 if request.method == "POST" else 200)


@require_GET
def lesion_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    lesion = selectors.lesion_timeline(request.user, pk)
    return render(request, "assessment/lesion_timeline.html", {
        "lesion": lesion, "view": timeline_view_model(lesion), "photo_form": PhotoForm(),
        "can_add": request.user.has_perm("assessment.add_encounter"),
    })


@require_POST
def photo_upload(request: HttpRequest, observation_pk: int) -> HttpResponse:
    observation = selectors.observation_for(request.user, observation_pk)
    require_perm(request, "assessment.change_lesionobservation")
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        services.photo_attach(observation=observation, photo=form.cleaned_photo,
                              caption=form.cleaned_data["caption"], user=request.user)
        messages.success(request, "Photo attached (location and camera data removed).")
        return redirect("lesion-timeline", pk=observation.lesion_id)
    lesion = selectors.lesion_timeline(request.user, observation.lesion_id)
    return render(request, "assessment/lesion_timeline.html", {
        "lesion": lesion, "view": timeline_view_model(lesion), "photo_form": form,
        "photo_observation": observation.pk,
        "can_add": request.user.has_perm("assessment.add_encounter"),
    }, status=400)


@require_GET
def photo_view(request: HttpRequest, pk: int) -> FileResponse:
    photo = selectors.photo_for(request.user, pk)
    response = FileResponse(photo.image.open("rb"), content_type=photo.content_type)
    response["Content-Disposition"] = f'inline; filename="photo-{photo.pk}.' \
                                       f'{"jpg" if photo.image_format == "JPEG" else "png"}"'
    response["Cache-Control"] = "private, no-store"
    return response
