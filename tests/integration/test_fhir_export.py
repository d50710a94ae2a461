"""The FHIR R4 bundle of one patient (patient page, ``patient-fhir``): every resource of every
seed case validates with the ``fhir.resources`` R4B models, and reading the bundle back finds the
same visits, lesions, lab values (as entered and converted), resolution, decisions and ruleset.
Anyone who can see the patient may download it; it is logged; another clinic's patient is a
404; the number of queries does not grow with the record."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from assessment import engine, services
from assessment.demo import record_contract_case, record_follow_up
from assessment.engine.labs import ANALYTES
from assessment.engine.vocab import HEEL_SUBSITES, LATERALITIES, SITES
from assessment.interop import codes
from assessment.models import (
    CourseStatus,
    Encounter,
    EncounterKind,
    ExportLog,
    LabResult,
    LesionObservation,
    Patient,
    PatientViewLog,
)
from tests.builders import all_cases, load_case

SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
# Fields a person reads: words only (codes live in Coding.code of a declared system).
READ_FIELDS = {"text", "display", "description", "summary", "basis", "title"}

CASE_A = load_case("seed_case_a_pearl_like_heel_nodule.json")["input"]
CASE_B = load_case("seed_case_b_extravasation_renal_failure.json")["input"]
CASE_C = load_case("seed_case_c_heel_stick_nodules.json")["input"]
VISITS = {"seed_case_a_pearl_like_heel_nodule.json": (date(2025, 8, 10), date(2026, 8, 10)),
          "seed_case_b_extravasation_renal_failure.json": (date(2025, 4, 15), date(2026, 9, 15)),
          "seed_case_c_heel_stick_nodules.json": (date(2026, 2, 1), date(2026, 10, 1))}


def record(case: dict[str, Any], number: str, born: date, visit: date, user: Any,
           site: Any) -> Patient:
    return record_contract_case(data=case, record_number=number, born=born, visit=visit,
                                label="", user=user, site=site)


def download(client: Client, patient: Patient) -> Bundle:
    response = client.get(f"/patients/{patient.pk}/fhir.json")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/fhir+json"
    return Bundle.model_validate_json(response.content)


def resources(bundle: Bundle, kind: str) -> list[Any]:
    return [entry.resource for entry in bundle.entry if entry.resource.get_resource_type() == kind]


def read_texts(node: Any, found: list[str], key: str = "") -> list[str]:
    if isinstance(node, dict):
        for name, value in node.items():
            read_texts(value, found, name)
    elif isinstance(node, list):
        for value in node:
            read_texts(value, found, key)
    elif isinstance(node, str) and key in READ_FIELDS:
        found.append(node)
    return found


@pytest.fixture
def case_a_resolved(alice, north) -> Patient:
    """Seed case A and its 3-month recheck that found it resolved (as the demo records it)."""
    patient = record(CASE_A, "FA-1", date(2025, 8, 10), date(2026, 8, 10), alice, north)
    record_follow_up(patient=patient, on=date(2026, 11, 9), status=CourseStatus.RESOLVED,
                     changes={}, user=alice)
    return patient


@pytest.fixture
def case_b_overridden(alice, north) -> Patient:
    patient = record(CASE_B, "FB-1", date(2025, 4, 15), date(2026, 9, 15), alice, north)
    services.assessment_decide(
        assessment=patient.encounters.get().observations.get().assessments.get(),
        decision="override", final_subtypes=["iatrogenic"],
        final_entity="calcium_extravasation_calcinosis", final_management="refer",
        reason="Repeat labs were normal on the same day.", user=alice, flag_considered=True)
    return patient


def add_visit(patient: Patient, on: date, user: Any, *, labs: list[LabResult]) -> Encounter:
    """A follow-up of every active lesion, each a little smaller, with ``labs``."""
    entries = []
    for lesion in patient.lesions.filter(status="active").order_by("id"):
        last = lesion.observations.order_by("-encounter__date", "-id").first()
        entries.append(services.LesionEntry(lesion, LesionObservation(
            course_status=CourseStatus.SMALLER, count=last.count,
            largest_diameter_mm=Decimal("1.5"), perpendicular_diameter_mm=Decimal("1.0"),
            color=last.color, morphology=last.morphology, surface=last.surface,
            consistency=last.consistency, features=last.features, trend="shrinking")))
    return services.encounter_record(patient=patient, encounter=Encounter(
        date=on, kind=EncounterKind.FOLLOW_UP), entries=entries, labs=labs, imaging=[],
        user=user)


# --- Every resource validates ------------------------------------------------------------------

@pytest.mark.parametrize("name,case", all_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_resource_of_each_seed_case_parses_back(name: str, case: dict[str, Any], alice,
                                                      north, alice_client: Client) -> None:
    born, visit = VISITS[name]
    patient = record(case["input"], "SEED-1", born, visit, alice, north)
    bundle = download(alice_client, patient)
    assert bundle.type == "collection"
    kinds = {entry.resource.get_resource_type() for entry in bundle.entry}
    assert {"Patient", "Encounter", "BodyStructure", "Condition", "Observation",
            "ClinicalImpression"} <= kinds
    full_urls = {entry.fullUrl for entry in bundle.entry}
    for entry in bundle.entry:
        resource = entry.resource
        klass = get_fhir_model_class(resource.get_resource_type())
        again = klass.model_validate_json(resource.model_dump_json())
        assert again.id == resource.id
        assert entry.fullUrl == f"urn:uuid:{resource.id}"
        # Every reference points inside the bundle.
        for reference in re.findall(r'"reference":"([^"]+)"', resource.model_dump_json()):
            assert reference in full_urls, (resource.get_resource_type(), reference)


def test_the_resolved_follow_up_parses_back_too(case_a_resolved: Patient,
                                                alice_client: Client) -> None:
    bundle = download(alice_client, case_a_resolved)
    for entry in bundle.entry:
        klass = get_fhir_model_class(entry.resource.get_resource_type())
        klass.model_validate_json(entry.resource.model_dump_json())


# --- Round trip --------------------------------------------------------------------------------

def test_round_trip_finds_the_visits_lesion_and_resolution(case_a_resolved: Patient,
                                                           alice_client: Client) -> None:
    bundle = download(alice_client, case_a_resolved)
    patient = resources(bundle, "Patient")[0]
    assert patient.identifier[0].value == "FA-1"
    assert patient.identifier[0].system == "urn:calcinosis:north:record-number"
    assert (str(patient.birthDate), patient.gender) == ("2025-08-10", case_a_resolved.sex)
    assert sorted(str(e.period.start) for e in resources(bundle, "Encounter")) == [
        "2026-08-10", "2026-11-09"]
    assert [e.type[0].text for e in sorted(resources(bundle, "Encounter"),
                                           key=lambda e: str(e.period.start))] == [
        "Initial visit", "Follow-up visit"]
    (structure,) = resources(bundle, "BodyStructure")
    assert [(c.system, c.code) for c in structure.location.coding] == [
        (codes.SNOMED, "84607009")]
    qualifiers = {(c.coding[0].code, c.text) for c in structure.locationQualifier}
    assert qualifiers == {("24028007", "Right"), ("49370004", "Lateral")}
    (condition,) = resources(bundle, "Condition")
    assert condition.clinicalStatus.coding[0].code == "resolved"
    assert str(condition.abatementDateTime) == "2026-11-09"
    assert condition.bodySite[0].extension[0].valueReference.reference == \
        f"urn:uuid:{structure.id}"
    assert (codes.ICD10, "L94.2") in {(c.system, c.code) for c in condition.code.coding}
    leading = case_a_resolved.encounters.order_by("date").first().observations.get() \
        .assessments.get().leading_entity
    assert condition.code.text == engine.knowledge.ENTITIES[leading].label
    # The resolved visit is not a measurement: one size, from the first visit.
    (size,) = [o for o in resources(bundle, "Observation") if o.code.text == "Lesion size"]
    assert str(size.effectiveDateTime) == "2026-08-10"
    assert float(size.component[0].valueQuantity.value) == 2.0
    assert size.component[0].valueQuantity.code == "mm"
    # Resolved: no follow-up plan.
    assert resources(bundle, "CarePlan") == []


def test_round_trip_finds_labs_decision_and_ruleset(case_b_overridden: Patient,
                                                    alice_client: Client) -> None:
    bundle = download(alice_client, case_b_overridden)
    labs = {o.code.text: o for o in resources(bundle, "Observation")
            if o.category[0].coding[0].code == "laboratory"}
    assert set(labs) == {"Creatinine", "Urea", "Calcium (total)", "Phosphate (inorganic)"}
    creatinine = labs["Creatinine"]
    assert (float(creatinine.valueQuantity.value), creatinine.valueQuantity.unit) == (7.18,
                                                                                       "mg/dL")
    assert creatinine.code.coding[0].code == "2160-0"
    assert creatinine.interpretation[0].coding[0].code == "HH"  # critical, not merely high
    assert labs["Calcium (total)"].interpretation[0].coding[0].code == "LL"
    own, age = creatinine.referenceRange
    assert (float(own.low.value), float(own.high.value)) == (0.5, 1.2)
    assert "own interval" in own.text
    assert (float(age.low.value), float(age.high.value), age.low.unit) == (0.19, 0.49, "mg/dL")
    assert "1–5 years" in age.text and "Age-specific" in age.text
    assert labs["Urea"].code.coding is None  # no verified LOINC code: text only
    assert str(creatinine.effectiveDateTime) == "2026-09-15"
    (impression,) = resources(bundle, "ClinicalImpression")
    assert f"urn:calcinosis:ruleset:{engine.RULESET_VERSION}" in impression.protocol
    assert "urn:calcinosis:contract:1" in impression.protocol
    (note,) = impression.note
    assert "Override" in note.text and "Repeat labs were normal on the same day." in note.text
    assert note.authorString == "Alice Clinician"
    assert impression.finding[0].itemCodeableConcept.coding[0].code == \
        "metastatic_calcinosis_renal_failure"
    (condition,) = resources(bundle, "Condition")
    # The clinician's final entity leads, and the note says it was an override.
    assert condition.code.coding[-1].code == "calcium_extravasation_calcinosis"
    assert "override" in condition.note[0].text
    assert condition.verificationStatus.coding[0].code == "confirmed"
    (plan,) = resources(bundle, "CarePlan")
    assert str(plan.activity[0].detail.scheduledPeriod.start) == \
        case_b_overridden.lesions.get().next_follow_up_due.isoformat()


def test_a_value_entered_in_another_unit_carries_its_converted_value(alice, north,
                                                                     alice_client) -> None:
    case = json.loads(json.dumps(CASE_C))
    case["labs"] = [{"analyte": "calcium_total", "value": 2.47, "unit": "mmol/L"},
                    {"analyte": "phosphate", "value": 1.8, "unit": "mmol/L"}]
    patient = record(case, "MMOL-1", date(2026, 2, 1), date(2026, 10, 1), alice, north)
    bundle = download(alice_client, patient)
    labs = {o.code.text: o for o in resources(bundle, "Observation")
            if o.category[0].coding[0].code == "laboratory"}
    calcium = labs["Calcium (total)"]
    assert (float(calcium.valueQuantity.value), calcium.valueQuantity.code) == (2.47, "mmol/L")
    assert calcium.code.coding[0].code == "2000-8"
    (converted,) = calcium.component
    assert (float(converted.valueQuantity.value), converted.valueQuantity.code) == (9.9, "mg/dL")
    assert converted.code.coding[0].code == "17861-6"
    assert converted.code.text == "Calcium (total), converted to mg/dL"
    assert calcium.interpretation[0].coding[0].code == "N"
    (interval,) = calcium.referenceRange
    assert interval.low.unit == "mmol/L" and "10 days–<1 year" in interval.text


def test_no_names_no_codes_in_words_and_stable_ids(case_b_overridden: Patient,
                                                   alice_client: Client) -> None:
    first = download(alice_client, case_b_overridden)
    second = download(alice_client, case_b_overridden)
    assert [e.fullUrl for e in first.entry] == [e.fullUrl for e in second.entry]
    data = json.loads(first.model_dump_json())
    patient = data["entry"][0]["resource"]
    assert set(patient) == {"resourceType", "id", "identifier", "active", "gender",
                            "birthDate"}
    texts = read_texts(data, [])
    assert texts
    assert [t for t in texts if SNAKE.search(t)] == []
    for note in re.findall(r'"note":\[(.*?)\]', first.model_dump_json()):
        assert not SNAKE.search(re.sub(r'"time":"[^"]*"', "", note)), note
    # Database ids do not appear as such: every id is a UUID.
    assert all(re.fullmatch(r"[0-9a-f-]{36}", e.resource.id) for e in first.entry)


# --- Doors, access and logging -----------------------------------------------------------------

def test_a_viewer_downloads_and_it_is_logged(case_b_overridden: Patient, victor,
                                             victor_client: Client) -> None:
    response = victor_client.get(f"/patients/{case_b_overridden.pk}/fhir.json")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="FB-1-fhir.json"'
    assert response["Cache-Control"] == "private, no-store"
    log = ExportLog.objects.get()
    assert (log.user, log.kind, log.channel, log.site_codes, log.patient, log.patient_count) == (
        victor, "fhir_bundle", "web", ["north"], case_b_overridden, 1)
    assert log.finished_at is not None
    assert PatientViewLog.objects.filter(user=victor, patient=case_b_overridden,
                                         path="export:fhir_bundle").exists()


def test_an_archived_patient_is_exported_and_marked_inactive(case_a_resolved: Patient, alice,
                                                            alice_client: Client) -> None:
    services.patient_archive(patient=case_a_resolved, user=alice)
    bundle = download(alice_client, case_a_resolved)
    assert resources(bundle, "Patient")[0].active is False


def test_another_clinics_patient_is_404(case_b_overridden: Patient,
                                        charlie_client: Client) -> None:
    response = charlie_client.get(f"/patients/{case_b_overridden.pk}/fhir.json")
    assert response.status_code == 404
    assert not ExportLog.objects.exists()


def test_a_user_of_no_clinic_gets_404(case_b_overridden: Patient, bob_client: Client) -> None:
    assert bob_client.get(f"/patients/{case_b_overridden.pk}/fhir.json").status_code == 404


def test_the_patient_page_links_to_the_download(case_b_overridden: Patient,
                                                victor_client: Client) -> None:
    page = victor_client.get(f"/patients/{case_b_overridden.pk}/").content.decode()
    assert f'href="/patients/{case_b_overridden.pk}/fhir.json"' in page
    assert "Download FHIR record" in page


def test_query_count_does_not_grow_with_visits_lesions_and_labs(alice, north,
                                                                alice_client: Client) -> None:
    patient = record(CASE_C, "GROW-1", date(2026, 2, 1), date(2026, 10, 1), alice, north)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            download(alice_client, patient)
        return len(captured)

    before = queries()
    for weeks in (6, 12, 18):
        add_visit(patient, date(2026, 10, 1) + timedelta(weeks=weeks), alice, labs=[
            LabResult(analyte="calcium_total", value=Decimal("2.4"), unit="mmol/L"),
            LabResult(analyte="creatinine", value=Decimal("30"), unit="umol/L")])
    services.assessment_decide(
        assessment=patient.encounters.order_by("-date").first().observations.first()
        .assessments.get(), decision="agree", final_subtypes=[], final_entity="",
        final_management="", reason="", user=alice)
    bundle = download(alice_client, patient)
    assert len(resources(bundle, "Encounter")) == 4
    assert len(resources(bundle, "ClinicalImpression")) == 4
    assert queries() == before


# --- The code tables ---------------------------------------------------------------------------

def test_the_code_tables_cover_only_the_apps_vocabulary() -> None:
    assert set(codes.BODY_SITES) <= set(SITES)
    assert set(codes.LATERALITY) == set(LATERALITIES)
    assert set(codes.HEEL_SUBSITES) == set(HEEL_SUBSITES)
    assert {analyte for analyte, _ in codes.LAB_LOINC} <= set(ANALYTES)
    units = {unit for spec in ANALYTES.values() for unit in spec.units}
    assert units <= set(codes.UNIT_PROPERTY)
    # Each coded analyte's codes match the kind of quantity of its units.
    for (analyte, kind), code in codes.LAB_LOINC.items():
        assert any(codes.UNIT_PROPERTY[unit] == kind for unit in ANALYTES[analyte].units), code


def test_critical_red_flags_name_their_analyte() -> None:
    assert codes.critical_analyte("critical_calcium_total_low") == ("calcium_total", "low")
    assert codes.critical_analyte("critical_creatinine_high") == ("creatinine", "high")
    assert codes.critical_analyte("ionised_calcium_above_1_6_infant") == ("calcium_ionized",
                                                                          "high")
    assert codes.critical_analyte("renal_failure") is None
