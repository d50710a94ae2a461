"""Admin for reviewers: every clinical model, readable assessments, and encounter review with
who and when recorded."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest
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

admin.site.site_header = "Heel nodule assessment: review"
admin.site.site_title = "Calcinosis review"

TRACKED_READONLY = ("created_at", "created_by", "updated_at", "updated_by", "version")


class SiteScopedAdmin(SimpleHistoryAdmin):
    """Staff see only their sites' records, read-only unless a rule below allows a change;
    nothing clinical is ever deleted here (records are archived in the app)."""

    site_path = "site"  # lookup from this model to its Site
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
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # clinical records are entered in the app, where the engine checks them

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TrackedAdmin(SiteScopedAdmin):
    readonly_fields = TRACKED_READONLY


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # the parent admin has already checked the site


@admin.register(Patient)
class PatientAdmin(TrackedAdmin):
    list_display = ("record_number", "site", "date_of_birth", "sex", "visits", "archived_at",
                    "created_at")
    list_filter = ("site", "sex", ("archived_at", admin.EmptyFieldListFilter))
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


class EncounterReviewForm(forms.ModelForm):
    class Meta:
        model = Encounter
        fields = ("review_status", "review_comment")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (cleaned.get("review_status") == ReviewStatus.CHANGES
                and not (cleaned.get("review_comment") or "").strip()):
            self.add_error("review_comment", "Say what needs to change.")
        return cleaned


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
        ("Review", {"fields": ("review_status", "review_comment", "reviewed_by",
                               "reviewed_at")}),
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
        if obj is None:
            return access.can_anywhere(request.user, access.REVIEW)
        return access.can(request.user, access.REVIEW, obj.patient.site_id)

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
        if change and {"review_status", "review_comment"} & set(form.changed_data):
            obj.reviewed_by = request.user
            obj.reviewed_at = timezone.now()
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)
        services.worklist_changed()

    @admin.action(description="Approve selected encounters", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Encounter]) -> None:
        done = 0
        for encounter in queryset.select_related("patient"):
            if access.can(request.user, access.REVIEW, encounter.patient.site_id):
                services.encounter_review(encounter=encounter, status=ReviewStatus.APPROVED,
                                          comment=encounter.review_comment, user=request.user)
                done += 1
        self.message_user(request, f"{done} encounter(s) approved.", messages.SUCCESS)


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
    site_path = "encounter__patient__site"
    list_display = ("lesion", "encounter", "count", "largest_diameter_mm", "trend")
    list_select_related = ("lesion", "encounter__patient")
    search_fields = ("encounter__patient__record_number",)


@admin.register(LabResult)
class LabResultAdmin(TrackedAdmin):
    site_path = "encounter__patient__site"
    list_display = ("encounter", "analyte", "value", "unit", "reference_low", "reference_high")
    list_filter = ("analyte",)
    list_select_related = ("encounter__patient",)
    search_fields = ("encounter__patient__record_number",)


@admin.register(ImagingFinding)
class ImagingFindingAdmin(TrackedAdmin):
    site_path = "encounter__patient__site"
    list_display = ("encounter", "modality", "finding")
    list_filter = ("modality",)
    list_select_related = ("encounter__patient",)
    search_fields = ("encounter__patient__record_number",)


@admin.register(Assessment)
class AssessmentAdmin(SiteScopedAdmin):
    site_path = "observation__encounter__patient__site"
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
    site_path = "assessment__observation__encounter__patient__site"
    list_display = ("assessment", "decision", "final_entity", "final_management", "decided_by",
                    "decided_at")
    list_filter = ("decision", "final_management")
    list_select_related = ("assessment", "decided_by")
    readonly_fields = ("assessment", "decision", "final_subtypes", "final_entity",
                       "final_management", "reason", "decided_by", "decided_at")


@admin.register(Photo)
class PhotoAdmin(SiteScopedAdmin):
    site_path = "observation__encounter__patient__site"
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
class SiteAdmin(SuperuserOnlyAdmin, SimpleHistoryAdmin):
    list_display = ("name", "code", "members")
    search_fields = ("name", "code")
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Site]:
        return super().get_queryset(request).annotate(member_count=Count("memberships"))

    @admin.display(description="Members", ordering="member_count")
    def members(self, obj: Site) -> int:
        return obj.member_count


@admin.register(Membership)
class MembershipAdmin(SuperuserOnlyAdmin, SimpleHistoryAdmin):
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
