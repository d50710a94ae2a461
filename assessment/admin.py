"""Admin for reviewers: every clinical model, readable assessments, and encounter review with
who and when recorded."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from . import access, services
from .engine import vocab
from .engine.knowledge import ENTITIES
from .models import (
    ApiToken,
    Assessment,
    AssessmentDecision,
    Encounter,
    ExportLog,
    ImagingFinding,
    LabResult,
    Lesion,
    LesionObservation,
    ManagementCategory,
    Membership,
    Patient,
    PatientViewLog,
    Photo,
    ReassessmentChange,
    ReassessmentRun,
    ReviewStatus,
    Site,
    code_choices,
)
from .pagination import CachedCountPaginator
from .presenters import assessment_view_model
from .text import HiddenCharactersRefused

admin.site.site_header = "Heel nodule assessment: review"
admin.site.site_title = "Calcinosis review"

TRACKED_READONLY = ("created_at", "created_by", "updated_at", "updated_by", "version")


# Readable values for the admin's columns and read-only fields: a reviewer reads labels and
# plain numbers, never codes ("metastatic_calcinosis_renal_failure") or "7.1800".
FLAG_RANK = {"urgent": 0, "refer": 1, "review": 2}
FLAG_ACTION_LABELS = {"urgent": "Urgent", "refer": "Refer", "review": "Review"}


def entity_label(code: str) -> str:
    entity = ENTITIES.get(code)
    return entity.label if entity else vocab.words(code).capitalize()


def code_words(codes: list[str] | None) -> str:
    text = ", ".join(vocab.words(code) for code in codes or []) or "—"
    return text[:1].upper() + text[1:]


def plain_number(value: Decimal | None) -> str:
    """7.1800 -> "7.18", 230.0000 -> "230" (a DecimalField keeps its places; a reader does
    not need them)."""
    return "" if value is None else f"{value.normalize():f}"


def lab_result(lab: LabResult) -> str:
    return f"{plain_number(lab.value)} {lab.unit}"


def lab_interval(lab: LabResult) -> str:
    if lab.reference_low is None and lab.reference_high is None:
        return "—"
    return f"{plain_number(lab.reference_low)}–{plain_number(lab.reference_high)} {lab.unit}"


def person(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user else "—"


def lesion_where(lesion: Lesion) -> str:
    where = " ".join(filter(None, [lesion.get_laterality_display(),
                                   lesion.get_heel_subsite_display(),
                                   lesion.get_site_display()]))
    return where.lower().capitalize()


def lesion_size(observation: LesionObservation) -> str:
    largest, across = observation.largest_diameter_mm, observation.perpendicular_diameter_mm
    if largest is None:
        size = "not measured"
    elif across is None:
        size = f"{plain_number(largest)} mm"
    else:
        size = f"{plain_number(largest)} × {plain_number(across)} mm"
    if observation.count == 1:
        return size
    return f"{observation.count} lesions, {'largest ' if largest is not None else ''}{size}"


class GuardedHistoryAdmin(SimpleHistoryAdmin):
    """django-simple-history's views, held to the admin's own rules.

    Its history views load rows from the history table rather than through ``get_queryset``,
    and its history form saves ("reverts") on POST after checking view permission only. Here
    both first look the object up through ``get_object`` (so scoping applies and a malformed id
    is a 404, not a 500); the history form is always read-only; and reverting is allowed only
    where ``allow_revert`` is set, to superusers.
    """

    allow_revert = False

    def _object_or_404(self, request: HttpRequest, object_id: str) -> Any:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such record.")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def _may_revert(self, request: HttpRequest) -> bool:
        return self.allow_revert and request.user.is_active and request.user.is_superuser

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._may_revert(request)

    def history_view(self, request: HttpRequest, object_id: str,
                     extra_context: dict[str, Any] | None = None) -> HttpResponse:
        obj = self._object_or_404(request, object_id)
        self.log_read(request, obj)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request: HttpRequest, object_id: str, version_id: str,
                          extra_context: dict[str, Any] | None = None) -> HttpResponse:
        obj = self._object_or_404(request, object_id)
        # On a history model "pk" is history_id: the record's own id is its pk's attname.
        if not version_id.isdigit() or not self.model.history.filter(
                history_id=int(version_id),
                **{self.model._meta.pk.attname: obj.pk}).exists():
            raise Http404("No such version of this record.")
        if request.method not in ("GET", "HEAD") and not self._may_revert(request):
            raise PermissionDenied("Past versions can be viewed here, not restored.")
        self.log_read(request, obj)
        request._history_read_only = not self._may_revert(request)  # type: ignore[attr-defined]
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if getattr(request, "_history_read_only", False):
            # Every field as text: no editable widget, and no dropdown listing other records.
            # (The flag is lowered while the field list is worked out: get_fieldsets builds a
            # form, which asks for the read-only fields again.)
            request._history_read_only = False  # type: ignore[attr-defined]
            try:
                names = flatten_fieldsets(self.get_fieldsets(request, obj))
            finally:
                request._history_read_only = True  # type: ignore[attr-defined]
            return [name for name in names if name not in self.form.declared_fields]
        return super().get_readonly_fields(request, obj)

    def log_read(self, request: HttpRequest, obj: Any) -> None:
        """Admin reads of a child's record are logged like the app's (see SiteScopedAdmin)."""


class SiteScopedAdmin(GuardedHistoryAdmin):
    """Staff see only their sites' records, read-only unless a rule below allows a change;
    nothing clinical is ever deleted here (records are archived in the app).

    Another clinic's record answers 404 on every URL of the admin (change, history, history
    version, delete), as in the app, rather than Django's "doesn't exist" redirect.
    """

    site_path = "site"  # lookup from this model to its Site
    patient_path = "patient"  # lookup from this model to its Patient, for the view log
    paginator = CachedCountPaginator

    def _site_filter(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        allowed = access.site_ids(request.user, access.VIEW)
        if allowed is None:
            return queryset
        return queryset.filter(**{f"{self.site_path}__in": allowed})

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return self._site_filter(request, super().get_queryset(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff and access.can_anywhere(
            request.user, access.VIEW)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self.has_module_permission(request):
            return False
        return obj is None or access.can(request.user, access.VIEW, self.site_id_of(obj))

    def site_id_of(self, obj: Any) -> int:
        if obj.pk is None:
            return -1
        return self.model._default_manager.filter(pk=obj.pk).values_list(
            self.site_path, flat=True).get()

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # clinical records are entered in the app, where the engine checks them

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        obj = self._object_or_404(request, object_id)
        if request.method in ("GET", "HEAD"):
            self.log_read(request, obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request: HttpRequest, object_id: str,
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        self._object_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def log_read(self, request: HttpRequest, obj: Any) -> None:
        patient_id = self.model._default_manager.filter(pk=obj.pk).values_list(
            self.patient_path, flat=True).first()
        if patient_id is not None:
            services.record_view(user=request.user, patient_id=patient_id, path=request.path)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest,
                                 **kwargs: Any) -> Any:
        """A dropdown lists only the user's clinics and the records of those clinics."""
        related = db_field.related_model
        if related is Site:
            allowed = access.site_ids(request.user, access.VIEW)
            if allowed is not None:
                kwargs["queryset"] = Site.objects.filter(pk__in=allowed)
        elif isinstance(self.admin_site._registry.get(related), SiteScopedAdmin):
            kwargs["queryset"] = self.admin_site._registry[related].get_queryset(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TrackedAdmin(SiteScopedAdmin):
    readonly_fields = TRACKED_READONLY


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True
    # Bounds the forms built from a POST's TOTAL_FORMS (Django's default allows 1,000); the
    # rows are read-only, so nothing posted here is ever saved.
    max_num = 0
    absolute_max = 200

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        return super().get_formset(request, obj, absolute_max=self.absolute_max, **kwargs)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # the parent admin has already checked the site


@admin.register(Patient)
class PatientAdmin(TrackedAdmin):
    patient_path = "pk"
    list_display = ("record_number", "site", "date_of_birth", "sex", "visits", "archived_at",
                    "created_at")
    # RelatedOnly: the filter lists the clinics of the patients shown, not every clinic.
    list_filter = (("site", admin.RelatedOnlyFieldListFilter), "sex",
                   ("archived_at", admin.EmptyFieldListFilter))
    list_select_related = ("site",)
    search_fields = ("record_number",)
    show_full_result_count = False

    class EncounterInline(ReadOnlyInline):
        model = Encounter
        fields = ("date", "kind", "clinician", "review_status")
        readonly_fields = fields

    class LesionInline(ReadOnlyInline):
        model = Lesion
        fields = ("label", "site", "heel_subsite", "laterality", "status", "resolved_on")
        readonly_fields = fields

    inlines = [LesionInline, EncounterInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Patient]:
        return super().get_queryset(request).annotate(visit_count=Count("encounters"))

    @admin.display(description="Visits", ordering="visit_count")
    def visits(self, obj: Patient) -> int:
        return obj.visit_count


class SubtypeFilter(admin.SimpleListFilter):
    title = "primary subtype"
    parameter_name = "subtype"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return code_choices(vocab.SUBTYPES)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(observations__assessments__primary_subtype=self.value()
                                   ).distinct()
        return queryset


class ManagementFilter(admin.SimpleListFilter):
    title = "management"
    parameter_name = "management"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return ManagementCategory.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(
                observations__assessments__management_category=self.value()).distinct()
        return queryset


class EncounterReviewForm(HiddenCharactersRefused, forms.ModelForm):
    # HiddenCharactersRefused: the comment refuses invisible control and text-direction
    # characters, with the field named (as every form of the app does).

    # The version the reviewer saw, as in the app's forms: a review saved meanwhile by someone
    # else is not silently overwritten.
    expected_version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Encounter
        fields = ("review_status", "review_comment")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expected_version"].initial = self.instance.version

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (cleaned.get("review_status") == ReviewStatus.CHANGES
                and not (cleaned.get("review_comment") or "").strip()):
            self.add_error("review_comment", "Say what needs to change.")
        expected = cleaned.get("expected_version")
        if expected is not None and self.instance.pk:
            # The admin validates and saves in one transaction: the row stays locked until the
            # save, so the version cannot change between this check and the write.
            with transaction.atomic():
                current = Encounter.objects.select_for_update(of=("self",)).select_related(
                    "reviewed_by", "updated_by").get(pk=self.instance.pk)
            if current.version != expected:
                self.add_error(None, stale_review_message(current))
                self.data = self.data.copy()
                self.data["expected_version"] = current.version
        return cleaned


def stale_review_message(current: Encounter) -> str:
    who = current.reviewed_by or current.updated_by
    return (f"This visit was changed by {who} at "
            f"{timezone.localtime(current.updated_at):%Y-%m-%d %H:%M} after you opened it (now "
            f"'{current.get_review_status_display()}'). Nothing was saved and nothing was "
            "overwritten; your entries are kept below. Read the current review, then save "
            "again to replace it.")


def _assessment_summary(assessment: Assessment) -> dict[str, Any]:
    out = assessment.output_json
    flags = sorted(out.get("red_flags", []), key=lambda f: FLAG_RANK.get(f["action"], 9))
    top = flags[0] if flags else None
    return {
        "assessment": assessment,
        "url": reverse("admin:assessment_assessment_change", args=[assessment.pk]),
        "leading": entity_label(assessment.leading_entity),
        "calcinosis": assessment.get_calcinosis_display(),
        "management": assessment.get_management_category_display(),
        "top_flag": top and {"action": top["action"],
                             "label": FLAG_ACTION_LABELS.get(top["action"], "Flag"),
                             "message": top["message"]},
        "more_flags": len(flags) - 1 if flags else 0,
    }


def _decision_summary(decision: AssessmentDecision, latest: Assessment) -> dict[str, Any]:
    return {
        "decision": decision,
        "agree": decision.decision == "agree",
        "label": decision.get_decision_display(),
        "entity": entity_label(decision.final_entity),
        "management": decision.get_final_management_display(),
        "subtypes": code_words(decision.final_subtypes),
        "who": person(decision.decided_by),
        "earlier": decision.assessment_id != latest.pk,
        "earlier_ruleset": decision.assessment.ruleset_version,
        "flag_considered": getattr(decision, "flag_considered", False),
    }


def encounter_review_items(encounter: Encounter) -> list[dict[str, Any]]:
    """What a reviewer approves, lesion by lesion: where it is, whether it is still active,
    its size at this visit, the engine's reading and the clinician's decision on it."""
    decisions = AssessmentDecision.objects.select_related("decided_by").order_by(
        "-decided_at", "-id")
    assessments = Assessment.objects.defer("input_json").order_by("-id").prefetch_related(
        Prefetch("decisions", queryset=decisions))
    observations = LesionObservation.objects.filter(encounter=encounter).select_related(
        "lesion").prefetch_related(Prefetch("assessments", queryset=assessments)).order_by(
        "lesion_id", "id")
    items = []
    for observation in observations:
        lesion = observation.lesion
        runs = list(observation.assessments.all())
        latest = runs[0] if runs else None
        # The newest decision on any run of this observation: a re-run keeps the decision
        # given on the run before it, and the reviewer should see it (marked as earlier).
        given = [d for run in runs for d in run.decisions.all()]
        for d in given:
            d.assessment = next(run for run in runs if run.pk == d.assessment_id)
        decision = max(given, key=lambda d: (d.decided_at, d.pk), default=None)
        items.append({
            "name": str(lesion),
            "where": lesion_where(lesion),
            "resolved": lesion.status == "resolved",
            "resolved_on": lesion.resolved_on,
            "at_visit": observation.get_course_status_display() or "First visit",
            "resolved_here": observation.course_status == "resolved",
            "size": lesion_size(observation),
            "assessment": _assessment_summary(latest) if latest else None,
            "decision": _decision_summary(decision, latest) if decision and latest else None,
        })
    return items


VISIT_FIELDS = ("patient", "date", "clinician", "kind", "notes", "fever",
                "hypercalcemia_symptoms", "ctd_signs")


@admin.register(Encounter)
class EncounterAdmin(TrackedAdmin):
    site_path = "clinic"
    form = EncounterReviewForm
    # Few, combined columns: beside the admin's two sidebars the list must fit 1366 px.
    list_display = ("patient_record", "visit", "clinician", "leading", "management", "review")
    list_filter = ("review_status", SubtypeFilter, ManagementFilter, "kind", "date")
    list_select_related = ("patient", "clinician", "reviewed_by")
    search_fields = ("patient__record_number",)
    # No date hierarchy and no second, unfiltered count: both aggregate the whole visits
    # table on every page load of a large registry.
    show_full_result_count = False
    actions = ["approve"]
    # The admin is for review: what was seen is entered and corrected in the app, not here.
    # What is being approved (each lesion's status, the engine's reading and the clinician's
    # decision) is shown above these fields, full width, by the change form template
    # (templates/admin/assessment/encounter/change_form.html) from encounter_review_items.
    readonly_fields = (*TRACKED_READONLY, "reviewed_by", "reviewed_at", *VISIT_FIELDS)
    fieldsets = (
        ("Review", {"fields": ("review_status", "review_comment", "expected_version",
                               "reviewed_by", "reviewed_at")}),
        ("Visit", {"fields": VISIT_FIELDS}),
        ("Record", {"classes": ("collapse",), "fields": TRACKED_READONLY}),
    )

    class ObservationInline(ReadOnlyInline):
        model = LesionObservation
        fields = ("lesion", "course_status", "size", "color", "surface", "consistency",
                  "feature_words", "trend")
        readonly_fields = fields

        @admin.display(description="Size")
        def size(self, obj: LesionObservation) -> str:
            return lesion_size(obj)

        @admin.display(description="Features")
        def feature_words(self, obj: LesionObservation) -> str:
            return code_words(obj.features)

    class LabInline(ReadOnlyInline):
        model = LabResult
        fields = ("analyte", "result", "interval")
        readonly_fields = fields

        @admin.display(description="Result")
        def result(self, obj: LabResult) -> str:
            return lab_result(obj)

        @admin.display(description="Laboratory's interval")
        def interval(self, obj: LabResult) -> str:
            return lab_interval(obj)

    class ImagingInline(ReadOnlyInline):
        model = ImagingFinding
        fields = ("modality", "finding")
        readonly_fields = fields

    inlines = [ObservationInline, LabInline, ImagingInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Reviewers review visits of their sites (the change form holds only review
        fields)."""
        if not self.has_module_permission(request):
            return False
        if obj is None:
            return access.can_anywhere(request.user, access.REVIEW)
        return access.can(request.user, access.REVIEW, self.site_id_of(obj))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Encounter]:
        # The latest assessment per visit, fetched for the displayed page only (two small
        # queries), never as per-row subqueries over the whole visits table.
        assessments = Assessment.objects.only(
            "id", "observation_id", "leading_entity", "management_category").order_by("-id")
        observations = LesionObservation.objects.only(
            "id", "encounter_id", "course_status").prefetch_related(
            Prefetch("assessments", queryset=assessments))
        return super().get_queryset(request).prefetch_related(
            Prefetch("observations", queryset=observations))

    def _latest(self, obj: Encounter) -> Assessment | None:
        found = [a for o in obj.observations.all() for a in o.assessments.all()]
        return max(found, key=lambda a: a.pk, default=None)

    def _not_assessed(self, obj: Encounter) -> str:
        # A follow-up that found the lesion gone stores no assessment: say so, not "—".
        if any(o.course_status == "resolved" for o in obj.observations.all()):
            return "Lesion resolved"
        return "—"

    @admin.display(description="Patient", ordering="patient__record_number")
    def patient_record(self, obj: Encounter) -> str:
        return obj.patient.record_number

    @admin.display(description="Visit", ordering="date")
    def visit(self, obj: Encounter) -> str:
        return format_html('{}<br><span class="admin-quiet">{}</span>', date_format(obj.date),
                           obj.get_kind_display())

    @admin.display(description="Leading entity")
    def leading(self, obj: Encounter) -> str:
        latest = self._latest(obj)
        return entity_label(latest.leading_entity) if latest else self._not_assessed(obj)

    @admin.display(description="Management")
    def management(self, obj: Encounter) -> str:
        latest = self._latest(obj)
        return latest.get_management_category_display() if latest else "—"

    @admin.display(description="Review", ordering="review_status")
    def review(self, obj: Encounter) -> str:
        if obj.reviewed_by_id is None:
            return obj.get_review_status_display()
        when = (date_format(timezone.localtime(obj.reviewed_at), "j M Y, H:i")
                if obj.reviewed_at else "")
        return format_html('{}<br><span class="admin-quiet">{}, {}</span>',
                           obj.get_review_status_display(), person(obj.reviewed_by), when)

    def render_change_form(self, request: HttpRequest, context: dict[str, Any],
                           add: bool = False, change: bool = False, form_url: str = "",
                           obj: Encounter | None = None) -> HttpResponse:
        if obj is not None and obj.pk:
            context["review_items"] = encounter_review_items(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request: HttpRequest, obj: Encounter, form: Any, change: bool) -> None:
        """The review goes through the same service as everywhere: version claimed, who and
        when recorded, the worklist refreshed."""
        if not change:
            raise PermissionDenied("Visits are recorded in the app.")
        services.encounter_review(encounter=obj, status=obj.review_status,
                                  comment=obj.review_comment, user=request.user,
                                  expected_version=form.cleaned_data["expected_version"])

    @admin.action(description="Approve selected encounters (those still awaiting review)",
                  permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Encounter]) -> None:
        """Approve only visits that are still awaiting review, read under a row lock: a
        verdict another reviewer gave after this list was loaded is not overwritten."""
        done, skipped = 0, 0
        allowed = access.site_ids(request.user, access.REVIEW)
        chosen = list(queryset.values_list("pk", flat=True))
        with transaction.atomic():
            # Locked by primary key: FOR UPDATE is not allowed on the filtered list's DISTINCT.
            for encounter in Encounter.objects.select_for_update().filter(
                    pk__in=chosen).order_by("pk"):
                if encounter.review_status != ReviewStatus.PENDING or (
                        allowed is not None and encounter.clinic_id not in allowed):
                    skipped += 1
                    continue
                services.encounter_review(encounter=encounter, status=ReviewStatus.APPROVED,
                                          comment=encounter.review_comment, user=request.user,
                                          expected_version=encounter.version)
                done += 1
        self.message_user(request, f"{done} visit(s) approved.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} visit(s) left as they were: already "
                                       "reviewed, or not in your clinics.", messages.WARNING)


@admin.register(Lesion)
class LesionAdmin(TrackedAdmin):
    site_path = "clinic"
    list_display = ("__str__", "patient", "site", "heel_subsite", "laterality", "status",
                    "resolved_on")
    list_filter = ("status", "site")
    list_select_related = ("patient",)
    search_fields = ("patient__record_number", "label")


@admin.register(LesionObservation)
class LesionObservationAdmin(TrackedAdmin):
    site_path = "lesion__clinic"
    patient_path = "lesion__patient"
    list_display = ("lesion", "encounter", "size", "trend")
    list_select_related = ("lesion", "encounter__patient")
    search_fields = ("encounter__patient__record_number",)
    exclude = ("features",)  # shown as words by feature_words, not as a list of codes
    readonly_fields = (*TRACKED_READONLY, "feature_words")

    @admin.display(description="Size")
    def size(self, obj: LesionObservation) -> str:
        return lesion_size(obj)

    @admin.display(description="Features")
    def feature_words(self, obj: LesionObservation) -> str:
        return code_words(obj.features)


@admin.register(LabResult)
class LabResultAdmin(TrackedAdmin):
    site_path = "encounter__clinic"
    patient_path = "encounter__patient"
    list_display = ("encounter", "analyte", "result", "interval")
    list_filter = ("analyte",)
    list_select_related = ("encounter__patient",)
    search_fields = ("encounter__patient__record_number",)
    # Values as "7.18 mg/dL", not the column's "7.1800".
    fields = ("encounter", "analyte", "result", "interval", *TRACKED_READONLY)
    readonly_fields = (*TRACKED_READONLY, "result", "interval")

    @admin.display(description="Result", ordering="value")
    def result(self, obj: LabResult) -> str:
        return lab_result(obj)

    @admin.display(description="Laboratory's interval")
    def interval(self, obj: LabResult) -> str:
        return lab_interval(obj)


@admin.register(ImagingFinding)
class ImagingFindingAdmin(TrackedAdmin):
    site_path = "encounter__clinic"
    patient_path = "encounter__patient"
    list_display = ("encounter", "modality", "finding")
    list_filter = ("modality",)
    list_select_related = ("encounter__patient",)
    search_fields = ("encounter__patient__record_number",)


@admin.register(Assessment)
class AssessmentAdmin(SiteScopedAdmin):
    site_path = "observation__encounter__clinic"
    patient_path = "observation__encounter__patient"
    # Short headers and a date without the time: beside the sidebars the list fits 1366 px.
    list_display = ("patient_record", "lesion", "leading", "subtype", "management", "urgent",
                    "assessed")
    list_filter = ("primary_subtype", "management_category", "urgent", "calcinosis",
                   "ruleset_version", "created_at")
    list_select_related = ("observation__lesion", "observation__encounter__patient")
    search_fields = ("observation__encounter__patient__record_number",)
    show_full_result_count = False
    # The readable assessment is shown full width above these fields by the change form
    # template (templates/admin/assessment/assessment/change_form.html), not squeezed into a
    # field's column.
    readonly_fields = ("input_pretty", "output_pretty", "observation",
                       "ruleset_version", "contract_version", "created_at", "created_by")
    fields = ("observation", "ruleset_version", "contract_version", "created_at",
              "created_by", "input_pretty", "output_pretty")

    class DecisionInline(ReadOnlyInline):
        model = AssessmentDecision
        fields = ("decision", "final_entity_label", "final_subtype_words", "final_management",
                  "reason", "decided_by", "decided_at")
        readonly_fields = fields
        show_change_link = False

        @admin.display(description="Final leading entity")
        def final_entity_label(self, obj: AssessmentDecision) -> str:
            return entity_label(obj.final_entity)

        @admin.display(description="Final subtypes")
        def final_subtype_words(self, obj: AssessmentDecision) -> str:
            return code_words(obj.final_subtypes)

    inlines = [DecisionInline]

    @admin.display(description="Patient", ordering="observation__encounter__patient")
    def patient_record(self, obj: Assessment) -> str:
        return obj.observation.encounter.patient.record_number

    @admin.display(description="Lesion")
    def lesion(self, obj: Assessment) -> str:
        return str(obj.observation.lesion)

    @admin.display(description="Leading entity", ordering="leading_entity")
    def leading(self, obj: Assessment) -> str:
        return entity_label(obj.leading_entity)

    @admin.display(description="Subtype", ordering="primary_subtype")
    def subtype(self, obj: Assessment) -> str:
        return obj.get_primary_subtype_display() or "—"

    @admin.display(description="Management", ordering="management_category")
    def management(self, obj: Assessment) -> str:
        return obj.get_management_category_display()

    @admin.display(description="Assessed", ordering="created_at")
    def assessed(self, obj: Assessment) -> str:
        return date_format(timezone.localtime(obj.created_at))

    def render_change_form(self, request: HttpRequest, context: dict[str, Any],
                           add: bool = False, change: bool = False, form_url: str = "",
                           obj: Assessment | None = None) -> HttpResponse:
        if obj is not None and obj.pk:
            context["readable_assessment"] = render_to_string(
                "assessment/_assessment_body.html", {"view": assessment_view_model(obj)})
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="Engine input (JSON)")
    def input_pretty(self, obj: Assessment) -> str:
        return format_html("<details><summary>Show</summary><pre>{}</pre></details>",
                           json.dumps(obj.input_json, indent=2, ensure_ascii=False))

    @admin.display(description="Engine output (JSON)")
    def output_pretty(self, obj: Assessment) -> str:
        return format_html("<details><summary>Show</summary><pre>{}</pre></details>",
                           json.dumps(obj.output_json, indent=2, ensure_ascii=False))


@admin.register(AssessmentDecision)
class AssessmentDecisionAdmin(SiteScopedAdmin):
    site_path = "assessment__observation__encounter__clinic"
    patient_path = "assessment__observation__encounter__patient"
    list_display = ("observation", "decision", "final_entity_label", "final_management",
                    "decided")
    list_filter = ("decision", "final_management")
    list_select_related = ("assessment__observation__lesion",
                           "assessment__observation__encounter", "decided_by")
    # Labels, not the stored codes; the assessment by its lesion and visit, not its id.
    fields = ("assessment_link", "decision", "final_subtype_words", "final_entity_label",
              "final_management", "flag_considered", "reason", "decided_by", "decided_at")
    readonly_fields = fields

    @admin.display(description="Assessed lesion")
    def observation(self, obj: AssessmentDecision) -> str:
        return str(obj.assessment.observation)

    @admin.display(description="Assessment")
    def assessment_link(self, obj: AssessmentDecision) -> str:
        return format_html('<a href="{}">{}</a>', reverse(
            "admin:assessment_assessment_change", args=[obj.assessment_id]),
            obj.assessment.observation)

    @admin.display(description="Final leading entity", ordering="final_entity")
    def final_entity_label(self, obj: AssessmentDecision) -> str:
        return entity_label(obj.final_entity)

    @admin.display(description="Final subtypes")
    def final_subtype_words(self, obj: AssessmentDecision) -> str:
        return code_words(obj.final_subtypes)

    @admin.display(description="Decided", ordering="decided_at")
    def decided(self, obj: AssessmentDecision) -> str:
        return format_html('{}<br><span class="admin-quiet">{}</span>', person(obj.decided_by),
                           date_format(timezone.localtime(obj.decided_at), "j M Y, H:i"))


@admin.register(Photo)
class PhotoAdmin(SiteScopedAdmin):
    site_path = "observation__encounter__clinic"
    patient_path = "observation__encounter__patient"
    list_display = ("observation", "image_format", "width_px", "height_px", "size_bytes",
                    "uploaded_by", "uploaded_at")
    list_select_related = ("observation__lesion", "observation__encounter", "uploaded_by")
    exclude = ("image",)  # the file is served only through the app's permission-checked view
    readonly_fields = ("observation", "image_format", "width_px", "height_px", "size_bytes",
                       "caption", "uploaded_by", "uploaded_at")


class SuperuserOnlyAdmin(admin.ModelAdmin):
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ("user",)


@admin.register(Site)
class SiteAdmin(SuperuserOnlyAdmin, GuardedHistoryAdmin):
    allow_revert = True  # clinics and memberships are not clinical records

    list_display = ("name", "code", "members")
    search_fields = ("name", "code")
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Site]:
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="Members", ordering="member_count")
    def members(self, obj: Site) -> int:
        return obj.member_count


@admin.register(Membership)
class MembershipAdmin(SuperuserOnlyAdmin, GuardedHistoryAdmin):
    allow_revert = True

    list_display = ("user", "site", "role")
    list_filter = ("site", "role")
    list_select_related = ("user", "site")
    search_fields = ("user__username", "site__name")
    autocomplete_fields = ("user",)


class ReadOnlyLogAdmin(SuperuserOnlyAdmin):
    """The view and export logs: superusers read them; nobody adds, edits or deletes a row."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a log that can be edited is no log


@admin.register(PatientViewLog)
class PatientViewLogAdmin(ReadOnlyLogAdmin):
    list_display = ("viewed_at", "user", "patient", "path")
    list_filter = ("viewed_at",)
    list_select_related = ("user", "patient")
    search_fields = ("patient__record_number", "user__username")
    date_hierarchy = "viewed_at"
    readonly_fields = ("viewed_at", "user", "patient", "path")


@admin.register(ApiToken)
class ApiTokenAdmin(SuperuserOnlyAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    list_select_related = ("user",)
    readonly_fields = ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are created with `manage.py create_api_token`, shown once

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)


@admin.register(ExportLog)
class ExportLogAdmin(ReadOnlyLogAdmin):
    list_display = ("started_at", "user", "kind", "channel", "clinics", "patient",
                    "patient_count", "finished_at")
    list_filter = ("kind", "channel", "started_at")
    list_select_related = ("user", "patient")
    search_fields = ("patient__record_number", "user__username")
    date_hierarchy = "started_at"
    readonly_fields = ("started_at", "finished_at", "user", "kind", "channel", "site_codes",
                       "patient", "patient_count")

    @admin.display(description="Clinics")
    def clinics(self, obj: ExportLog) -> str:
        return ", ".join(obj.site_codes) or "None"


class DecidedFilter(admin.SimpleListFilter):
    title = "clinician's decision on the new assessment"
    parameter_name = "decided"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Not yet"), ("yes", "Recorded")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("no", "yes"):
            return queryset.filter(acknowledged_at__isnull=self.value() == "no")
        return queryset


@admin.register(ReassessmentChange)
class ReassessmentChangeAdmin(SiteScopedAdmin):
    """What a re-assessment after a ruleset upgrade changed (manage.py reassess), lesion by
    lesion, for review: read-only, each reviewer's clinics only, labels rather than codes."""

    site_path = "lesion__clinic"
    patient_path = "lesion__patient"
    list_display = ("patient_record", "lesion_name", "what_changed", "ruleset_version",
                    "acknowledged")
    list_filter = ("management_change", "entity_changed", "ruleset_version", DecidedFilter)
    list_select_related = ("lesion__patient",)
    search_fields = ("lesion__patient__record_number",)
    show_full_result_count = False
    fields = ("run", "patient_record", "lesion_name", "what_changed", "entity_before",
              "entity_after", "management_before", "management_after", "previous_link",
              "assessment_link", "acknowledged")
    readonly_fields = fields

    @admin.display(description="Patient", ordering="lesion__patient__record_number")
    def patient_record(self, obj: ReassessmentChange) -> str:
        return obj.lesion.patient.record_number

    @admin.display(description="Lesion")
    def lesion_name(self, obj: ReassessmentChange) -> str:
        return str(obj.lesion)

    @admin.display(description="What changed")
    def what_changed(self, obj: ReassessmentChange) -> str:
        from .reassessment import change_words

        return change_words(obj)

    @admin.display(description="Leading entity before")
    def entity_before(self, obj: ReassessmentChange) -> str:
        return entity_label(obj.previous_entity)

    @admin.display(description="Leading entity after")
    def entity_after(self, obj: ReassessmentChange) -> str:
        return entity_label(obj.entity) if obj.entity else "—"

    @admin.display(description="Management before")
    def management_before(self, obj: ReassessmentChange) -> str:
        return obj.get_previous_management_display()

    @admin.display(description="Management after")
    def management_after(self, obj: ReassessmentChange) -> str:
        return obj.get_management_display() or "—"

    @admin.display(description="Assessment re-run")
    def previous_link(self, obj: ReassessmentChange) -> str:
        return format_html('<a href="{}">Made with ruleset {}</a>', reverse(
            "assessment-detail", args=[obj.previous_id]), obj.previous.ruleset_version)

    @admin.display(description="New assessment")
    def assessment_link(self, obj: ReassessmentChange) -> str:
        if obj.assessment_id is None:
            return "None (not re-assessed)"
        return format_html('<a href="{}">Made with ruleset {}</a>', reverse(
            "assessment-detail", args=[obj.assessment_id]), obj.ruleset_version)

    @admin.display(description="Clinician's decision on the new assessment")
    def acknowledged(self, obj: ReassessmentChange) -> str:
        if obj.acknowledged_at is None:
            return "Not yet"
        when = date_format(timezone.localtime(obj.acknowledged_at), "j M Y, H:i")
        return f"{person(obj.acknowledged_by)}, {when}"


@admin.register(ReassessmentRun)
class ReassessmentRunAdmin(ReadOnlyLogAdmin):
    """Who re-assessed which clinics with which ruleset, and what each run counted."""

    list_display = ("started_at", "user", "ruleset_version", "clinics", "status",
                    "reassessed", "entity_changed", "management_raised",
                    "management_lowered", "failed", "finished_at")
    list_filter = ("status", "ruleset_version", "started_at")
    list_select_related = ("user",)
    readonly_fields = ("started_at", "finished_at", "user", "ruleset_version", "site_codes",
                       "status", "patient_count", "reassessed", "unchanged", "entity_changed",
                       "management_raised", "management_lowered", "failed",
                       "already_current")

    @admin.display(description="Clinics")
    def clinics(self, obj: ReassessmentRun) -> str:
        return ", ".join(obj.site_codes) or "None"


class MissingObjectIs404:
    """A missing, invisible or malformed object id answers 404 on every admin page, rather than
    Django's redirect to the index with a "doesn't exist" message: one answer for every door."""

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any,
                                         object_id: str) -> HttpResponse:
        raise Http404(f"No {opts.verbose_name} with that id.")


# Also for the admins other apps registered (auth, axes): each is re-registered once with the
# mixin in front, so an admin added later is covered without anyone remembering it.
for _model, _model_admin in list(admin.site._registry.items()):
    if not isinstance(_model_admin, MissingObjectIs404):
        admin.site.unregister(_model)
        admin.site.register(_model, type(type(_model_admin).__name__,
                                         (MissingObjectIs404, type(_model_admin)), {}))

