"""The patient history page reads as an audit trail in clinical words: when, who, which record
and what changed, with labels, Yes/No/Unknown, formatted dates and units; never a code, a Python
structure or a database id; a fixed number of queries however long the trail."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assessment import services
from assessment.demo import record_contract_case
from assessment.models import Assessment, LabResult, LesionObservation, Patient
from tests.builders import load_case

CASE_C = load_case("seed_case_c_heel_stick_nodules.json")["input"]
SNAKE_CASE = re.compile(r"\b[a-z]+_[a-z_]+\b")
REPR = re.compile(r"\{'|\['")


@pytest.fixture
def patient(alice, north) -> Patient:
    return record_contract_case(data=CASE_C, record_number="HIS-1", born=date(2026, 2, 1),
                                visit=date(2026, 10, 1), label="", user=alice, site=north)


class _Text(HTMLParser):
    """Text nodes only: what a person reads (attributes are not read)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(client: Client, patient: Patient) -> str:
    """The page's <main>, as the text a person reads, whitespace collapsed."""
    response = client.get(f"/patients/{patient.pk}/history/")
    assert response.status_code == 200
    html = response.content.decode()
    parser = _Text()
    parser.feed(html[html.index("<main"):html.index("</main>")])
    return " ".join(" ".join(parser.parts).split())


def edit(client: Client, patient: Patient, **changes: str) -> None:
    patient.refresh_from_db()
    data = {"site": str(patient.site_id), "record_number": patient.record_number,
            "date_of_birth": patient.date_of_birth.isoformat(), "sex": patient.sex,
            "gestational_age_weeks": str(patient.gestational_age_weeks or ""),
            "renal_disease": "false", "version": str(patient.version)}
    data.update(changes)
    response = client.post(f"/patients/{patient.pk}/edit/", data)
    assert response.status_code == 302, response.context["form"].errors


def correct_observation(patient: Patient, user, **changes: object) -> None:
    observation = LesionObservation.objects.get(lesion__patient=patient)
    services.observation_update(observation=observation, changes=changes,
                                expected_version=observation.version, user=user)


# --- Wording -------------------------------------------------------------------------------------

def test_it_words_a_changed_choice_a_boolean_and_a_date(alice_client: Client, patient) -> None:
    edit(alice_client, patient, sex="female", renal_disease="true", date_of_birth="2026-01-20")
    text = visible_text(alice_client, patient)
    assert "Patient record" in text
    assert "Sex: Male → Female" in text
    assert "Renal disease: No → Yes" in text
    assert "Date of birth: 1 Feb 2026 → 20 Jan 2026" in text
    assert "Alice Clinician" in text


def test_it_words_a_corrected_observation_with_units_and_labels(alice_client: Client, alice,
                                                                patient) -> None:
    correct_observation(patient, alice, color="yellow", largest_diameter_mm=Decimal("6"))
    text = visible_text(alice_client, patient)
    assert "Observation of bilateral medial heel, 1 Oct 2026" in text
    assert "Colour: White-yellow → Yellow" in text
    assert "Largest diameter: 3 mm → 6 mm" in text
    assert "Lesion – bilateral medial heel" in text
    assert "Visit 1 Oct 2026" in text


def test_creations_list_key_fields_and_the_assessment_is_summarised(alice_client: Client,
                                                                    patient) -> None:
    assessment = Assessment.objects.get(observation__lesion__patient=patient)
    text = visible_text(alice_client, patient)
    assert "Created" in text
    assert "Clinic: North heel clinic" in text and "Date of birth: 1 Feb 2026" in text
    assert "Neonatal heel sticks: Yes" in text and "Gestational age at birth: 30 weeks" in text
    assert "Number of lesions: 3" in text and "Age when first noticed: 6 months" in text
    assert "Assessment of bilateral medial heel, 1 Oct 2026" in text
    assert (f"Assessment made: Heel-stick nodule, watchful waiting, ruleset "
            f"{assessment.ruleset_version}") in text
    assert "Lab result – Calcium (total), visit 1 Oct 2026" in text
    assert "Value: 9.9 mg/dL" in text
    assert "Engine" not in text and "age_months" not in text


def test_a_deletion_says_deleted(alice_client: Client, alice, patient) -> None:
    lab = LabResult.objects.get(encounter__patient=patient, analyte="phosphate")
    lab._history_user = alice
    lab.delete()
    text = visible_text(alice_client, patient)
    assert "Lab result – Phosphate (inorganic), visit 1 Oct 2026 Deleted" in text


def test_the_page_shows_no_codes_structures_or_ids(alice_client: Client, alice, rita,
                                                   patient) -> None:
    edit(alice_client, patient, renal_disease="true")
    correct_observation(patient, alice, features=["chalky_discharge", "white_core"],
                        color="white")
    encounter = patient.encounters.get()
    services.encounter_review(encounter=encounter, status="approved", comment="",
                              user=rita, expected_version=encounter.version)
    assessment = Assessment.objects.filter(observation__lesion__patient=patient).first()
    services.assessment_decide(assessment=assessment, decision="agree", final_subtypes=[],
                               final_entity="", final_management="", reason="", user=alice)
    text = visible_text(alice_client, patient)
    assert "Features: — → Chalky discharge, white core" in text
    assert "Review: Awaiting review → Approved" in text and "Reviewed by: — → Rita" in text
    assert "Decision on the assessment of bilateral medial heel, 1 Oct 2026" in text
    assert "Final diagnosis: Heel-stick nodule" in text
    assert not SNAKE_CASE.findall(text), SNAKE_CASE.findall(text)
    assert not REPR.search(text)
    # Records are named, never numbered; links to other records are not listed as numbers.
    assert not re.search(r"\b(Patient|Visit|Lesion|Observation|Assessment|Decision|Photo)"
                         r" \d+\b(?! [A-Z][a-z]{2} \d{4})", text)
    for label in ("ID:", "Patient:", "Encounter:", "Observation:", "Assessment:", "Clinic: 1",
                  "Input json", "Output json", "Version:"):
        assert label not in text, label


# --- Queries and access ------------------------------------------------------------------------

def test_the_number_of_queries_does_not_grow_with_the_trail(alice_client: Client, alice,
                                                            patient) -> None:
    edit(alice_client, patient, renal_disease="true")
    with CaptureQueriesContext(connection) as one_change:
        alice_client.get(f"/patients/{patient.pk}/history/")
    for flag in ("false", "true", "", "false", "true"):
        edit(alice_client, patient, renal_disease=flag)
    for size in ("4", "5", "6"):
        correct_observation(patient, alice, largest_diameter_mm=Decimal(size))
    with CaptureQueriesContext(connection) as many_changes:
        response = alice_client.get(f"/patients/{patient.pk}/history/")
    assert len(response.context["entries"]) > 20
    assert len(many_changes.captured_queries) == len(one_change.captured_queries)


def test_another_sites_patient_is_not_found(charlie_client: Client, patient) -> None:
    assert charlie_client.get(f"/patients/{patient.pk}/history/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client: Client, patient) -> None:
    response = client.get(f"/patients/{patient.pk}/history/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
