"""REDCap export: a data dictionary, the matching records CSV and the repeating-instruments set-up.

The target is a classic (non-longitudinal) REDCap project with repeating instruments:

- ``patient`` (not repeating): the child, history answers about the child;
- ``visit``: one instance per visit (date, kind, age, visit history answers, imaging, review);
- ``lesion_visit``: one instance per lesion per visit (what was seen of that lesion);
- ``lab``: one instance per laboratory result;
- ``assessment``: one instance per engine assessment, with the clinician's latest decision.

Repeating rows point back to their visit by the visit's instance number and date (``*_visit_
instance``, ``*_visit_date``) and to their lesion by its number within the patient (lesions in the
order they were first recorded: 1, 2, ...), because REDCap has no foreign keys between instances.

The dictionary is defined once, as data (``FIELDS``); the records are written from it (each
field knows how to read its value), so the two cannot drift apart. Coded values keep the app's
codes in the records; the dictionary carries their labels. Free-text visit notes and review
comments are left out (they may name people); see docs/INTEROP.md.

Reads: ``records`` takes clinics already checked with ``selectors.report_sites`` and checks the
REPORT role again itself; patients are read in batches with their visits, lesions, labs, imaging,
assessments and decisions prefetched: a constant number of queries per batch, memory bounded by
the batch.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import F, Prefetch

from assessment import access
from assessment.clinical import age_in_months
from assessment.engine import vocab
from assessment.engine.knowledge import ENTITY_LIST
from assessment.engine.labs import ANALYTE_CODES, ANALYTES
from assessment.models import (
    FLAG_LABELS,
    IMAGING_CODES,
    LESION_HISTORY_FLAGS,
    PATIENT_HISTORY_FLAGS,
    VISIT_HISTORY_FLAGS,
    Assessment,
    AssessmentDecision,
    CourseStatus,
    Decision,
    Encounter,
    EncounterKind,
    ImagingModality,
    LabResult,
    Lesion,
    LesionObservation,
    LesionStatus,
    ManagementCategory,
    Patient,
    ReviewStatus,
    Sex,
    Site,
)
from assessment.text import spreadsheet_safe

DICTIONARY_COLUMNS = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note",
    "Text Validation Type OR Show Slider Number", "Text Validation Min", "Text Validation Max",
    "Identifier?", "Branching Logic (Show field only if...)", "Required Field?",
    "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)
SYSTEM_COLUMNS = ("record_id", "redcap_repeat_instrument", "redcap_repeat_instance")
REPEATING_COLUMNS = ("form_name", "custom_form_label")

FORMS = ("patient", "visit", "lesion_visit", "lab", "assessment")
# Short names for the forms, so the field table below reads as a table.
P, V, LV, LAB, A = FORMS
# Custom labels shown beside each instance on REDCap's record home page (piped fields).
REPEATING_FORMS = {
    "visit": "[visit_date] [visit_kind]",
    "lesion_visit": "Lesion [lesion_number] at the visit of [lv_visit_date]",
    "lab": "[lab_analyte] at the visit of [lab_visit_date]",
    "assessment": "Lesion [asmt_lesion_number] at the visit of [asmt_visit_date], "
                  "ruleset [asmt_ruleset]",
}

BATCH_SIZE = 200

Choices = tuple[tuple[str, str], ...]

# A tri-state history answer: the app stores null for "unknown" (never for "no"), so unknown is
# written as its own code rather than left blank.
YES_NO_UNKNOWN: Choices = (("1", "Yes"), ("0", "No"), ("9", "Unknown"))


def _labels(codes: Iterable[str]) -> Choices:
    return tuple((code, vocab.sentence_start(vocab.words(code))) for code in codes)


def _text_choices(choices: Any) -> Choices:
    return tuple((str(code), str(label)) for code, label in choices.choices)


@dataclass(frozen=True)
class Field:
    """One row of the data dictionary, and how to read its value for a records row.

    ``read`` takes the instrument's row (see ``_rows``) and returns a Python value: a code, a
    date, a number, a bool, None, or for a checkbox the set of ticked codes.
    """

    name: str
    form: str
    type: str  # text, notes, dropdown, radio, checkbox, yesno
    label: str
    read: Callable[[Any], Any] = field(compare=False, repr=False)
    choices: Choices = ()
    validation: str = ""  # date_ymd, integer, number
    minimum: str = ""
    maximum: str = ""
    note: str = ""
    identifier: bool = False
    required: bool = False
    section: str = ""
    annotation: str = ""
    # Written when the value is None (tri-state history: "9", unknown).
    if_none: str = ""

    def columns(self) -> list[str]:
        """The records columns of this field: a checkbox has one per choice (``name___code``)."""
        if self.type == "checkbox":
            return [f"{self.name}___{code}" for code, _ in self.choices]
        return [self.name]

    def cells(self, row: Any) -> list[str]:
        value = self.read(row)
        if self.type == "checkbox":
            if value is None:  # nothing recorded (no decision): blank, not "unticked"
                return [""] * len(self.choices)
            ticked = set(value)
            return ["1" if code in ticked else "0" for code, _ in self.choices]
        return [_encode(self, value)]

    def dictionary_row(self) -> list[str]:
        return [self.name, self.form, self.section, self.type, self.label,
                " | ".join(f"{code}, {label}" for code, label in self.choices), self.note,
                self.validation, self.minimum, self.maximum, "y" if self.identifier else "",
                "", "y" if self.required else "", "", "", "", "", self.annotation]


def _number(value: Decimal | float | int) -> str:
    """A number with a "." decimal and no exponent or trailing zeros (REDCap's ``number``)."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, int):
        return str(value)
    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text in ("-0", "") else text


def _encode(spec: Field, value: Any) -> str:
    if value is None or value == "":
        return spec.if_none
    if spec.choices == YES_NO_UNKNOWN or spec.type == "yesno":
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal, float, int)) and not isinstance(value, bool):
        return _number(value)
    text = str(value)
    if spec.type in ("text", "notes") and not spec.validation:
        return spreadsheet_safe(text)
    return text


# --- Rows of the repeating instruments -----------------------------------------------------------

@dataclass
class VisitRow:
    encounter: Encounter
    patient: Patient
    instance: int
    imaging: dict[str, list[str]]


@dataclass
class LesionVisitRow:
    observation: LesionObservation
    lesion: Lesion
    lesion_number: int
    visit: VisitRow


@dataclass
class LabRow:
    lab: LabResult
    visit: VisitRow
    # The engine's reading of this result at that visit (its "labs" output row), if assessed.
    engine: dict[str, Any] | None


@dataclass
class AssessmentRow:
    assessment: Assessment
    decision: AssessmentDecision | None
    lesion_number: int
    visit: VisitRow


def _canonical(row: LabRow) -> tuple[Any, Any]:
    """The value and unit the engine compared (its canonical unit), from the stored output."""
    if row.engine is None:
        return None, None
    converted = row.engine.get("converted")
    if converted:
        return converted.get("value"), converted.get("unit")
    # No conversion: the result was entered in the canonical unit already.
    return row.engine.get("value"), row.engine.get("unit")


def _decision(attribute: str) -> Callable[[AssessmentRow], Any]:
    return lambda r: getattr(r.decision, attribute) if r.decision is not None else None


def _flag_label(name: str) -> str:
    return FLAG_LABELS.get(name, vocab.sentence_start(vocab.words(name)))


# REDCap recommends field names of 26 characters at most; this one is the only long flag.
SHORT_NAMES = {"perinatal_asphyxia_or_cooling": "perinatal_asphyxia_cooling"}

ENTITY_CHOICES: Choices = tuple((e.code, e.label) for e in ENTITY_LIST)
MANAGEMENT_CHOICES = _text_choices(ManagementCategory)
SUBTYPE_CHOICES = _labels(vocab.SUBTYPES)
VISIT_LINK_NOTE = "The instance number of the visit form this row belongs to."


def _fields() -> tuple[Field, ...]:
    fields: list[Field] = [
        # --- patient ---
        Field("record_id", P, "text", "Record number (pseudonymous)",
              lambda p: p.record_number, required=True,
              note="The clinic's pseudonymous record number; no names."),
        Field("clinic_code", P, "text", "Clinic code", lambda p: p.site.code),
        Field("date_of_birth", P, "text", "Date of birth", lambda p: p.date_of_birth,
              validation="date_ymd", identifier=True, required=True),
        Field("sex", P, "radio", "Sex", lambda p: p.sex, choices=_text_choices(Sex)),
        Field("gestational_age_weeks", P, "text", "Gestational age at birth (weeks)",
              lambda p: p.gestational_age_weeks, validation="number", minimum="22",
              maximum="44"),
        *(Field(SHORT_NAMES.get(name, name), P, "radio", _flag_label(name),
                lambda p, name=name: getattr(p, name), choices=YES_NO_UNKNOWN, if_none="9",
                section="History" if index == 0 else "")
          for index, name in enumerate(PATIENT_HISTORY_FLAGS)),
        Field("record_archived", P, "yesno", "Record archived in the clinic's app",
              lambda p: p.archived_at is not None,
              note="Archived records are kept and readable, but no longer followed up."),
        # --- visit ---
        Field("visit_date", V, "text", "Visit date", lambda v: v.encounter.date,
              validation="date_ymd", required=True),
        Field("visit_kind", V, "radio", "Kind of visit", lambda v: v.encounter.kind,
              choices=_text_choices(EncounterKind)),
        Field("visit_age_months", V, "text", "Age at the visit (months)",
              lambda v: age_in_months(v.patient.date_of_birth, v.encounter.date),
              validation="number", minimum="0",
              note="Completed calendar months plus the fraction of the current month."),
        *(Field(name, V, "radio", _flag_label(name),
                lambda v, name=name: getattr(v.encounter, name), choices=YES_NO_UNKNOWN,
                if_none="9")
          for name in VISIT_HISTORY_FLAGS),
        Field("xray", V, "dropdown", "X-ray", lambda v: _one(v.imaging, ImagingModality.XRAY),
              choices=_labels(IMAGING_CODES["xray"]), section="Imaging"),
        Field("ultrasound", V, "dropdown", "Ultrasound",
              lambda v: _one(v.imaging, ImagingModality.ULTRASOUND),
              choices=_labels(IMAGING_CODES["ultrasound"])),
        Field("dermoscopy", V, "checkbox", "Dermoscopy",
              lambda v: v.imaging.get(ImagingModality.DERMOSCOPY, []),
              choices=_labels(IMAGING_CODES["dermoscopy"])),
        Field("histology", V, "dropdown", "Histology",
              lambda v: _one(v.imaging, ImagingModality.HISTOLOGY),
              choices=_labels(IMAGING_CODES["histology"])),
        Field("visit_review_status", V, "radio", "Review status",
              lambda v: v.encounter.review_status, choices=_text_choices(ReviewStatus)),
        # --- lesion_visit ---
        Field("lv_visit_instance", LV, "text", "Visit (instance)", lambda r: r.visit.instance,
              validation="integer", minimum="1", note=VISIT_LINK_NOTE),
        Field("lv_visit_date", LV, "text", "Visit date", lambda r: r.visit.encounter.date,
              validation="date_ymd"),
        Field("lesion_number", LV, "text", "Lesion number", lambda r: r.lesion_number,
              validation="integer", minimum="1",
              note="The same lesion keeps its number at every visit (1 = first recorded)."),
        Field("lesion_label", LV, "text", "Lesion name", lambda r: r.lesion.label,
              note="Short name given by the clinic, e.g. right heel nodule."),
        Field("lesion_site", LV, "dropdown", "Site", lambda r: r.lesion.site,
              choices=_labels(vocab.SITES)),
        Field("heel_subsite", LV, "dropdown", "Part of the heel", lambda r: r.lesion.heel_subsite,
              choices=_labels(vocab.HEEL_SUBSITES)),
        Field("laterality", LV, "radio", "Side", lambda r: r.lesion.laterality,
              choices=_labels(vocab.LATERALITIES)),
        *(Field(name, LV, "radio", _flag_label(name),
                lambda r, name=name: getattr(r.lesion, name), choices=YES_NO_UNKNOWN,
                if_none="9", section="History at this site" if index == 0 else "")
          for index, name in enumerate(LESION_HISTORY_FLAGS)),
        Field("course_status", LV, "dropdown", "Course since the last visit",
              lambda r: r.observation.course_status, choices=_text_choices(CourseStatus),
              note="Blank at the lesion's first visit.", section="Seen at this visit"),
        Field("lesion_count", LV, "text", "Number of nodules", lambda r: r.observation.count,
              validation="integer", minimum="1", maximum="500"),
        Field("distribution", LV, "dropdown", "Distribution",
              lambda r: r.observation.distribution, choices=_labels(vocab.DISTRIBUTIONS)),
        Field("largest_diameter_mm", LV, "text", "Largest diameter (mm)",
              lambda r: r.observation.largest_diameter_mm, validation="number", minimum="0.1",
              maximum="999.9"),
        Field("perpendicular_diameter_mm", LV, "text", "Perpendicular diameter (mm)",
              lambda r: r.observation.perpendicular_diameter_mm, validation="number",
              minimum="0.1", maximum="999.9"),
        Field("colour", LV, "dropdown", "Colour", lambda r: r.observation.color,
              choices=_labels(vocab.COLORS)),
        Field("morphology", LV, "dropdown", "Morphology", lambda r: r.observation.morphology,
              choices=_labels(vocab.MORPHOLOGIES)),
        Field("surface", LV, "dropdown", "Surface", lambda r: r.observation.surface,
              choices=_labels(vocab.SURFACES)),
        Field("consistency", LV, "dropdown", "Consistency", lambda r: r.observation.consistency,
              choices=_labels(vocab.CONSISTENCIES)),
        Field("features", LV, "checkbox", "Features", lambda r: r.observation.features,
              choices=_labels(vocab.FEATURES)),
        Field("onset_age_months", LV, "text", "Age at onset (months)",
              lambda r: r.observation.onset_age_months, validation="number", minimum="0"),
        Field("duration_weeks", LV, "text", "Duration (weeks)",
              lambda r: r.observation.duration_weeks, validation="number", minimum="0"),
        Field("trend", LV, "dropdown", "Trend", lambda r: r.observation.trend,
              choices=_labels(vocab.TRENDS)),
        Field("lesion_status", LV, "radio", "Lesion status (at the export)",
              lambda r: r.lesion.status, choices=_text_choices(LesionStatus),
              note="The lesion's status when the file was made, on each of its rows.",
              section="Lesion status"),
        Field("lesion_resolved_on", LV, "text", "Date the lesion resolved",
              lambda r: r.lesion.resolved_on, validation="date_ymd"),
        # --- lab ---
        Field("lab_visit_instance", LAB, "text", "Visit (instance)", lambda r: r.visit.instance,
              validation="integer", minimum="1", note=VISIT_LINK_NOTE),
        Field("lab_visit_date", LAB, "text", "Visit date", lambda r: r.visit.encounter.date,
              validation="date_ymd"),
        Field("lab_analyte", LAB, "dropdown", "Analyte", lambda r: r.lab.analyte,
              choices=tuple((code, ANALYTES[code].label) for code in ANALYTE_CODES)),
        Field("lab_value", LAB, "text", "Value (as entered)", lambda r: r.lab.value,
              validation="number", minimum="0"),
        Field("lab_unit", LAB, "text", "Unit (as entered)", lambda r: r.lab.unit),
        Field("lab_ref_low", LAB, "text", "Reference interval, low (laboratory's)",
              lambda r: r.lab.reference_low, validation="number"),
        Field("lab_ref_high", LAB, "text", "Reference interval, high (laboratory's)",
              lambda r: r.lab.reference_high, validation="number"),
        Field("lab_value_canonical", LAB, "text", "Value in the canonical unit",
              lambda r: _canonical(r)[0], validation="number", minimum="0",
              note="As the assessment engine converted it; blank if the visit was not "
                   "assessed."),
        Field("lab_unit_canonical", LAB, "text", "Canonical unit", lambda r: _canonical(r)[1]),
        Field("lab_flag", LAB, "dropdown", "Against the reference interval",
              lambda r: (r.engine or {}).get("flag"), choices=_labels(vocab.LAB_FLAGS)),
        # --- assessment ---
        Field("asmt_visit_instance", A, "text", "Visit (instance)", lambda r: r.visit.instance,
              validation="integer", minimum="1", note=VISIT_LINK_NOTE),
        Field("asmt_visit_date", A, "text", "Visit date", lambda r: r.visit.encounter.date,
              validation="date_ymd"),
        Field("asmt_lesion_number", A, "text", "Lesion number", lambda r: r.lesion_number,
              validation="integer", minimum="1",
              note="The lesion_number of the lesion_visit rows."),
        Field("asmt_ruleset", A, "text", "Ruleset version",
              lambda r: r.assessment.ruleset_version),
        Field("asmt_age_months", A, "text", "Age at the visit (months)",
              lambda r: r.assessment.age_months, validation="number", minimum="0"),
        Field("calcinosis", A, "dropdown", "Calcinosis", lambda r: r.assessment.calcinosis,
              choices=_labels(vocab.CALCINOSIS_LEVELS)),
        Field("leading_entity", A, "dropdown", "Leading diagnosis",
              lambda r: r.assessment.leading_entity, choices=ENTITY_CHOICES),
        Field("primary_subtype", A, "dropdown", "Primary subtype",
              lambda r: r.assessment.primary_subtype, choices=SUBTYPE_CHOICES),
        Field("management", A, "dropdown", "Management",
              lambda r: r.assessment.management_category, choices=MANAGEMENT_CHOICES),
        Field("urgent", A, "yesno", "Urgent red flag", lambda r: r.assessment.urgent),
        Field("follow_up_due", A, "text", "Follow-up due", lambda r: r.assessment.follow_up_due,
              validation="date_ymd"),
        Field("atypical_course", A, "yesno", "Atypical course",
              lambda r: r.assessment.atypical_course),
        Field("decision", A, "radio", "Clinician's decision", _decision("decision"),
              choices=_text_choices(Decision), note="Blank if no decision was recorded.",
              section="Clinician's decision (the latest)"),
        Field("final_entity", A, "dropdown", "Final diagnosis", _decision("final_entity"),
              choices=ENTITY_CHOICES),
        Field("final_subtypes", A, "checkbox", "Final subtypes", _decision("final_subtypes"),
              choices=SUBTYPE_CHOICES),
        Field("final_management", A, "dropdown", "Final management",
              _decision("final_management"), choices=MANAGEMENT_CHOICES),
        Field("flag_considered", A, "yesno", "Red flag considered before a milder management",
              _decision("flag_considered")),
        Field("override_reason", A, "notes", "Reason for overriding", _decision("reason"),
              note="Free text written by the clinician when overriding."),
    ]
    return tuple(fields)


def _one(imaging: dict[str, list[str]], modality: str) -> str | None:
    found = imaging.get(modality)
    return found[0] if found else None


FIELDS = _fields()
FIELDS_BY_FORM = {form: tuple(f for f in FIELDS if f.form == form) for form in FORMS}
RECORD_COLUMNS = tuple(
    [*SYSTEM_COLUMNS, *(column for f in FIELDS if f.name != "record_id" for column in
                        f.columns())])

FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def dictionary_rows() -> Iterator[list[str]]:
    yield list(DICTIONARY_COLUMNS)
    for spec in FIELDS:
        yield spec.dictionary_row()


def repeating_rows() -> Iterator[list[str]]:
    yield list(REPEATING_COLUMNS)
    for form, label in REPEATING_FORMS.items():
        yield [form, label]


# --- Records -------------------------------------------------------------------------------------

def _patient_batches(user: Any, sites: list[Site], batch_size: int
                     ) -> Iterator[list[Patient]]:
    """The clinics' patients in record-number order, ``batch_size`` at a time, each batch with
    everything the records need prefetched (a fixed number of queries per batch)."""
    # The caller took ``sites`` from selectors.report_sites; asked again here (no query: the
    # roles are cached on the user) so this function cannot be handed another clinic.
    site_ids = [site.pk for site in sites if access.can(user, access.REPORT, site.pk)]
    if not site_ids:
        return
    observations = LesionObservation.objects.order_by("id").prefetch_related(
        Prefetch("assessments", queryset=Assessment.objects.defer(
            "input_json", "output_json", "course_flags").order_by("created_at", "id")),
        Prefetch("assessments__decisions",
                 queryset=AssessmentDecision.objects.order_by("-decided_at", "-id")))
    encounters = Encounter.objects.defer("notes", "review_comment").order_by(
        "date", "id").prefetch_related(
        Prefetch("observations", queryset=observations),
        Prefetch("labs", queryset=LabResult.objects.order_by("id")), "imaging")
    base = Patient.objects.filter(site_id__in=site_ids).select_related("site").prefetch_related(
        Prefetch("encounters", queryset=encounters),
        Prefetch("lesions", queryset=Lesion.objects.order_by("id"))).order_by("record_number")
    last = None
    while True:
        page = base if last is None else base.filter(record_number__gt=last)
        batch = list(page[:batch_size])
        if not batch:
            return
        last = batch[-1].record_number
        yield batch
        if len(batch) < batch_size:
            return


def _engine_labs(patients: list[Patient]) -> dict[int, dict[str, dict[str, Any]]]:
    """{visit id: {analyte: the engine's output row}} from each visit's newest assessment, in
    one query for the batch (only the "labs" part of the stored output is read)."""
    visit_ids = [e.pk for p in patients for e in p.encounters.all() if e.labs.all()]
    if not visit_ids:
        return {}
    found: dict[int, dict[str, dict[str, Any]]] = {}
    rows = Assessment.objects.filter(observation__encounter_id__in=visit_ids).order_by(
        "created_at", "id").values_list("observation__encounter_id", F("output_json__labs"))
    for visit_id, labs in rows:  # oldest first, so the newest assessment's reading wins
        found[visit_id] = {row["analyte"]: row for row in labs or [] if "analyte" in row}
    return found


def _rows(patient: Patient, engine_labs: dict[int, dict[str, dict[str, Any]]]
          ) -> Iterator[tuple[str, int | None, Any]]:
    """(form, instance, row) for one patient: the patient row, then each repeating form's
    instances numbered from 1 in visit order."""
    yield "patient", None, patient
    numbers = {lesion.pk: index for index, lesion in enumerate(patient.lesions.all(), start=1)}
    lesions = {lesion.pk: lesion for lesion in patient.lesions.all()}
    visits = []
    for instance, encounter in enumerate(patient.encounters.all(), start=1):
        imaging: dict[str, list[str]] = {}
        for finding in encounter.imaging.all():
            imaging.setdefault(finding.modality, []).append(finding.finding)
        visits.append(VisitRow(encounter, patient, instance, imaging))
    for visit in visits:
        yield "visit", visit.instance, visit
    pairs = sorted(((visit, observation) for visit in visits
                    for observation in visit.encounter.observations.all()),
                   key=lambda pair: (pair[0].instance, numbers[pair[1].lesion_id]))
    for instance, (visit, observation) in enumerate(pairs, start=1):
        yield "lesion_visit", instance, LesionVisitRow(
            observation, lesions[observation.lesion_id], numbers[observation.lesion_id], visit)
    labs = [(visit, lab) for visit in visits for lab in visit.encounter.labs.all()]
    for instance, (visit, lab) in enumerate(labs, start=1):
        reading = engine_labs.get(visit.encounter.pk, {}).get(lab.analyte)
        yield "lab", instance, LabRow(lab, visit, reading)
    assessments = [(visit, observation, assessment) for visit, observation in pairs
                   for assessment in observation.assessments.all()]
    for instance, (visit, observation, assessment) in enumerate(assessments, start=1):
        decision = next(iter(assessment.decisions.all()), None)
        yield "assessment", instance, AssessmentRow(
            assessment, decision, numbers[observation.lesion_id], visit)


def _record_line(patient: Patient, form: str, instance: int | None, row: Any) -> list[str]:
    cells = [spreadsheet_safe(patient.record_number),
             "" if form == "patient" else form, "" if instance is None else str(instance)]
    for spec in FIELDS[1:]:  # record_id is the first system column
        cells += spec.cells(row) if spec.form == form else [""] * len(spec.columns())
    return cells


@dataclass
class Counter:
    """How many patients ``records`` has written (for the export log)."""

    patients: int = 0


def records(user: Any, sites: list[Site], *, counter: Counter | None = None,
            batch_size: int = BATCH_SIZE) -> Iterator[list[str]]:
    """The records CSV as rows (the header first). ``counter.patients`` is the number of
    patients written so far (for the export log, read once the rows are exhausted)."""
    counter = counter if counter is not None else Counter()
    yield list(RECORD_COLUMNS)
    for batch in _patient_batches(user, sites, batch_size):
        engine_labs = _engine_labs(batch)
        for patient in batch:
            for form, instance, row in _rows(patient, engine_labs):
                yield _record_line(patient, form, instance, row)
            counter.patients += 1


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    """Rows as CSV text, line by line (for a streamed response)."""
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    for row in rows:
        yield writer.writerow(row)


def write_csv(path: Any, rows: Iterable[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        for row in rows:
            writer.writerow(row)
