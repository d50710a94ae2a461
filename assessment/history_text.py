"""The patient's audit trail in clinical words: who changed what, from what to what, with field
and choice labels, Yes/No/Unknown, formatted dates and units; never JSON, codes or ids.

``selectors.patient_history`` fetches the historical rows (permission-checked, one query per
record type); this module only words them.
"""

from __future__ import annotations

from typing import Any

from .models import (
    Assessment,
    AssessmentDecision,
    Encounter,
    Lesion,
    LesionObservation,
    Patient,
    Photo,
)


def history_entries(fetched: list[tuple[type, list[Any]]],
                    names: dict[str, dict[int, str]]) -> list[dict[str, Any]]:
    """One entry per historical row, newest first: when, who, which record, what changed."""
    entries: list[dict[str, Any]] = []
    for model, rows in fetched:
        previous: dict[int, Any] = {}
        for row in rows:
            before = previous.get(row.id)
            change = {"+": "created", "~": "changed", "-": "deleted"}[row.history_type]
            entries.append({
                "when": row.history_date, "who": history_person(row.history_user),
                "username": getattr(row.history_user, "username", ""),
                "record": _history_record(model, row, names), "change": change,
                "summary": _history_summary(model, row) if change == "created" else "",
                "fields": [] if change == "deleted" else _changed_fields(
                    model, before, row, names),
                "order": (row.history_date, row.history_id)})
            previous[row.id] = row
    entries.sort(key=lambda e: e["order"], reverse=True)
    return entries


def history_person(person: Any) -> str:
    if person is None:
        return "System"
    return person.get_full_name() or person.username


def history_date(value: Any) -> str:
    from datetime import datetime

    from django.utils import formats, timezone

    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "j M Y H:i")
    return formats.date_format(value, "j M Y")


def lesion_name(row: Any) -> str:
    # As Lesion.__str__: the clinician's label, else where it is ("right lateral heel").
    where = " ".join(filter(None, [row.get_laterality_display(), row.get_heel_subsite_display(),
                                   row.get_site_display()]))
    return row.label or where.lower()


def _history_record(model: type, row: Any, names: dict[str, dict[int, str]]) -> str:
    """Which record a history row is about, as a clinician names it."""
    visit = names["visits"].get(getattr(row, "encounter_id", None), "")
    if model is Patient:
        return "Patient record"
    if model is Encounter:
        return f"Visit {history_date(row.date)}"
    if model is Lesion:
        return f"Lesion – {names['lesions'].get(row.id) or lesion_name(row)}"
    if model is LesionObservation:
        return _history_of("Observation", names["observations"].get(row.id, ""))
    if model is Assessment:
        return _history_of("Assessment", names["observations"].get(row.observation_id, ""))
    if model is Photo:
        return _history_of("Photo", names["observations"].get(row.observation_id, ""))
    if model is AssessmentDecision:
        return _history_of("Decision on the assessment",
                           names["assessments"].get(row.assessment_id, ""))
    from .models import LabResult

    kind = "Lab result" if model is LabResult else "Imaging"
    what = row.get_analyte_display() if kind == "Lab result" else row.get_modality_display()
    return f"{kind} – {what}" + (f", visit {visit}" if visit else "")


def _history_of(kind: str, what: str) -> str:
    return f"{kind} of {what}" if what else kind


def _history_summary(model: type, row: Any) -> str:
    """One line for a record whose stored detail is too large to list (the engine's output)."""
    if model is not Assessment:
        return ""
    from .engine.knowledge import SHORT_NAMES
    from .engine.vocab import sentence_start, words

    entity = SHORT_NAMES.get(row.leading_entity) or words(row.leading_entity)
    return (f"Assessment made: {sentence_start(entity)}, "
            f"{row.get_management_category_display().lower()}, ruleset {row.ruleset_version}")


# Never listed: bookkeeping, copies kept in step by the services (the visit's date of birth),
# the person who saved (shown as "who"), file paths and the engine's stored input and output
# (summarised instead). Links to the patient, visit, lesion, observation or assessment are not
# listed either: the entry's record name says which one it is.
_HISTORY_HIDDEN = {"id", "created_at", "updated_at", "version", "created_by", "updated_by",
                   "submission_token", "patient_born", "image", "uploaded_at", "uploaded_by",
                   "decided_at", "decided_by", "observation_version", "contract_version",
                   "input_json", "output_json"}
# Shown when changed, left out of a creation entry (the clinic copy, the summary's parts, the
# lab unit already beside each value).
_HISTORY_NOT_ON_CREATION = {"clinic", "leading_entity", "management_category",
                            "ruleset_version", "unit"}
_HISTORY_LABELS = {
    "Patient.site": "Clinic", "Lesion.site": "Body site", "color": "Colour",
    "kind": "Visit type", "review_status": "Review", "reviewed_by": "Reviewed by",
    "reviewed_at": "Reviewed on", "archived_at": "Archived on", "archived_by": "Archived by",
    "course_status": "Since the last visit", "onset_age_months": "Age when first noticed",
    "gestational_age_weeks": "Gestational age at birth", "age_months": "Age at assessment",
    "analyte": "Test", "reference_low": "Lab's low limit", "reference_high": "Lab's high limit",
    "leading_entity": "Leading diagnosis", "management_category": "Management",
    "ruleset_version": "Ruleset", "final_entity": "Final diagnosis",
    "final_subtypes": "Final subtypes", "final_management": "Final management",
    "image_format": "File format", "size_bytes": "File size", "count": "Number of lesions",
    "next_follow_up_due": "Next follow-up due", "follow_up_due": "Follow-up due",
}
_HISTORY_UNITS = {"_mm": "mm", "_weeks": "weeks", "_px": "px"}


def shown_fields(model: type) -> list[Any]:
    from django.contrib.auth import get_user_model

    from .models import Site

    return [f for f in model._meta.concrete_fields if f.name not in _HISTORY_HIDDEN
            and (not f.is_relation or f.related_model in (Site, get_user_model()))]


def _history_label(model: type, field: Any) -> str:
    from .engine.vocab import sentence_start

    label = _HISTORY_LABELS.get(f"{model.__name__}.{field.name}") or _HISTORY_LABELS.get(
        field.name)
    if label:
        return label
    label = str(field.verbose_name)
    for unit in _HISTORY_UNITS.values():
        label = label.removesuffix(" " + unit)
    return sentence_start(label)


def _history_value(model: type, field: Any, value: Any, row: Any,
                   names: dict[str, dict[int, str]]) -> str:
    """A stored value as the page says it: labels for codes, Yes/No/Unknown, "6 mm", dates."""
    from decimal import Decimal

    from django.db import models
    from django.template.defaultfilters import filesizeformat
    from django.utils.text import Truncator

    from .clinical import age_words
    from .engine.knowledge import SHORT_NAMES
    from .engine.vocab import sentence_start, words

    if isinstance(field, models.BooleanField):
        return "Unknown" if value is None else "Yes" if value else "No"
    if value is None or value == "" or value == []:
        return "—"
    if field.is_relation:
        from .models import Site

        table = names["sites"] if field.related_model is Site else names["people"]
        return table.get(value, "—")
    if field.choices:
        return str(dict(field.flatchoices).get(value, sentence_start(words(value))))
    if isinstance(field, models.DateField):  # date and date-time
        return history_date(value)
    if isinstance(field, models.JSONField):
        return _history_json(value)
    if field.name in ("leading_entity", "final_entity"):
        return sentence_start(SHORT_NAMES.get(value) or words(value))
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        if field.name.endswith("_months"):
            return age_words(float(value))
        if field.name.endswith("_bytes"):
            return str(filesizeformat(value))
        number = f"{Decimal(value).normalize():f}" if isinstance(value, Decimal) else str(value)
        if field.name in ("value", "reference_low", "reference_high") and getattr(row, "unit", ""):
            return f"{number} {row.unit}"
        unit = next((u for s, u in _HISTORY_UNITS.items() if field.name.endswith(s)), "")
        return f"{number} {unit}".strip()
    return Truncator(str(value)).chars(200)


def _history_json(value: Any) -> str:
    """A list of codes as words, a list of flags as their sentences, anything larger as a
    count: never the structure itself."""
    from .engine.vocab import sentence_start, words

    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return sentence_start(", ".join(words(item) for item in value))
    if isinstance(value, list) and all(isinstance(item, dict) and "text" in item
                                       for item in value):
        return " ".join(str(item["text"]) for item in value)
    if isinstance(value, list):
        return f"{len(value)} item{'s' if len(value) != 1 else ''}"
    return "recorded"


def _changed_fields(model: type, before: Any, after: Any,
                    names: dict[str, dict[int, str]]) -> list[dict[str, str]]:
    """What a history row changed against the row before it, or, for a new record, what it
    was created with (answers given, nothing left empty or unknown)."""
    from django.db import models

    changes = []
    for field in shown_fields(model):
        new = getattr(after, field.attname)
        label = _history_label(model, field)
        if before is None:
            empty = new in (None, "", [], {}) or (
                new is False and isinstance(field, models.BooleanField) and not field.null)
            if not empty and field.name not in _HISTORY_NOT_ON_CREATION:
                changes.append({"label": label,
                                "value": _history_value(model, field, new, after, names)})
            continue
        old = getattr(before, field.attname)
        if old != new:
            changes.append({"label": label,
                            "old": _history_value(model, field, old, before, names),
                            "new": _history_value(model, field, new, after, names)})
    if before is not None and model is Assessment and (
            before.input_json != after.input_json or before.output_json != after.output_json):
        changes.append({"label": "Engine input and output", "value": "replaced"})
    return changes
