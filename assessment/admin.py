"""Admin for reviewers: every clinical model, readable assessments, and encounter review with
who and when recorded."""

from __future__ import annotations

import json
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
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from . import access, services
from .engine import vocab
from .models import (
    ApiToken,
    Assessment,
    AssessmentDecision,
    Encounter,
    ImagingFinding,
    LabResult,
    Lesion,
    LesionObservation,
    ManagementCategory,
    Membership,
    Patient,
    PatientViewLog,
    Photo,
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


VISIT_FIELDS = ("patient", "date", "clinician", "kind", "notes", "fever",
                "hypercalcemia_symptoms", "ctd_signs")


@admin.register(Encounter)
class EncounterAdmin(TrackedAdmin):
    site_path = "clinic"
    form = EncounterReviewForm
    list_display = ("patient_record", "date", "kind", "clinician", "leading", "management",
                    "review_status", "reviewed_by", "reviewed_at")
    list_filter = ("review_status", SubtypeFilter, ManagementFilter, "kind", "date")
    list_select_related = ("patient", "clinician", "reviewed_by")
    search_fields = ("patient__record_number",)
    # No date hierarchy and no second, unfiltered count: both aggregate the whole visits
    # table on every page load of a large registry.
    show_full_result_count = False
    actions = ["approve"]
    # The admin is for review: what was seen is entered and corrected in the app, not here.
    readonly_fields = (*TRACKED_READONLY, "reviewed_by", "reviewed_at", "assessments_summary",
                       *VISIT_FIELDS)
    fieldsets = (
        ("Review", {"fields": ("review_status", "review_comment", "expected_version",
                               "reviewed_by", "reviewed_at")}),
        ("Assessments", {"fields": ("assessments_summary",)}),
        ("Visit", {"fields": VISIT_FIELDS}),
        ("Record", {"classes": ("collapse",), "fields": TRACKED_READONLY}),
    )

    class ObservationInline(ReadOnlyInline):
        model = LesionObservation
        fields = ("lesion", "count", "largest_diameter_mm", "color", "surface", "consistency",
                  "features", "trend")
        readonly_fields = fields

    class LabInline(ReadOnlyInline):
        model = LabResult
        fields = ("analyte", "value", "unit", "reference_low", "reference_high")
        readonly_fields = fields

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
        observations = LesionObservation.objects.only("id", "encounter_id").prefetch_related(
            Prefetch("assessments", queryset=assessments))
        return super().get_queryset(request).prefetch_related(
            Prefetch("observations", queryset=observations))

    def _latest(self, obj: Encounter) -> Assessment | None:
        found = [a for o in obj.observations.all() for a in o.assessments.all()]
        return max(found, key=lambda a: a.pk, default=None)

    @admin.display(description="Patient", ordering="patient__record_number")
    def patient_record(self, obj: Encounter) -> str:
        return obj.patient.record_number

    @admin.display(description="Leading entity")
    def leading(self, obj: Encounter) -> str:
        latest = self._latest(obj)
        return latest.leading_entity.replace("_", " ") if latest else "—"

    @admin.display(description="Management")
    def management(self, obj: Encounter) -> str:
        latest = self._latest(obj)
        return latest.get_management_category_display() if latest else "—"

    @admin.display(description="Engine assessments")
    def assessments_summary(self, obj: Encounter) -> str:
        rows = Assessment.objects.filter(observation__encounter=obj).select_related(
            "observation__lesion")
        items = format_html_join("", '<li><a href="{}">{}</a>: {} — <strong>{}</strong>{}</li>', (
            (reverse("admin:assessment_assessment_change", args=[a.pk]), a.observation.lesion,
             a.output_json["leading_entity"]["label"], a.get_management_category_display(),
             " (urgent flag)" if a.urgent else "") for a in rows))
        return format_html("<ul>{}</ul>", items) if items else "—"

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
    list_display = ("lesion", "encounter", "count", "largest_diameter_mm", "trend")
    list_select_related = ("lesion", "encounter__patient")
    search_fields = ("encounter__patient__record_number",)


@admin.register(LabResult)
class LabResultAdmin(TrackedAdmin):
    site_path = "encounter__clinic"
    patient_path = "encounter__patient"
    list_display = ("encounter", "analyte", "value", "unit", "reference_low", "reference_high")
    list_filter = ("analyte",)
    list_select_related = ("encounter__patient",)
    search_fields = ("encounter__patient__record_number",)


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
    list_display = ("id", "patient_record", "lesion", "leading_entity", "primary_subtype",
                    "management_category", "urgent", "ruleset_version", "created_at")
    list_filter = ("primary_subtype", "management_category", "urgent", "calcinosis",
                   "ruleset_version", "created_at")
    list_select_related = ("observation__lesion", "observation__encounter__patient")
    search_fields = ("observation__encounter__patient__record_number",)
    show_full_result_count = False
    readonly_fields = ("readable", "input_pretty", "output_pretty", "observation",
                       "ruleset_version", "contract_version", "created_at", "created_by")
    fields = ("readable", "observation", "ruleset_version", "contract_version", "created_at",
              "created_by", "input_pretty", "output_pretty")

    class DecisionInline(ReadOnlyInline):
        model = AssessmentDecision
        fields = ("decision", "final_entity", "final_subtypes", "final_management", "reason",
                  "decided_by", "decided_at")
        readonly_fields = fields
        show_change_link = False

    inlines = [DecisionInline]

    @admin.display(description="Patient", ordering="observation__encounter__patient")
    def patient_record(self, obj: Assessment) -> str:
        return obj.observation.encounter.patient.record_number

    @admin.display(description="Lesion")
    def lesion(self, obj: Assessment) -> str:
        return str(obj.observation.lesion)

    @admin.display(description="Assessment")
    def readable(self, obj: Assessment) -> str:
        return render_to_string("assessment/_assessment_body.html",
                                {"view": assessment_view_model(obj)})

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
    list_display = ("assessment", "decision", "final_entity", "final_management", "decided_by",
                    "decided_at")
    list_filter = ("decision", "final_management")
    list_select_related = ("assessment", "decided_by")
    readonly_fields = ("assessment", "decision", "final_subtypes", "final_entity",
                       "final_management", "reason", "decided_by", "decided_at")


@admin.register(Photo)
class PhotoAdmin(SiteScopedAdmin):
    site_path = "observation__encounter__clinic"
    patient_path = "observation__encounter__patient"
    list_display = ("id", "observation", "image_format", "width_px", "height_px", "size_bytes",
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


@admin.register(PatientViewLog)
class PatientViewLogAdmin(SuperuserOnlyAdmin):
    list_display = ("viewed_at", "user", "patient", "path")
    list_filter = ("viewed_at",)
    list_select_related = ("user", "patient")
    search_fields = ("patient__record_number", "user__username")
    date_hierarchy = "viewed_at"
    readonly_fields = ("viewed_at", "user", "patient", "path")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an access log that can be edited is no log


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
