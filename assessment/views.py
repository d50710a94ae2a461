"""Pages. Thin function views: look up through selectors (another site's record is a 404),
check the role at the record's site (a refused write is a 403), validate with forms, write
through services, redirect.

Every view declares its methods and whether it writes with ``@page``; the URL-configuration
tests read those declarations, so a new page is covered by them without a new test.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from . import access, engine, selectors, services
from .forms import (
    DecisionForm,
    EncounterEntry,
    ObservationEditForm,
    PatientForm,
    PatientSearchForm,
    PhotoForm,
)
from .handout import handout_for, offer_for
from .history_text import history_entries
from .models import ExportKind, LesionStatus
from .pagination import NearEndPaginator
from .presenters import (
    assessment_body_html,
    assessment_view_model,
    patient_chart_view_model,
    patient_list_rows,
    timeline_view_model,
    worklist_sections_html,
)
from .replica import on_replica, replica_reads
from .text import spreadsheet_safe

PAGE_SIZE = 25


def page(*methods: str, writes: bool = False,
         needs: str = access.VIEW) -> Callable[[Callable], Callable]:
    """``needs``: the action the view checks (access.REPORT for clinic-wide exports and
    outcomes); the access matrix reads it to know who must be refused."""
    def decorate(view: Callable) -> Callable:
        wrapped = require_http_methods(list(methods))(view)
        wrapped.allowed_methods = methods  # type: ignore[attr-defined]
        wrapped.writes = writes  # type: ignore[attr-defined]
        wrapped.needs = access.WRITE if writes else needs  # type: ignore[attr-defined]
        return wrapped
    return decorate


def _logged(request: HttpRequest, patient_id: int) -> None:
    services.record_view(user=request.user, patient_id=patient_id, path=request.path)


@page("GET")
def ping(request: HttpRequest) -> HttpResponse:
    """The smallest logged-in page: the floor for performance comparisons (same middleware,
    session and authentication as every page, no clinical query)."""
    return HttpResponse("ok", content_type="text/plain")


@page("GET")
def home(request: HttpRequest) -> HttpResponse:
    """The worklist: what needs the clinician's attention today, in their sites."""
    context = selectors.worklist(request.user, timezone.localdate())
    return render(request, "assessment/worklist.html",
                  {**context, "sections_html": worklist_sections_html(context)})


@page("GET")
def patient_list(request: HttpRequest) -> HttpResponse:
    search = PatientSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    page_obj = NearEndPaginator(selectors.patient_list(request.user, query),
                                PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "assessment/patient_list.html", {
        "page": page_obj, "search": search, "query": query,
        "patients": patient_list_rows(selectors.patient_list_summaries(
            list(page_obj.object_list))),
        "can_add": access.can_anywhere(request.user, access.WRITE),
    })


@page("GET", "POST", writes=True)
def patient_create(request: HttpRequest) -> HttpResponse:
    access.require_anywhere(request.user, access.WRITE)
    form = PatientForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        patient = services.patient_create(patient=form.save(commit=False), user=request.user)
        messages.success(request, f"Patient {patient.record_number} created.")
        return redirect("patient-detail", patient_pk=patient.pk)
    return render(request, "assessment/patient_form.html", {"form": form, "creating": True},
                  status=400 if request.method == "POST" else 200)


def _require_open(request: HttpRequest, patient: Any) -> None:
    """The role is checked here (403). An archived record is refused here only when a form is
    opened: a submitted form goes on to its service, which refuses it under the row lock with
    a message on the form and everything typed kept (409), whether the record was archived
    before the form was sent or while it was being saved."""
    access.require(request.user, access.WRITE, patient.site_id)
    if patient.archived_at is not None and request.method in ("GET", "HEAD"):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("This record is archived: it can be read but not changed.")


@page("GET", "POST", writes=True)
def patient_edit(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = selectors.patient_for(request.user, patient_pk)
    _require_open(request, patient)
    form = PatientForm(request.POST or None, instance=patient, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(patient=form.save(commit=False),
                                    expected_version=form.cleaned_data["version"] or 0,
                                    user=request.user, fields=PatientForm.Meta.fields)
        except services.StaleEdit as stale:
            form.add_error(None, _stale_message(stale))
            form.data = form.data.copy()
            form.data["version"] = stale.current.version
        except services.Conflict as conflict:
            form.add_error(None, str(conflict))
        else:
            messages.success(request, f"Patient {patient.record_number} saved.")
            return redirect("patient-detail", patient_pk=patient.pk)
    return render(request, "assessment/patient_form.html",
                  {"form": form, "patient": patient, "creating": False},
                  status=400 if request.method == "POST" else 200)


def _stale_message(stale: services.StaleEdit) -> str:
    current = stale.current
    return (f"This record was changed by {current.updated_by} at "
            f"{timezone.localtime(current.updated_at):%Y-%m-%d %H:%M} after you opened it. "
            "Nothing was saved and nothing was overwritten; your values are kept below. Check "
            "the current record (open it in another tab), then save again to replace it.")


@page("POST", writes=True)
def patient_archive(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = selectors.patient_for(request.user, patient_pk)
    _require_open(request, patient)
    try:
        services.patient_archive(patient=patient, user=request.user)
    except services.Conflict as conflict:
        messages.error(request, str(conflict))
        return redirect("patient-detail", patient_pk=patient.pk)
    messages.success(request, f"Patient {patient.record_number} archived. The record and its "
                              "history are kept and remain readable.")
    return redirect("patient-detail", patient_pk=patient.pk)


@page("GET")
def patient_detail(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = selectors.patient_overview(request.user, patient_pk)
    _logged(request, patient.pk)
    writable = access.can(request.user, access.WRITE, patient.site_id) and \
        patient.archived_at is None
    return render(request, "assessment/patient_detail.html", {
        "patient": patient,
        "chart": patient_chart_view_model(patient, timezone.localdate()),
        "can_add": writable, "can_edit": writable,
    })


@page("GET")
def patient_history(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient, fetched, names = selectors.patient_history(request.user, patient_pk)
    entries = history_entries(fetched, names)
    _logged(request, patient.pk)
    return render(request, "assessment/patient_history.html",
                  {"patient": patient, "entries": entries})


@page("GET", "POST", writes=True)
def encounter_create(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = selectors.patient_for(request.user, patient_pk)
    _require_open(request, patient)
    entry = EncounterEntry(request.POST or None, patient=patient)
    if request.method == "POST" and entry.is_valid():
        encounter, refused = _record(request, patient, entry)
        if refused is not None:
            return refused
        observations = list(encounter.observations.all())
        if len(observations) == 1:
            return redirect("assessment-detail",
                            assessment_pk=observations[0].assessments.get().pk)
        return redirect("encounter-detail", encounter_pk=encounter.pk)
    return render(request, "assessment/encounter_form.html", {"patient": patient, "entry": entry},
                  status=400 if request.method == "POST" else 200)


def _record(request: HttpRequest, patient: Any, entry: EncounterEntry
            ) -> tuple[Any, HttpResponse | None]:
    """Save a validated visit page (first visit or follow-up) through the service.

    Returns the visit, or the response to send instead: the saved visit when the form was
    submitted twice, or the form again (409, everything entered kept) when the service found,
    under its lock, that a precondition no longer holds.
    """
    try:
        encounter = services.encounter_record(
            patient=patient, encounter=entry.encounter, entries=entry.entries,
            labs=[lab for _, lab in entry.lab_rows], imaging=entry.imaging_items,
            user=request.user,
            submission_token=entry.encounter_form.cleaned_data.get("submission_token"),
            validated=entry.validated)
    except services.DuplicateSubmission as duplicate:
        messages.info(request, "This visit form was already submitted; the visit was saved "
                               "once and is shown here.")
        return None, redirect("encounter-detail", encounter_pk=duplicate.existing.pk)
    except services.Conflict as conflict:
        entry.page_errors.append(str(conflict))
        return None, render(request, "assessment/encounter_form.html",
                            {"patient": patient, "entry": entry}, status=409)
    return encounter, None


@page("GET")
def encounter_detail(request: HttpRequest, encounter_pk: int) -> HttpResponse:
    encounter = selectors.encounter_for(request.user, encounter_pk)
    _logged(request, encounter.patient_id)
    return render(request, "assessment/encounter_detail.html", {
        "encounter": encounter,
        "can_edit": access.can(request.user, access.WRITE, encounter.patient.site_id)
        and encounter.patient.archived_at is None,
    })


@page("GET")
def assessment_detail(request: HttpRequest, assessment_pk: int) -> HttpResponse:
    assessment = selectors.assessment_for(request.user, assessment_pk)
    patient = assessment.observation.encounter.patient
    _logged(request, patient.pk)
    writable = access.can(request.user, access.WRITE, patient.site_id) and \
        patient.archived_at is None
    form = _PageDecisionForm(output=assessment.output_json,
                             current=assessment.decisions.first())
    return _assessment_page(request, assessment, decision_form=form, can_decide=writable)


class _PageDecisionForm(DecisionForm):
    """The decision form of the assessment page, whose markup ``{% crispy_blank %}``
    (templatetags/blank_forms.py) renders once per process and reuses while it is not bound:
    crispy's rendering of it was two thirds of the page's template time. The markup depends on
    the decision it opens on (the key), and on the red flag the override guard names, whose
    message quotes the child's values: a form with a guard flag is rendered each time (a key
    per patient would push the visit page's markup out of the shared store). The page's
    <form> has its CSRF token; crispy's second one would make the markup per session."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper.disable_csrf = True

    def blank_markup_key(self) -> tuple[Any, ...] | None:
        if self.is_bound or self.guard_flag is not None:
            return None
        return tuple((name, tuple(value) if isinstance(value, list) else value)
                     for name, value in sorted(self.initial.items()))


def _assessment_page(request: HttpRequest, assessment: Any, *, decision_form: DecisionForm,
                     can_decide: bool, status: int = 200) -> HttpResponse:
    """The assessment page. An assessment made with an older ruleset says so; a clinician may
    re-run it unless a newer assessment of the observation exists (that one is then linked,
    and is the one to re-run)."""
    # The observation was reached through the permission-checked selector, so its other
    # assessments are the same child's; the selector says which is the newest (the model's
    # ordering), fetched only when it is another one. observation_id too: the related manager
    # sets each row's observation from it, and a deferred one cost a query to load.
    newer = None
    if assessment.newest_pk not in (None, assessment.pk):
        newer = assessment.observation.assessments.only(
            "pk", "created_at", "ruleset_version", "observation_id").first()
    outdated = assessment.ruleset_version != engine.RULESET_VERSION
    view = assessment_view_model(assessment)
    return render(request, "assessment/assessment_detail.html", {
        "assessment": assessment, "view": view, "body": assessment_body_html(assessment, view),
        "decision_form": decision_form, "can_decide": can_decide,
        "outdated": outdated, "current_ruleset": engine.RULESET_VERSION, "newer": newer,
        "can_rerun": outdated and can_decide and newer is None,
        # The parent handout link shows only when one is offered (assessment/handout.py).
        "handout_offered": bool(offer_for(assessment)),
    }, status=status)


@page("POST", writes=True)
def assessment_rerun(request: HttpRequest, assessment_pk: int) -> HttpResponse:
    assessment = selectors.assessment_for(request.user, assessment_pk)
    _require_open(request, assessment.observation.encounter.patient)
    try:
        rerun = services.assessment_rerun(assessment=assessment, user=request.user)
    except services.Conflict as conflict:
        messages.error(request, str(conflict))
        return redirect("assessment-detail", assessment_pk=assessment.pk)
    messages.success(request, f"Assessed again with ruleset {rerun.ruleset_version}. The "
                              f"assessment made with ruleset {assessment.ruleset_version} is "
                              "kept unchanged.")
    return redirect("assessment-detail", assessment_pk=rerun.pk)


@page("POST", writes=True)
def assessment_decide(request: HttpRequest, assessment_pk: int) -> HttpResponse:
    assessment = selectors.assessment_for(request.user, assessment_pk)
    _require_open(request, assessment.observation.encounter.patient)
    form = _PageDecisionForm(request.POST, output=assessment.output_json)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.assessment_decide(
                assessment=assessment, decision=data["decision"],
                final_subtypes=data.get("final_subtypes") or [],
                final_entity=data.get("final_entity") or "",
                final_management=data.get("final_management") or "",
                reason=data.get("reason") or "", user=request.user,
                flag_considered=bool(data.get("flag_considered")))
        except services.Conflict as conflict:
            form.add_error(None, str(conflict))
            status = 409
        else:
            messages.success(request, "Your decision is recorded beside the engine's "
                                      "assessment.")
            return redirect(reverse("assessment-detail",
                                    kwargs={"assessment_pk": assessment_pk}) + "#decision")
    return _assessment_page(request, assessment, decision_form=form, can_decide=True,
                            status=status)


@page("GET", "POST", writes=True)
def follow_up_create(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = selectors.patient_for(request.user, patient_pk)
    _require_open(request, patient)
    candidates = selectors.follow_up_candidates(request.user, patient)
    gone = _ticked_but_closed(request, patient, candidates)
    if not candidates and not gone:
        messages.info(request, "This patient has no active lesion to follow up.")
        return redirect("patient-detail", patient_pk=patient.pk)
    only = request.GET.get("lesion")
    follow_up = [(lesion, last, not only or str(lesion.pk) == only) for lesion, last in candidates]
    entry = EncounterEntry(request.POST or None, patient=patient, follow_up=follow_up)
    if gone:
        # Never save the rest of the visit without the part about this lesion.
        entry.page_errors.extend(
            f"{lesion} was recorded as resolved on {lesion.resolved_on:%Y-%m-%d} after you "
            "opened this form. Nothing was saved; check the lesion, then submit again without "
            "it." for lesion in gone)
        return render(request, "assessment/encounter_form.html",
                      {"patient": patient, "entry": entry}, status=409)
    if request.method == "POST" and entry.is_valid():
        _, refused = _record(request, patient, entry)
        if refused is not None:
            return refused
        messages.success(request, "Follow-up recorded.")
        return redirect("lesion-timeline", lesion_pk=entry.entries[0].lesion.pk)
    return render(request, "assessment/encounter_form.html",
                  {"patient": patient, "entry": entry},
                  status=400 if request.method == "POST" else 200)


def _ticked_but_closed(request: HttpRequest, patient: Any, candidates: list[Any]) -> list[Any]:
    """Lesions ticked on a submitted follow-up form that are no longer active (resolved by a
    visit saved after the form was opened): their fields would otherwise be ignored."""
    if request.method != "POST":
        return []
    ticked = {int(key.split("-")[1]) for key, value in request.POST.items()
              if re.fullmatch(r"lesion-\d{1,18}-include", key) and value not in ("", "off")}
    ticked -= {lesion.pk for lesion, _ in candidates}
    if not ticked:
        return []
    return list(selectors.lesions_visible_to(request.user).filter(
        patient=patient, pk__in=ticked, status=LesionStatus.RESOLVED).order_by("pk"))


@page("GET", "POST", writes=True)
def observation_edit(request: HttpRequest, observation_pk: int) -> HttpResponse:
    observation = selectors.observation_for(request.user, observation_pk)
    patient = observation.encounter.patient
    _require_open(request, patient)
    form = ObservationEditForm(request.POST or None, instance=observation)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.observation_update(
                observation=observation, changes=form.changes(),
                expected_version=form.cleaned_data["version"], user=request.user)
        except services.StaleEdit as stale:
            form.add_error(None, _stale_message(stale))
            form.data = form.data.copy()
            form.data["version"] = stale.current.version
        except services.Conflict as conflict:
            form.add_error(None, str(conflict))
        else:
            messages.success(request, "Observation corrected and assessed again; the earlier "
                                      "assessment is kept in the history.")
            return redirect("assessment-detail", assessment_pk=assessment.pk)
    return render(request, "assessment/observation_form.html",
                  {"form": form, "observation": observation, "patient": patient},
                  status=400 if request.method == "POST" else 200)


@page("GET")
def lesion_timeline(request: HttpRequest, lesion_pk: int) -> HttpResponse:
    lesion = selectors.lesion_timeline(request.user, lesion_pk)
    _logged(request, lesion.patient_id)
    return render(request, "assessment/lesion_timeline.html", {
        "lesion": lesion, "view": timeline_view_model(lesion, timezone.localdate()),
        "photo_form": PhotoForm(),
        "can_add": access.can(request.user, access.WRITE, lesion.patient.site_id)
        and lesion.patient.archived_at is None,
    })


@page("POST", writes=True)
def photo_upload(request: HttpRequest, observation_pk: int) -> HttpResponse:
    observation = selectors.observation_for(request.user, observation_pk)
    _require_open(request, observation.encounter.patient)
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.photo_attach(observation=observation, photo=form.cleaned_photo,
                                  caption=form.cleaned_data["caption"], user=request.user)
        except services.Conflict as conflict:
            form.add_error(None, str(conflict))
        else:
            messages.success(request, "Photo attached (location and camera data removed).")
            return redirect("lesion-timeline", lesion_pk=observation.lesion_id)
    lesion = selectors.lesion_timeline(request.user, observation.lesion_id)
    return render(request, "assessment/lesion_timeline.html", {
        "lesion": lesion, "view": timeline_view_model(lesion, timezone.localdate()),
        "photo_form": form,
        "photo_observation": observation.pk, "can_add": True,
    }, status=400)


@page("GET")
def photo_view(request: HttpRequest, photo_pk: int) -> FileResponse:
    photo = selectors.photo_for(request.user, photo_pk)
    response = FileResponse(photo.image.open("rb"), content_type=photo.content_type)
    extension = "jpg" if photo.image_format == "JPEG" else "png"
    response["Content-Disposition"] = f'inline; filename="photo-{photo.pk}.{extension}"'
    response["Cache-Control"] = "private, no-store"
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    return spreadsheet_safe("" if value is None else str(value))


EXPORT_COLUMNS = ["site", "record_number", "visit_date", "visit_kind", "age_months", "lesion",
                  "lesion_site", "heel_subsite", "calcinosis", "leading_entity",
                  "primary_subtype", "management", "urgent_flag", "atypical_course",
                  "follow_up_due", "ruleset_version", "review_status"]


@page("GET")
def export_assessments(request: HttpRequest) -> StreamingHttpResponse:
    """CSV of every assessment in the user's sites, for data managers."""
    rows = selectors.assessments_for_export(request.user).iterator(chunk_size=500)
    writer = csv.writer(_Echo())
    log = services.export_started(
        user=request.user, kind=ExportKind.ASSESSMENTS_CSV, channel="web",
        site_codes=[site.code for site in selectors.sites_visible_to(request.user)])

    def lines() -> Iterator[str]:
        patients: set[int] = set()
        yield writer.writerow(EXPORT_COLUMNS)
        for a in rows:
            patients.add(a.observation.encounter.patient_id)
            encounter = a.observation.encounter
            lesion = a.observation.lesion
            yield writer.writerow([_cell(v) for v in (
                encounter.patient.site.code, encounter.patient.record_number, encounter.date,
                encounter.kind, a.age_months, lesion, lesion.site, lesion.heel_subsite,
                a.calcinosis, a.leading_entity, a.primary_subtype, a.management_category,
                a.urgent, a.atypical_course, a.follow_up_due, a.ruleset_version,
                encounter.review_status)])
        services.export_finished(log=log, patient_count=len(patients))

    # The rows are read while the response streams: from the read replica, if there is one.
    response = StreamingHttpResponse(on_replica(lines()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="assessments.csv"'
    return response


# --- Printouts: the visit summary for the record and the parent handout ----------------------

@page("GET")
def assessment_summary(request: HttpRequest, assessment_pk: int) -> HttpResponse:
    """One printed page for the medical record; a patient view like the assessment page."""
    from .presenters import visit_summary_view_model

    assessment = selectors.assessment_printout(request.user, assessment_pk)
    _logged(request, assessment.observation.encounter.patient_id)
    return render(request, "assessment/print_summary.html", {
        "assessment": assessment, "summary": visit_summary_view_model(assessment),
        "printed_on": timezone.localdate(), "handout_offered": bool(offer_for(assessment)),
    })


@page("GET")
def assessment_handout(request: HttpRequest, assessment_pk: int) -> HttpResponse:
    """The parent handout in plain words, or a notice saying why none is offered."""
    assessment = selectors.assessment_printout(request.user, assessment_pk)
    encounter = assessment.observation.encounter
    _logged(request, encounter.patient_id)
    offer, handout = handout_for(assessment)
    return render(request, "assessment/print_handout.html", {
        "assessment": assessment, "encounter": encounter, "offer": offer, "handout": handout,
        "clinic": encounter.patient.site,
    })


# --- Exports page and the REDCap export (assessment/interop/redcap.py) ---------------------------

MAX_SITE_CODES = 50


def _exports_page(request: HttpRequest, *, site_error: str = "", status: int = 200
                  ) -> HttpResponse:
    sites = selectors.report_sites(request.user)
    return render(request, "assessment/exports.html", {
        "can_report": bool(sites), "sites": sites, "site_error": site_error,
        "first_site": sites[0] if sites else None,
    }, status=status)


@page("GET")
def exports(request: HttpRequest) -> HttpResponse:
    """What the user may export: the assessments CSV for everyone; for data managers and
    reviewers, the clinic-wide REDCap files and the FHIR bulk command line."""
    return _exports_page(request)


def _chosen_report_sites(request: HttpRequest) -> tuple[list[Any], HttpResponse | None]:
    """The clinics named by ``?site=CODE`` (repeatable), each one the user may export; every
    such clinic when none is named. An unknown or forbidden code answers the Exports page
    again (400) saying so, never a traceback."""
    access.require_anywhere(request.user, access.REPORT)
    codes = request.GET.getlist("site")
    if not codes:
        return selectors.report_sites(request.user), None
    sites = selectors.report_sites(request.user, codes[:MAX_SITE_CODES])
    missing = sorted(set(codes) - {site.code for site in sites})
    if len(codes) > MAX_SITE_CODES or missing:
        shown = f" '{missing[0][:20]}'" if missing else "s: too many"
        return [], _exports_page(
            request, status=400,
            site_error=f"Clinic (site): no clinic{shown} whose records you may export. "
                       "Choose among the clinics listed below.")
    return sites, None


def _redcap_csv(rows: Any, filename: str) -> StreamingHttpResponse:
    from .interop import redcap

    response = StreamingHttpResponse(redcap.csv_lines(rows),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@page("GET", needs=access.REPORT)
def export_redcap_records(request: HttpRequest) -> HttpResponse:
    """The REDCap records CSV of the chosen clinics (logged: who, which clinics, how many
    patients; a stream cut short leaves the log without its end time)."""
    from .interop import redcap
    from .models import ExportKind

    sites, refused = _chosen_report_sites(request)
    if refused is not None:
        return refused
    log = services.export_started(user=request.user, kind=ExportKind.REDCAP_RECORDS,
                                  channel="web", site_codes=[site.code for site in sites])
    counter = redcap.Counter()

    def rows() -> Iterator[list[str]]:
        yield from redcap.records(request.user, sites, counter=counter)
        services.export_finished(log=log, patient_count=counter.patients)

    return _redcap_csv(on_replica(rows()), "redcap-records.csv")


@page("GET", needs=access.REPORT)
def export_redcap_dictionary(request: HttpRequest) -> HttpResponse:
    """The REDCap data dictionary. It holds no patient data, so it is not logged."""
    from .interop import redcap

    access.require_anywhere(request.user, access.REPORT)
    return _redcap_csv(redcap.dictionary_rows(), "redcap-data-dictionary.csv")


@page("GET", needs=access.REPORT)
def export_redcap_repeating(request: HttpRequest) -> HttpResponse:
    """Which REDCap instruments repeat, with their labels (no patient data, not logged)."""
    from .interop import redcap

    access.require_anywhere(request.user, access.REPORT)
    return _redcap_csv(redcap.repeating_rows(), "redcap-repeating-instruments.csv")


# --- Registry outcomes: time to resolution (assessment/outcomes/) ------------------------------

@page("GET", needs=access.REPORT)
def outcomes(request: HttpRequest) -> HttpResponse:
    """Time to resolution of the lesions of the user's report clinics as Kaplan–Meier curves,
    by diagnosis, subtype or clinic, beside the knowledge base's expected window. A bad filter
    value is named in a message and left out; the page still answers."""
    from .outcomes import registry
    from .outcomes.forms import OutcomesFilterForm

    access.require_anywhere(request.user, access.REPORT)
    form = OutcomesFilterForm(request.GET, sites=selectors.report_sites(request.user))
    filters = form.filters()
    # Registry-wide figures: from the read replica, if there is one (the cache key's change
    # counter is read there too, so cached figures match the rows they were computed from).
    with replica_reads():
        figures = registry.outcomes(request.user, sites=filters.sites,
                                    first_from=filters.first_from, first_to=filters.first_to,
                                    grouping=filters.group)
    return render(request, "assessment/outcomes.html", {
        "form": form, "filters": filters, "figures": figures,
        "groups": figures["groups"], "chart": figures["chart"],
        "group_label": registry.GROUPINGS[filters.group],
        "at_risk_weeks": registry.AT_RISK_WEEKS,
    })


# --- FHIR: one patient's record as a Bundle (assessment/interop/fhir.py) ---------------------

@page("GET")
def patient_fhir(request: HttpRequest, patient_pk: int) -> HttpResponse:
    """The patient's record as a FHIR R4 Bundle, for a referral: anyone who can see the patient
    may download it; it is logged as an export and a patient view."""
    from .interop import fhir

    patient = selectors.patient_for_fhir(request.user, patient_pk)
    log = services.export_started(user=request.user, kind=ExportKind.FHIR_BUNDLE, channel="web",
                                  site_codes=[patient.site.code], patient_id=patient.pk)
    body = fhir.patient_bundle_json(patient)
    services.export_finished(log=log, patient_count=1)
    response = HttpResponse(body, content_type="application/fhir+json")
    # Record numbers are letters, digits and hyphens only (model validator): safe in a header.
    response["Content-Disposition"] = (
        f'attachment; filename="{patient.record_number}-fhir.json"')
    response["Cache-Control"] = "private, no-store"
    return response
