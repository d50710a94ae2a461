"""Every page: the happy path, invalid input (values kept, a clear message, nothing saved), the
anonymous user (redirected to login), the wrong HTTP method (405), and a user without the
clinical permissions (403)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client

from assessment.models import (
    Assessment,
    AssessmentDecision,
    Encounter,
    LabResult,
    Lesion,
    LesionObservation,
    Patient,
)
from tests.factories import PatientFactory


def patient_post(**changes: Any) -> dict[str, Any]:
    data = {"record_number": "HX-100", "date_of_birth": "2025-02-01", "sex": "male",
            "gestational_age_weeks": "30", "preterm_birth": "true", "nicu_stay": "true",
            "neonatal_heel_sticks": "true", "version": ""}
    data.update(changes)
    return data


def encounter_post(*, lesions: list[dict[str, Any]] | None = None,
                   labs: list[dict[str, Any]] | None = None, **visit: Any) -> dict[str, Any]:
    lesions = lesions if lesions is not None else [{
        "site": "heel", "heel_subsite": "medial", "laterality": "bilateral", "count": "3",
        "distribution": "grouped", "largest_diameter_mm": "3", "color": "white_yellow",
        "morphology": "papule", "surface": "smooth", "consistency": "firm",
        "onset_age_months": "6", "duration_weeks": "8", "trend": "stable"}]
    labs = labs if labs is not None else [
        {"analyte": "calcium_total", "value": "9.9", "unit": "mg/dL"},
        {"analyte": "phosphate", "value": "5.6", "unit": "mg/dL"}]
    data: dict[str, Any] = {"visit-date": "2025-10-01", "visit-kind": "initial",
                            "visit-notes": "", "visit-fever": "unknown"}
    data.update({f"visit-{k}": v for k, v in visit.items()})
    data.update({"lesion-TOTAL_FORMS": str(len(lesions)), "lesion-INITIAL_FORMS": "0",
                 "lesion-MIN_NUM_FORMS": "1", "lesion-MAX_NUM_FORMS": "10"})
    for index, lesion in enumerate(lesions):
        data.update({f"lesion-{index}-{k}": v for k, v in lesion.items()})
    rows = max(len(labs), 4)
    data.update({"lab-TOTAL_FORMS": str(rows), "lab-INITIAL_FORMS": "0",
                 "lab-MIN_NUM_FORMS": "0", "lab-MAX_NUM_FORMS": "30"})
    for index, row in enumerate(labs):
        data.update({f"lab-{index}-{k}": v for k, v in row.items()})
    return data


@pytest.fixture
def patient(alice) -> Patient:
    return PatientFactory(record_number="HX-001", date_of_birth=date(2025, 2, 1), sex="male",
                          preterm_birth=True, nicu_stay=True, neonatal_heel_sticks=True,
                          created_by=alice)


def record_count() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (
        Encounter, Lesion, LesionObservation, LabResult, Assessment))


# --- Anonymous users and wrong methods, for every page -----------------------------------------

PAGES = ["/patients/", "/patients/new/", "/patients/{p}/", "/patients/{p}/edit/",
         "/patients/{p}/encounters/new/", "/encounters/{e}/", "/assessments/{a}/"]


@pytest.fixture
def recorded(alice_client: Client, patient: Patient) -> dict[str, int]:
    alice_client.post(f"/patients/{patient.pk}/encounters/new/", encounter_post())
    assessment = Assessment.objects.get()
    return {"p": patient.pk, "e": assessment.observation.encounter_id, "a": assessment.pk}


@pytest.mark.parametrize("url", [*PAGES, "/assessments/{a}/decision/"])
def test_anonymous_users_are_sent_to_login(recorded: dict[str, int], url: str) -> None:
    response = Client().get(url.format(**recorded))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize(("url", "method"), [
    ("/patients/", "post"), ("/patients/{p}/", "post"), ("/encounters/{e}/", "post"),
    ("/assessments/{a}/", "post"), ("/assessments/{a}/decision/", "get"),
    ("/patients/new/", "put"), ("/patients/{p}/edit/", "delete"),
    ("/patients/{p}/encounters/new/", "patch"),
])
def test_wrong_method_is_405(alice_client: Client, recorded: dict[str, int], url: str,
                             method: str) -> None:
    assert getattr(alice_client, method)(url.format(**recorded)).status_code == 405


@pytest.mark.parametrize("url", PAGES)
def test_a_user_of_no_clinic_sees_nothing(bob_client: Client, recorded: dict[str, int],
                                          url: str) -> None:
    # Object pages answer 404 (the record is invisible to bob), the create page 403, and the
    # list is empty.
    response = bob_client.get(url.format(**recorded))
    if url == "/patients/":
        assert response.status_code == 200 and b"HX-001" not in response.content
    else:
        assert response.status_code in (403, 404)


def test_missing_records_are_404(alice_client: Client, db) -> None:
    for url in ("/patients/999/", "/encounters/999/", "/assessments/999/"):
        assert alice_client.get(url).status_code == 404


# --- Patient list ------------------------------------------------------------------------------

def test_patient_list_searches_and_paginates(alice_client: Client, alice) -> None:
    for n in range(30):
        PatientFactory(record_number=f"LIST-{n:03d}", created_by=alice)
    PatientFactory(record_number="OTHER-1", created_by=alice)
    page1 = alice_client.get("/patients/")
    assert page1.status_code == 200
    assert page1.content.count(b"LIST-") == 25
    assert b"Page 1 of 2" in page1.content
    found = alice_client.get("/patients/?q=other")
    assert b"OTHER-1" in found.content and b"LIST-000" not in found.content
    none = alice_client.get("/patients/?q=zzz")
    assert b"No patient matches" in none.content
    assert alice_client.get("/patients/?page=999").status_code == 200


def test_patient_list_query_count_does_not_grow(alice_client: Client, alice,
                                                django_assert_max_num_queries) -> None:
    PatientFactory(created_by=alice)
    with django_assert_max_num_queries(20) as few:
        alice_client.get("/patients/")
    for _ in range(40):
        PatientFactory(created_by=alice)
    with django_assert_max_num_queries(len(few.captured_queries)):
        alice_client.get("/patients/")


# --- Patient create and edit -------------------------------------------------------------------

def test_create_patient(alice_client: Client) -> None:
    response = alice_client.post("/patients/new/", patient_post())
    patient = Patient.objects.get(record_number="HX-100")
    assert response.status_code == 302 and response["Location"] == f"/patients/{patient.pk}/"
    assert patient.preterm_birth is True and patient.renal_disease is None
    assert patient.created_by.username == "alice"


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"date_of_birth": "2030-01-01"}, "date_of_birth", "cannot be in the future"),
    ({"date_of_birth": "2025-02-30"}, "date_of_birth", "Enter a valid date"),
    ({"date_of_birth": "1800-01-01"}, "date_of_birth", "not a plausible date"),
    ({"record_number": "Jane Doe"}, "record_number", "letters, digits and hyphens"),
    ({"sex": "x"}, "sex", "Select a valid choice"),
    ({"gestational_age_weeks": "38"}, "gestational_age_weeks", "is term"),
    ({"gestational_age_weeks": "99"}, "gestational_age_weeks", "less than or equal to 44"),
    ({"gestational_age_weeks": "abc"}, "gestational_age_weeks", "Enter a number"),
])
def test_create_patient_rejects_bad_input_and_keeps_values(alice_client: Client, changes,
                                                           field: str, words: str) -> None:
    response = alice_client.post("/patients/new/", patient_post(**changes))
    assert response.status_code == 400
    form = response.context["form"]
    assert words in " ".join(form.errors[field])
    assert b"Nothing was saved" in response.content
    assert b'value="HX-100"' in response.content or field == "record_number"
    assert not Patient.objects.exists()


def test_duplicate_record_number_is_refused(alice_client: Client, patient: Patient) -> None:
    response = alice_client.post("/patients/new/", patient_post(record_number="HX-001"))
    assert response.status_code == 400
    assert "already exists" in " ".join(response.context["form"].errors["record_number"])


def test_edit_patient(alice_client: Client, patient: Patient) -> None:
    page = alice_client.get(f"/patients/{patient.pk}/edit/")
    assert page.context["form"].initial["version"] == 1
    response = alice_client.post(f"/patients/{patient.pk}/edit/", patient_post(
        record_number="HX-001", renal_disease="true", version="1"))
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.renal_disease is True and patient.version == 2


def test_a_stale_edit_is_refused_and_nothing_is_overwritten(alice_client: Client,
                                                            patient: Patient) -> None:
    first = alice_client.post(f"/patients/{patient.pk}/edit/", patient_post(
        record_number="HX-001", renal_disease="true", version="1"))
    assert first.status_code == 302
    stale = alice_client.post(f"/patients/{patient.pk}/edit/", patient_post(
        record_number="HX-001", renal_disease="false", version="1"))
    assert stale.status_code == 400
    assert b"was changed by" in stale.content
    patient.refresh_from_db()
    assert patient.renal_disease is True and patient.version == 2


def test_edit_invalid_keeps_values(alice_client: Client, patient: Patient) -> None:
    response = alice_client.post(f"/patients/{patient.pk}/edit/", patient_post(
        record_number="HX-001", date_of_birth="not-a-date", version="1"))
    assert response.status_code == 400
    assert b'value="not-a-date"' in response.content


# --- Patient page ------------------------------------------------------------------------------

def test_patient_page_lists_encounters_lesions_and_assessments(alice_client: Client,
                                                               recorded: dict[str, int],
                                                               django_assert_max_num_queries
                                                               ) -> None:
    with django_assert_max_num_queries(15):
        response = alice_client.get(f"/patients/{recorded['p']}/")
    assert response.status_code == 200
    assert b"Calcified heel-stick nodule" in response.content
    assert b"Watchful waiting" in response.content


# --- Encounter entry ---------------------------------------------------------------------------

def test_encounter_entry_saves_everything_and_assesses(alice_client: Client,
                                                       patient: Patient) -> None:
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/", encounter_post())
    assessment = Assessment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/assessments/{assessment.pk}/"
    assert assessment.leading_entity == "calcified_heel_stick_nodule"
    assert assessment.management_category == "watchful_waiting"
    assert float(assessment.age_months) == 8.0
    assert assessment.input_json["patient"]["history"]["nicu_stay"] is True
    assert assessment.output_json["ruleset_version"] == assessment.ruleset_version
    assert LabResult.objects.count() == 2
    assert Encounter.objects.get().clinician.username == "alice"


def test_encounter_entry_with_two_lesions_goes_to_the_visit_page(alice_client: Client,
                                                                 patient: Patient) -> None:
    lesions = [{"site": "heel", "count": "1", "laterality": "left"},
               {"site": "sole", "count": "2", "color": "white"}]
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/",
                                 encounter_post(lesions=lesions))
    encounter = Encounter.objects.get()
    assert response["Location"] == f"/encounters/{encounter.pk}/"
    assert Assessment.objects.count() == 2


@pytest.mark.parametrize(("post", "form", "field", "words"), [
    (encounter_post(date="2024-12-01"), "visit", "date", "before the date of birth"),
    (encounter_post(date="2099-01-01"), "visit", "date", "cannot be in the future"),
    (encounter_post(date="2025-13-45"), "visit", "date", "Enter a valid date"),
    (encounter_post(lesions=[{"site": "hele", "count": "1"}]), "lesion", "site",
     "Select a valid choice"),
    (encounter_post(lesions=[{"site": "heel", "count": "0"}]), "lesion", "count",
     "must be from 1 to 500, got 0"),
    (encounter_post(lesions=[{"site": "heel", "count": "99999999999"}]), "lesion", "count",
     "must be from 1 to 500"),
    (encounter_post(lesions=[{"site": "sole", "count": "1", "heel_subsite": "medial"}]),
     "lesion", "heel_subsite", "only used when the site is the heel"),
    (encounter_post(lesions=[{"site": "heel", "count": "1", "largest_diameter_mm": "3",
                              "perpendicular_diameter_mm": "4"}]),
     "lesion", "perpendicular_diameter_mm", "Cannot exceed"),
    (encounter_post(lesions=[{"site": "heel", "count": "1", "onset_age_months": "30"}]),
     "lesion", "onset_age_months", "later than the child's age"),
    (encounter_post(labs=[{"analyte": "calcium_total", "value": "9.8", "unit": "mmol/L"}]),
     "lab", "value", "9.8 mg/dL would be plausible"),
    (encounter_post(labs=[{"analyte": "creatinine", "value": "0.4", "unit": "%"}]),
     "lab", "unit", "not reported in %"),
    (encounter_post(labs=[{"analyte": "phosphate", "value": "-1", "unit": "mg/dL"}]),
     "lab", "value", "greater than or equal to 0"),
    (encounter_post(labs=[{"analyte": "phosphate", "value": "abc", "unit": "mg/dL"}]),
     "lab", "value", "Enter a number"),
    (encounter_post(labs=[{"value": "5", "unit": "mg/dL"}]), "lab", "analyte",
     "Choose the analyte"),
    (encounter_post(labs=[{"analyte": "phosphate", "value": "5", "unit": "mg/dL"},
                          {"analyte": "phosphate", "value": "6", "unit": "mg/dL"}]),
     "lab", "analyte", "already in row 1"),
])
def test_encounter_entry_rejects_bad_input_keeps_values_and_saves_nothing(
        alice_client: Client, patient: Patient, post: dict[str, Any], form: str, field: str,
        words: str) -> None:
    before = record_count()
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/", post)
    assert response.status_code == 400
    entry = response.context["entry"]
    target = {"visit": entry.encounter_form}.get(form)
    if target is None:
        forms = entry.lesions.forms if form == "lesion" else entry.labs.forms
        target = next(f for f in forms if f.errors)
    assert words in " ".join(target.errors[field]), target.errors
    assert b"Nothing was saved" in response.content
    assert record_count() == before
    # What the clinician typed is still on the page.
    for key in ("visit-date", "lesion-0-count", "lesion-0-largest_diameter_mm", "lab-0-value"):
        if post.get(key):
            assert f'value="{post[key]}"'.encode() in response.content, key


def test_engine_errors_land_on_the_patient_when_the_record_is_inconsistent(
        alice_client: Client, alice) -> None:
    patient = PatientFactory(created_by=alice, iv_calcium_received=False,
                             date_of_birth=date(2025, 2, 1))
    post = encounter_post(lesions=[{"site": "heel", "count": "1",
                                    "iv_calcium_at_lesion_site": "true"}])
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/", post)
    assert response.status_code == 400
    lesion_form = response.context["entry"].lesions.forms[0]
    assert "iv_calcium_received is false" in " ".join(
        lesion_form.errors["iv_calcium_at_lesion_site"])
    assert not Encounter.objects.exists()


def test_encounter_entry_needs_a_lesion(alice_client: Client, patient: Patient) -> None:
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/",
                                 encounter_post(lesions=[{}]))
    assert response.status_code == 400
    assert not Encounter.objects.exists()


def test_encounter_form_renders(alice_client: Client, patient: Patient) -> None:
    response = alice_client.get(f"/patients/{patient.pk}/encounters/new/")
    assert response.status_code == 200
    assert b"Save and assess" in response.content


def test_encounter_page(alice_client: Client, recorded: dict[str, int]) -> None:
    response = alice_client.get(f"/encounters/{recorded['e']}/")
    assert response.status_code == 200
    assert b"Calcium (total) 9.9 mg/dL" in response.content


# --- Assessment page and decisions -------------------------------------------------------------

def test_assessment_page_shows_the_sections_in_order(alice_client: Client,
                                                     recorded: dict[str, int]) -> None:
    response = alice_client.get(f"/assessments/{recorded['a']}/")
    html = response.content.decode()
    # The answer first (summary card), then what was entered, then the detail.
    order = ['id="summary"', "Findings entered", "Red flags", "Classification", "Differential",
             "Laboratory results", "Calcium × phosphate product", "Workup to complete",
             "Management and expected course", "Suggested follow-up", "Rules fired",
             "Your decision", 'id="ruleset-footer"']
    positions = [html.index(heading) for heading in order]
    assert positions == sorted(positions)
    # This child was born 2025-02-01: 18–30 months is 2026-08 to 2027-08.
    assert "Expected to resolve between 2026-08 and 2027-08, at 18–30 months of age" in html
    assert "24 Dec 2025 (in 12 weeks)" in html
    assert "24 Dec 2025" in html.split('id="findings-heading"')[0]  # follow-up in the summary


def test_agree_records_the_engine_reading(alice_client: Client, recorded: dict[str, int]) -> None:
    response = alice_client.post(f"/assessments/{recorded['a']}/decision/",
                                 {"decision": "agree"})
    assert response.status_code == 302
    decision = AssessmentDecision.objects.get()
    assert decision.final_entity == "calcified_heel_stick_nodule"
    assert decision.final_management == "watchful_waiting"


def test_override_needs_a_reason_and_keeps_values(alice_client: Client,
                                                  recorded: dict[str, int]) -> None:
    response = alice_client.post(f"/assessments/{recorded['a']}/decision/", {
        "decision": "override", "final_entity": "verruca_plantaris",
        "final_management": "treat", "reason": "  "})
    assert response.status_code == 400
    assert "Give the reason" in " ".join(response.context["decision_form"].errors["reason"])
    assert b'value="verruca_plantaris" selected' in response.content
    assert not AssessmentDecision.objects.exists()


def test_override_keeps_both_the_engine_output_and_the_decision(
        alice_client: Client, recorded: dict[str, int]) -> None:
    alice_client.post(f"/assessments/{recorded['a']}/decision/", {
        "decision": "override", "final_entity": "verruca_plantaris",
        "final_management": "treat", "reason": "Dermoscopy shows red-black dots."})
    assessment = Assessment.objects.get()
    decision = assessment.decisions.get()
    assert decision.final_entity == "verruca_plantaris" and decision.final_subtypes == []
    assert assessment.output_json["leading_entity"]["code"] == "calcified_heel_stick_nodule"
    page = alice_client.get(f"/assessments/{recorded['a']}/").content.decode()
    assert "Dermoscopy shows red-black dots." in page


def test_reviewers_can_read_but_not_decide(rita_client: Client, recorded: dict[str, int]) -> None:
    assert rita_client.get(f"/assessments/{recorded['a']}/").status_code == 200
    response = rita_client.post(f"/assessments/{recorded['a']}/decision/", {"decision": "agree"})
    assert response.status_code == 403
    assert rita_client.post("/patients/new/", patient_post()).status_code == 403


# --- The visit form validates each contract input once ---------------------------------------

def test_the_visit_form_path_validates_each_input_once(alice_client: Client, patient: Patient,
                                                       monkeypatch) -> None:
    """The form validates the contract input to place errors on fields; the service, which
    rebuilds the same input from the saved rows, assesses the form's findings instead of
    validating again. The engine is the real one: the wrappers only count its calls."""
    from assessment import engine
    from assessment.engine import core

    calls: list[str] = []

    def counted(name: str, real: Any) -> Any:
        def validate(data: Any) -> Any:
            calls.append(name)
            return real(data)
        return validate

    monkeypatch.setattr(engine, "validate", counted("form", engine.validate))
    monkeypatch.setattr(core, "validate", counted("service", core.validate))
    two = encounter_post(lesions=[
        {"site": "heel", "heel_subsite": "medial", "laterality": "left", "count": "1",
         "largest_diameter_mm": "3", "color": "white_yellow", "consistency": "firm",
         "onset_age_months": "6", "duration_weeks": "8", "trend": "stable"},
        {"site": "sole", "laterality": "right", "count": "1", "largest_diameter_mm": "2",
         "color": "skin_colored", "consistency": "soft", "onset_age_months": "7",
         "duration_weeks": "4", "trend": "stable"}])
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/", two)
    assert response.status_code == 302
    assert Assessment.objects.count() == 2
    assert calls == ["form", "form"]


def test_a_changed_input_is_validated_again(alice, patient: Patient) -> None:
    """Findings the form validated are reused only for an equal input: the same assessment as
    validating afresh, and a different input is validated and assessed on its own."""
    from assessment import engine, services
    from assessment.clinical import contract_input

    client = Client()
    client.force_login(alice)
    client.post(f"/patients/{patient.pk}/encounters/new/", encounter_post())
    stored = Assessment.objects.get()
    observation = stored.observation
    encounter = observation.encounter
    labs, imaging = list(encounter.labs.all()), list(encounter.imaging.all())
    data = contract_input(patient=patient, encounter=encounter, lesion=observation.lesion,
                          observation=observation, labs=labs, imaging=imaging)
    other = {**data, "lesion": {**data["lesion"], "color": "erythematous"}}
    stale = [(other, engine.validate(other))]
    # As if stored with an older ruleset, so this run may store one beside it.
    Assessment.objects.filter(pk=stored.pk).update(ruleset_version="2025.01.1")
    again = services.assessment_run(patient=patient, encounter=encounter,
                                    lesion=observation.lesion, observation=observation,
                                    labs=labs, imaging=imaging, user=alice, validated=stale)
    assert again.output_json == engine.assess(data) == stored.output_json
