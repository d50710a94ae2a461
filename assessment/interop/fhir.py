"""FHIR R4 export of a patient's record, built and validated with the ``fhir.resources`` R4B
models (constructing a model validates it; the library serialises it).

One builder serves both doors: the patient page's Bundle (``patient_bundle_json``) and the bulk
NDJSON command (``patient_resources`` with ``rest_ref``). The builders read only what the caller
fetched with ``selectors.fhir_patients`` (encounters with their observations, assessments,
decisions and labs; lesions): they never query, so an export costs the same number of queries
per batch of patients however many visits each child has.

Resource ids are UUIDs derived (uuid5) from the record type and database id, so exporting the
same record twice gives the same ids, and no database id is shown as such. Inside a Bundle the
references are ``urn:uuid:`` fullUrls; in NDJSON they are ``ResourceType/id``.

Words, never codes, in every ``text``, ``display``, ``description``, ``summary`` and note: the
app's own codes appear only as ``Coding.code`` in the registry's declared systems
(``codes.ENTITY_SYSTEM``, ``codes.RED_FLAG_SYSTEM``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone
from fhir.resources.R4B.bodystructure import BodyStructure
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.clinicalimpression import ClinicalImpression
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.coding import Coding
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.reference import Reference
from fhir.resources.R4B.resource import Resource

from ..engine.knowledge import ENTITIES
from ..engine.labs import ANALYTES
from ..engine.vocab import words
from . import codes
from .codes import Code

# Fixed namespace: changing it would change every exported id.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:calcinosis:fhir")
RESOURCE_TYPES = ("Patient", "Encounter", "BodyStructure", "Condition", "Observation",
                  "ClinicalImpression", "CarePlan")

Ref = Callable[[str, str], str]


def resource_id(resource_type: str, kind: str, pk: int) -> str:
    """A stable id for record ``pk`` of ``kind`` exported as ``resource_type``."""
    return str(uuid.uuid5(NAMESPACE, f"{resource_type}/{kind}/{pk}"))


def bundle_ref(resource_type: str, rid: str) -> str:
    return f"urn:uuid:{rid}"


def rest_ref(resource_type: str, rid: str) -> str:
    return f"{resource_type}/{rid}"


# --- Small pieces ------------------------------------------------------------------------------

def _coding(code: Code, display: str | None = None) -> dict[str, str]:
    return {"system": code.system, "code": code.code, "display": display or code.display}


def _concept(text: str, *found: Code | None) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": text}
    coded = [_coding(code) for code in found if code is not None]
    if coded:
        concept["coding"] = coded
    return concept


# Validated once, shared by every resource that carries them: these concepts come from fixed
# vocabularies (sites, analytes, entities, categories), and a model instance given to another
# model is not validated again, so the export does not validate the same concept hundreds of
# thousands of times. Shared instances are never modified.
_SHARED: dict[tuple[Any, ...], CodeableConcept] = {}


def _shared(key: tuple[Any, ...], make: Callable[[], dict[str, Any]]) -> CodeableConcept:
    concept = _SHARED.get(key)
    if concept is None:
        concept = _SHARED[key] = CodeableConcept(**make())
    return concept


def _coded(text: str, *found: Code | None) -> CodeableConcept:
    return _shared(("concept", text, *found), lambda: _concept(text, *found))


def _codes_only(code: Code) -> CodeableConcept:
    return _shared(("coding", code), lambda: {"coding": [_coding(code)]})


def _number(value: Any) -> Decimal | float:
    """A stored Decimal without trailing zeros (7.1800 -> 7.18), never in exponent form."""
    if isinstance(value, Decimal):
        return Decimal(format(value.normalize(), "f"))
    return value


def _quantity(value: Any, unit: str) -> dict[str, Any]:
    quantity: dict[str, Any] = {"value": _number(value), "unit": unit}
    if unit in codes.UCUM_UNITS:
        quantity.update(system=codes.UCUM, code=codes.UCUM_UNITS[unit])
    return quantity


def day(value: date) -> str:
    """A date as people read it in notes: "9 Nov 2026"."""
    return f"{value.day} {value:%b %Y}"


def entity_label(code: str) -> str:
    entity = ENTITIES.get(code)
    return entity.label if entity else words(code).capitalize()


def _entity_concept(code: str, *classified: Code) -> CodeableConcept:
    def make() -> dict[str, Any]:
        label = entity_label(code)
        return {"coding": [*(_coding(c) for c in classified),
                           {"system": codes.ENTITY_SYSTEM, "code": code, "display": label}],
                "text": label}
    return _shared(("entity", code, *classified), make)


def _person(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def _site_words(lesion: Any) -> str:
    parts = [words(code) for code in (lesion.laterality, lesion.heel_subsite, lesion.site)
             if code]
    return " ".join(parts)


# --- Reading what the selector fetched ---------------------------------------------------------

# The parts of the engine's stored output the export reads: attribute fetched by
# selectors.fhir_patients -> path in the whole document (used when that was loaded instead).
_OUTPUT_PARTS = {
    "out_differential": ("differential",), "out_red_flags": ("red_flags",),
    "out_labs": ("labs",), "out_follow_up": ("follow_up",),
    "out_refer_to": ("management", "refer_to"), "out_course_text": ("expected_course", "text"),
}


def _output(assessment: Any, part: str) -> Any:
    fetched = assessment.__dict__.get(part)
    if fetched is not None or "output_json" not in assessment.__dict__:
        return fetched
    value: Any = assessment.output_json
    for key in _OUTPUT_PARTS[part]:
        value = (value or {}).get(key)
    return value


class _Record:
    """One patient's prefetched rows, arranged once for the builders."""

    def __init__(self, patient: Any) -> None:
        self.patient = patient
        self.encounters = sorted(patient.encounters.all(), key=lambda e: (e.date, e.pk))
        self.lesions = sorted(patient.lesions.all(), key=lambda lesion: lesion.pk)
        self.observations: dict[int, list[tuple[Any, Any]]] = {}  # lesion id -> (obs, visit)
        self.newest_at_visit: dict[int, Any] = {}  # encounter id -> newest assessment there
        for encounter in self.encounters:
            for observation in encounter.observations.all():
                self.observations.setdefault(observation.lesion_id, []).append(
                    (observation, encounter))
                for assessment in observation.assessments.all():
                    newest = self.newest_at_visit.get(encounter.pk)
                    if newest is None or (assessment.created_at, assessment.pk) > (
                            newest.created_at, newest.pk):
                        self.newest_at_visit[encounter.pk] = assessment

    def current_assessment(self, lesion: Any) -> tuple[Any, Any] | None:
        """(assessment, visit): the newest assessment of the lesion's latest assessed visit,
        as the app reads a lesion's current state (selectors._latest_assessment_id)."""
        for observation, encounter in reversed(self.observations.get(lesion.pk, [])):
            assessments = list(observation.assessments.all())
            if assessments:
                return max(assessments, key=lambda a: (a.created_at, a.pk)), encounter
        return None


def _latest_decision(assessment: Any) -> Any:
    decisions = list(assessment.decisions.all())
    return max(decisions, key=lambda d: (d.decided_at, d.pk)) if decisions else None


# --- Resources ---------------------------------------------------------------------------------

class _Refs:
    """References to one patient's resources, each made (and validated) once and shared by
    every resource that points at it."""

    def __init__(self, patient: Any, ref: Ref) -> None:
        self._ref = ref
        self._made: dict[tuple[str, str, int], Reference] = {}
        self.patient = self.to("Patient", "patient", patient.pk)

    def to(self, resource_type: str, kind: str, pk: int) -> Reference:
        key = (resource_type, kind, pk)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = Reference(
                reference=self._ref(resource_type, resource_id(resource_type, kind, pk)))
        return made

    def encounter(self, encounter: Any) -> Reference:
        return self.to("Encounter", "encounter", encounter.pk)

    def structure(self, lesion: Any) -> Reference:
        return self.to("BodyStructure", "lesion", lesion.pk)

    def condition(self, lesion: Any) -> Reference:
        return self.to("Condition", "lesion", lesion.pk)


def _patient(record: _Record) -> Patient:
    patient = record.patient
    return Patient(
        id=resource_id("Patient", "patient", patient.pk),
        identifier=[{"system": codes.record_number_system(patient.site.code),
                     "value": patient.record_number}],
        # Archived records are exported (the registry keeps them) and marked not in active use.
        active=patient.archived_at is None,
        gender=patient.sex if patient.sex in ("female", "male") else "unknown",
        birthDate=patient.date_of_birth.isoformat())


_AMBULATORY = Coding(**_coding(codes.AMBULATORY))


def _encounter(encounter: Any, refs: _Refs) -> Encounter:
    return Encounter(**{
        "id": resource_id("Encounter", "encounter", encounter.pk),
        "status": "finished",
        "class": _AMBULATORY,
        "type": [_coded(encounter.get_kind_display())],
        "subject": refs.patient,
        "period": {"start": encounter.date.isoformat(), "end": encounter.date.isoformat()},
    })


def _body_site(lesion: Any) -> CodeableConcept:
    return _coded(words(lesion.site).capitalize(), codes.BODY_SITES.get(lesion.site))


def _body_structure(lesion: Any, refs: _Refs) -> BodyStructure:
    qualifiers = []
    if lesion.laterality:
        qualifiers.append(_coded(words(lesion.laterality).capitalize(),
                                 codes.LATERALITY.get(lesion.laterality)))
    if lesion.heel_subsite:
        qualifiers.append(_coded(words(lesion.heel_subsite).capitalize(),
                                 codes.HEEL_SUBSITES.get(lesion.heel_subsite)))
    where = _site_words(lesion)
    description = f"{lesion.label.capitalize()} ({where})" if lesion.label else \
        f"Lesion on the {where}"
    structure: dict[str, Any] = {
        "id": resource_id("BodyStructure", "lesion", lesion.pk), "active": True,
        "location": _body_site(lesion), "description": description, "patient": refs.patient}
    if qualifiers:
        structure["locationQualifier"] = qualifiers
    return BodyStructure(**structure)


def _condition(record: _Record, lesion: Any, refs: _Refs) -> Condition:
    # The coded site is repeated (Condition.bodySite is a CodeableConcept in R4) and the
    # BodyStructure with laterality and subsite is linked by the core bodySite extension.
    body_site = _concept(words(lesion.site).capitalize(), codes.BODY_SITES.get(lesion.site))
    body_site["extension"] = [{"url": codes.BODY_SITE_EXTENSION,
                               "valueReference": refs.structure(lesion)}]
    resolved = lesion.status == "resolved"
    condition: dict[str, Any] = {
        "id": resource_id("Condition", "lesion", lesion.pk),
        "clinicalStatus": _codes_only(codes.CLINICAL_STATUS[
            "resolved" if resolved else "active"]),
        "category": [_codes_only(codes.PROBLEM_LIST_ITEM)],
        "bodySite": [body_site],
        "subject": refs.patient,
    }
    course = record.observations.get(lesion.pk, [])
    if course:
        first_observation, first_visit = course[0]
        condition["recordedDate"] = first_visit.date.isoformat()
        if first_observation.onset_age_months is not None:
            condition["onsetAge"] = {"value": _number(first_observation.onset_age_months),
                                     "unit": "months", "system": codes.UCUM,
                                     "code": codes.UCUM_MONTHS}
    if resolved:
        condition["abatementDateTime"] = lesion.resolved_on.isoformat()
    notes = []
    current = record.current_assessment(lesion)
    if current is None:
        condition["code"] = {"text": f"Lesion of the {_site_words(lesion)}, not assessed"}
        condition["verificationStatus"] = _codes_only(codes.VERIFICATION_STATUS["provisional"])
    else:
        assessment, visit = current
        decision = _latest_decision(assessment)
        engine_entity = assessment.leading_entity
        entity = decision.final_entity if decision is not None and \
            decision.decision == "override" else engine_entity
        # ICD-10 classifies the same condition: calcinosis cutis when the engine found
        # calcinosis likely and the final entity is not a mimic the clinician chose instead.
        calcinosis = assessment.calcinosis == "likely" and (
            ENTITIES.get(entity) is None or ENTITIES[entity].calcinosis != "no")
        condition["code"] = _entity_concept(entity, *(
            [codes.CALCINOSIS_CUTIS_ICD10] if calcinosis else []))
        condition["verificationStatus"] = _codes_only(codes.VERIFICATION_STATUS[
            "confirmed" if decision is not None else "provisional"])
        condition["evidence"] = [{"detail": [refs.to("ClinicalImpression", "assessment",
                                                     assessment.pk)]}]
        if decision is None:
            notes.append(f"Leading entity from the engine's assessment of the visit on "
                         f"{day(visit.date)} (ruleset {assessment.ruleset_version}); no "
                         "clinician decision recorded.")
        elif decision.decision == "override":
            notes.append(f"Leading entity from the clinician's decision (override) of "
                         f"{day(timezone.localdate(decision.decided_at))}; the engine's leading "
                         f"entity was {entity_label(engine_entity)}.")
        else:
            notes.append(f"Leading entity from the engine's assessment of the visit on "
                         f"{day(visit.date)}, agreed by the clinician on "
                         f"{day(timezone.localdate(decision.decided_at))}.")
    if resolved:
        notes.append(f"Resolved on {day(lesion.resolved_on)}.")
    if notes:
        condition["note"] = [{"text": text} for text in notes]
    return Condition(**condition)


def _size_observation(observation: Any, encounter: Any, lesion: Any, refs: _Refs
                      ) -> Observation | None:
    # A resolved visit may carry the size copied from the visit before: it was not measured.
    if observation.largest_diameter_mm is None or observation.course_status == "resolved":
        return None
    components = [{"code": _coded("Largest diameter", codes.LESION_LARGEST),
                   "valueQuantity": _quantity(observation.largest_diameter_mm, "mm")}]
    if observation.perpendicular_diameter_mm is not None:
        components.append({"code": _coded("Perpendicular diameter",
                                          codes.LESION_PERPENDICULAR),
                           "valueQuantity": _quantity(observation.perpendicular_diameter_mm,
                                                      "mm")})
    notes = []
    if observation.course_status:
        notes.append(f"Since the previous visit: "
                     f"{observation.get_course_status_display().lower()}.")
    if observation.count > 1:
        notes.append(f"{observation.count} lesions at this site; the largest is measured.")
    size: dict[str, Any] = {
        "id": resource_id("Observation", "lesion-size", observation.pk),
        "status": "final",
        "category": [_codes_only(codes.EXAM)],
        "code": _coded("Lesion size", codes.LESION_SIZE),
        "subject": refs.patient,
        "focus": [refs.structure(lesion)],
        "encounter": refs.encounter(encounter),
        "effectiveDateTime": encounter.date.isoformat(),
        "bodySite": _body_site(lesion),
        "component": components,
    }
    if notes:
        size["note"] = [{"text": " ".join(notes)}]
    return Observation(**size)


def _lab_row(assessment: Any, lab: Any) -> dict[str, Any] | None:
    """The engine's reading of this lab (same analyte, value and unit) in the assessment."""
    for row in _output(assessment, "out_labs") or []:
        if row.get("analyte") == lab.analyte and row.get("unit") == lab.unit and \
                abs(float(row.get("value", -1)) - float(lab.value)) < 1e-9:
            return row
    return None


def _critical(assessment: Any, analyte: str) -> str | None:
    for flag in _output(assessment, "out_red_flags") or []:
        hit = codes.critical_analyte(flag.get("code", ""))
        if hit is not None and hit[0] == analyte:
            return f"critical_{hit[1]}"
    return None


def _range(low: Any, high: Any, unit: str, text: str) -> dict[str, Any] | None:
    if low is None and high is None:
        return None
    bounds: dict[str, Any] = {"text": text}
    if low is not None:
        bounds["low"] = _quantity(low, unit)
    if high is not None:
        bounds["high"] = _quantity(high, unit)
    return bounds


def _interpretation(flag: str) -> CodeableConcept:
    code = codes.INTERPRETATION[flag]
    return _shared(("interpretation", flag),
                   lambda: {"coding": [_coding(code)], "text": code.display})


def _lab_observation(lab: Any, encounter: Any, assessment: Any | None, refs: _Refs
                     ) -> Observation:
    spec = ANALYTES[lab.analyte]
    row = _lab_row(assessment, lab) if assessment is not None else None
    result: dict[str, Any] = {
        "id": resource_id("Observation", "lab", lab.pk),
        "status": "final",
        "category": [_codes_only(codes.LABORATORY)],
        "code": _coded(spec.label, codes.lab_code(lab.analyte, lab.unit)),
        "subject": refs.patient,
        "encounter": refs.encounter(encounter),
        "effectiveDateTime": encounter.date.isoformat(),
        "valueQuantity": _quantity(lab.value, lab.unit),
    }
    ranges = []
    notes = []
    if row is None:
        bounds = _range(lab.reference_low, lab.reference_high, lab.unit,
                        "Reporting laboratory's own interval")
        if bounds:
            ranges.append(bounds)
    else:
        bounds = _range(row.get("reference_low"), row.get("reference_high"), lab.unit,
                        row.get("reference_source") or "Interval used")
        if bounds:
            bounds["text"] = bounds["text"][:1].upper() + bounds["text"][1:]
            ranges.append(bounds)
        age = row.get("age_reference")
        if age:
            age_bounds = _range(age.get("reference_low"), age.get("reference_high"),
                                age.get("unit") or spec.canonical_unit,
                                f"Age-specific interval: {age.get('source')}")
            if age_bounds:
                ranges.append(age_bounds)
            if age.get("flag") in ("low", "high", "normal") and age.get("flag") != row["flag"]:
                notes.append(f"Against the age-specific interval: {age['flag']}.")
        converted = row.get("converted")
        if converted:
            # The value in the engine's canonical unit, as the engine compared it.
            unit = converted["unit"]
            result["component"] = [{
                "code": _coded(f"{spec.label}, converted to {unit}",
                               codes.lab_code(lab.analyte, unit)),
                "valueQuantity": _quantity(converted["value"], unit)}]
            if converted.get("conversion_source"):
                notes.append(f"Converted to {unit} by the engine "
                             f"{converted['conversion_source']}.")
        flag = _critical(assessment, lab.analyte) or row.get("flag")
        if flag in codes.INTERPRETATION:
            result["interpretation"] = [_interpretation(flag)]
    if ranges:
        result["referenceRange"] = ranges
    if notes:
        result["note"] = [{"text": " ".join(notes)}]
    return Observation(**result)


def _impression(assessment: Any, encounter: Any, lesion: Any, refs: _Refs
                ) -> ClinicalImpression:
    leading = assessment.leading_entity
    management = words(assessment.management_category).capitalize()
    refer_to = _output(assessment, "out_refer_to") or []
    summary = f"Leading entity: {entity_label(leading)}. Management: {management}"
    summary += f" (refer to {', '.join(refer_to)})." if refer_to else "."
    summary += f" Calcinosis: {words(assessment.calcinosis)}."
    follow_up = _output(assessment, "out_follow_up") or {}
    if follow_up.get("reason"):
        summary += f" Follow-up: {follow_up['reason']}"
    findings: list[dict[str, Any]] = []
    for rank, item in enumerate(_output(assessment, "out_differential") or [], start=1):
        findings.append({"itemCodeableConcept": _entity_concept(item["code"]),
                         "basis": "Leading entity (rank 1 of the differential)" if rank == 1
                         else f"Differential diagnosis, rank {rank}"})
    for flag in _output(assessment, "out_red_flags") or []:
        findings.append({"itemCodeableConcept": {
            "coding": [{"system": codes.RED_FLAG_SYSTEM, "code": flag["code"]}],
            "text": flag["message"]},
            "basis": f"Red flag: {words(flag['action'])}"})
    for flag in assessment.course_flags or []:
        findings.append({"itemCodeableConcept": {"text": flag.get("text", "")},
                         "basis": "Atypical course at follow-up"})
    impression: dict[str, Any] = {
        "id": resource_id("ClinicalImpression", "assessment", assessment.pk),
        "status": "completed",
        "description": f"Engine assessment of the {_site_words(lesion)} lesion at the visit "
                       f"on {day(encounter.date)}",
        "subject": refs.patient,
        "encounter": refs.encounter(encounter),
        "effectiveDateTime": encounter.date.isoformat(),
        "date": assessment.created_at.isoformat(),
        "problem": [refs.condition(lesion)],
        "protocol": [f"{codes.RULESET_PREFIX}{assessment.ruleset_version}",
                     f"{codes.CONTRACT_PREFIX}{assessment.contract_version}"],
        "summary": summary,
    }
    if findings:
        impression["finding"] = findings
    course = _output(assessment, "out_course_text")
    if course:
        impression["prognosisCodeableConcept"] = [{"text": course}]
    notes = []
    for decision in sorted(assessment.decisions.all(), key=lambda d: (d.decided_at, d.pk)):
        text = f"Clinician's decision: {decision.get_decision_display()}."
        if decision.decision == "override":
            text += f" Final entity: {entity_label(decision.final_entity)}."
            if decision.final_subtypes:
                text += f" Subtypes: {', '.join(words(s) for s in decision.final_subtypes)}."
        text += f" Final management: {decision.get_final_management_display()}."
        if decision.flag_considered:
            text += " The red flag was considered before choosing a milder management."
        if decision.reason:
            text += f" Reason: {decision.reason}"
        notes.append({"authorString": _person(decision.decided_by),
                      "time": decision.decided_at.isoformat(), "text": text})
    if notes:
        impression["note"] = notes
    return ClinicalImpression(**impression)


def _care_plan(record: _Record, lesion: Any, refs: _Refs) -> CarePlan | None:
    if lesion.status != "active" or lesion.next_follow_up_due is None:
        return None
    current = record.current_assessment(lesion)
    reason = "Recheck of the lesion."
    created = None
    if current is not None:
        follow_up = _output(current[0], "out_follow_up") or {}
        reason = follow_up.get("reason") or reason
        created = current[0].created_at.isoformat()
    due = lesion.next_follow_up_due.isoformat()
    plan: dict[str, Any] = {
        "id": resource_id("CarePlan", "lesion-follow-up", lesion.pk),
        "status": "active", "intent": "plan",
        "title": f"Follow-up of the {_site_words(lesion)} lesion",
        "description": f"Next follow-up due {day(lesion.next_follow_up_due)}. {reason}",
        "subject": refs.patient,
        "addresses": [refs.condition(lesion)],
        "activity": [{"detail": {"kind": "Appointment", "status": "not-started",
                                 "scheduledPeriod": {"start": due}, "description": reason}}],
    }
    if created:
        plan["created"] = created
    return CarePlan(**plan)


def patient_resources(patient: Any, *, ref: Ref = rest_ref) -> list[Resource]:
    """Every resource of one patient, in a fixed order (patient, visits, lesions and their
    conditions, sizes, labs, assessments, follow-ups), from the prefetched rows only."""
    record = _Record(patient)
    refs = _Refs(patient, ref)
    lesions = {lesion.pk: lesion for lesion in record.lesions}
    resources: list[Resource] = [_patient(record)]
    resources += [_encounter(encounter, refs) for encounter in record.encounters]
    resources += [_body_structure(lesion, refs) for lesion in record.lesions]
    resources += [_condition(record, lesion, refs) for lesion in record.lesions]
    for lesion in record.lesions:
        for observation, encounter in record.observations.get(lesion.pk, []):
            size = _size_observation(observation, encounter, lesion, refs)
            if size is not None:
                resources.append(size)
    for encounter in record.encounters:
        assessment = record.newest_at_visit.get(encounter.pk)
        resources += [_lab_observation(lab, encounter, assessment, refs)
                      for lab in sorted(encounter.labs.all(), key=lambda lab: lab.pk)]
    for encounter in record.encounters:
        for observation in sorted(encounter.observations.all(), key=lambda o: o.pk):
            for assessment in sorted(observation.assessments.all(),
                                     key=lambda a: (a.created_at, a.pk)):
                resources.append(_impression(assessment, encounter,
                                             lesions[observation.lesion_id], refs))
    for lesion in record.lesions:
        plan = _care_plan(record, lesion, refs)
        if plan is not None:
            resources.append(plan)
    return resources


def patient_bundle(patient: Any) -> Bundle:
    """A ``collection`` Bundle of one patient's record, references as ``urn:uuid:``."""
    entries = [{"fullUrl": f"urn:uuid:{resource.id}", "resource": resource}
               for resource in patient_resources(patient, ref=bundle_ref)]
    return Bundle(id=resource_id("Bundle", "patient", patient.pk), type="collection",
                  timestamp=timezone.now().isoformat(), entry=entries)


def patient_bundle_json(patient: Any) -> str:
    return patient_bundle(patient).model_dump_json()


def ndjson_lines(patients: Iterable[Any]) -> Iterable[tuple[str, str]]:
    """(resource type, one NDJSON line) for every resource of ``patients``."""
    for patient in patients:
        for resource in patient_resources(patient, ref=rest_ref):
            yield resource.get_resource_type(), resource.model_dump_json()
