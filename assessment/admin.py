"""Admin for reviewers: every clinical model, readable assessments, and encounter review with
who and when recorded."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from . import services
from .engine import vocab
from .models import (
    Assessment,
    AssessmentDecision,
    Encounter,
    ImagingFinding,
    LabResult,
    Lesion,
    LesionObservation,
    ManagementCategory,
    Patient,
    ReviewStatus,
    code_choices,
)
from .presenters import assessment_view_model

admin.site.site_header = "Heel nodule assessment: review"
admin.site.site_title = "Calcinosis review"

TRACKED_READONLY = ("created_at", "created_by", "updated_at", "updated_by", "version")


class TrackedAdmin(admin.ModelAdmin):
    readonly_fields = TRACKED_READONLY

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Patient)
class PatientAdmin(TrackedAdmin):
    list_display = ("record_number", "date_of_birth", "sex", "visits", "created_at")
    list_filter = ("sex",)
    search_fields = ("record_number",)
    date_hierarchy = "created_at"

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
    form = EncounterReviewForm
    list_display = ("patient_record", "date", "kind", "clinician", "leading", "management",
                    "review_status", "reviewed_by", "reviewed_at")
    list_filter = ("review_status", SubtypeFilter, ManagementFilter, "kind", "date")
    list_select_related = ("patient", "clinician", "reviewed_by")
    search_fields = ("patient__record_number",)
    date_hierarchy = "date"
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # visits are entered in the app, where the engine checks them

    def get_queryset(self, request: HttpRequest) -> QuerySet[Encounter]:
        latest = Assessment.objects.filter(observation__encounter=OuterRef("pk")).order_by("-id")
        return super().get_queryset(request).annotate(
            latest_entity=Subquery(latest.values("leading_entity")[:1]),
            latest_management=Subquery(latest.values("management_category")[:1]),
        )

    @admin.display(description="Patient", ordering="patient__record_number")
    def patient_record(self, obj: Encounter) -> str:
        return obj.patient.record_number

    @admin.display(description="Leading entity")
    def leading(self, obj: Encounter) -> str:
        return (obj.latest_entity or "—").replace("_", " ")

    @admin.display(description="Management")
    def management(self, obj: Encounter) -> str:
        return dict(ManagementCategory.choices).get(obj.latest_management, "—")

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

    @admin.action(description="Approve selected encounters", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Encounter]) -> None:
        for encounter in queryset:
            services.encounter_review(encounter=encounter, status=ReviewStatus.APPROVED,
                                      comment=encounter.review_comment, user=request.user)
        self.message_user(request, f"{queryset.count()} encounter(s) approved.", messages.SUCCESS)


@admin.register(Lesion)
class LesionAdmin(TrackedAdmin):
    list_display = ("__str__", "patient", "site", "heel_subsite", "laterality", "status",
                    "resolved_on")
    list_filter = ("status", "site")
    list_select_related = ("patient",)
    search_fields = ("patient__record_number", "label")


@admin.register(LesionObservation)
class LesionObservationAdmin(TrackedAdmin):
    list_display = ("lesion", "encounter", "count", "largest_diameter_mm", "trend")
    list_select_related = ("lesion", "encounter__patient")
    search_fields = ("encounter__patient__record_number",)


@admin.register(LabResult)
class LabResultAdmin(TrackedAdmin):
    list_display = ("encounter", "analyte", "value", "unit", "reference_low", "reference_high")
    list_filter = ("analyte",)
    list_select_related = ("encounter__patient",)
    search_fields = ("encounter__patient__record_number",)


@admin.register(ImagingFinding)
class ImagingFindingAdmin(TrackedAdmin):
    list_display = ("encounter", "modality", "finding")
    list_filter = ("modality",)
    list_select_related = ("encounter__patient",)
    search_fields = ("encounter__patient__record_number",)


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    list_display = ("id", "patient_record", "lesion", "leading_entity", "primary_subtype",
                    "management_category", "urgent", "ruleset_version", "created_at")
    list_filter = ("primary_subtype", "management_category", "urgent", "calcinosis",
                   "ruleset_version", "created_at")
    list_select_related = ("observation__lesion", "observation__encounter__patient")
    search_fields = ("observation__encounter__patient__record_number",)
    date_hierarchy = "created_at"
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # assessments come from the engine only

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the stored result is the record; decisions are added in the app

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
class AssessmentDecisionAdmin(admin.ModelAdmin):
    list_display = ("assessment", "decision", "final_entity", "final_management", "decided_by",
                    "decided_at")
    list_filter = ("decision", "final_management")
    list_select_related = ("assessment", "decided_by")
    readonly_fields = ("assessment", "decision", "final_subtypes", "final_entity",
                       "final_management", "reason", "decided_by", "decided_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
