"""The lighter read paths of the patient list and the assessment page show the same things:
the list's figures per patient (counted without multiplying visits by lesions), and the
assessment page's decision form, whose markup is reused between requests only while nothing
on it differs."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.test import Client

from assessment.models import Assessment, AssessmentDecision, Patient
from tests.factories import PatientFactory
from tests.integration.test_assessment_page import CRITICAL_LABS
from tests.integration.test_views import encounter_post

TWO_LESIONS = [
    {"site": "heel", "heel_subsite": "medial", "laterality": "left", "count": "2",
     "largest_diameter_mm": "3", "color": "white_yellow", "consistency": "firm",
     "onset_age_months": "6", "duration_weeks": "8", "trend": "stable"},
    {"site": "heel", "heel_subsite": "lateral", "laterality": "right", "count": "1",
     "largest_diameter_mm": "2", "color": "white_yellow", "consistency": "firm",
     "onset_age_months": "6", "duration_weeks": "8", "trend": "stable"},
]


@pytest.fixture
def patient(alice) -> Patient:
    return PatientFactory(record_number="RP-001", date_of_birth=date(2025, 2, 1), sex="female",
                          neonatal_heel_sticks=True, created_by=alice)


def record(client: Client, patient: Patient, **kwargs) -> None:
    response = client.post(f"/patients/{patient.pk}/encounters/new/", encounter_post(**kwargs))
    assert response.status_code == 302, response.content[:2000]


def list_row(html: str, record_number: str) -> list[str]:
    row = html.split(f">{record_number}</a>")[1].split("</tr>")[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in row.split("<td>")[1:]]


def test_the_patient_list_counts_visits_and_lesions_each_once(alice_client: Client, alice,
                                                             patient: Patient) -> None:
    # Two visits of two lesions each: a join of visits and lesions would see four rows.
    record(alice_client, patient, lesions=TWO_LESIONS, date="2025-09-01")
    record(alice_client, patient, lesions=TWO_LESIONS, date="2025-10-02")
    PatientFactory(record_number="RP-002", date_of_birth=date(2024, 12, 25), sex="male",
                   created_by=alice)
    html = alice_client.get("/patients/").content.decode()
    assert list_row(html, "RP-001") == ["1 Feb 2025", "Female", "2", "2 Oct 2025", "4"]
    assert list_row(html, "RP-002") == ["25 Dec 2024", "Male", "0", "—", "0"]
    assert f'href="/patients/{patient.pk}/">RP-001</a>' in html


def decision_form(html: str) -> str:
    return html.split('id="decision"')[1].split("</form>")[0]


def test_the_decision_form_opens_on_each_assessments_own_decision(
        alice_client: Client, alice) -> None:
    first, second = (PatientFactory(record_number=f"RP-01{n}", date_of_birth=date(2025, 2, 1),
                                    created_by=alice) for n in (0, 1))
    record(alice_client, first)
    record(alice_client, second)
    one, two = Assessment.objects.order_by("id")
    for assessment in (one, two):  # both open on "Agree", the first rendering reused
        form = decision_form(alice_client.get(f"/assessments/{assessment.pk}/").content.decode())
        assert re.search(r'value="agree"[^>]*checked', form)
        assert form.count("csrfmiddlewaretoken") == 1  # the page's own, not a second one
    response = alice_client.post(f"/assessments/{one.pk}/decision/", {
        "decision": "override", "final_entity": "milia", "final_management": "treat",
        "reason": "Looks like milia."})
    assert response.status_code == 302
    assert AssessmentDecision.objects.count() == 1
    opened = decision_form(alice_client.get(f"/assessments/{one.pk}/").content.decode())
    assert re.search(r'value="override"[^>]*checked', opened)
    assert re.search(r'<option value="milia" selected>', opened)
    untouched = decision_form(alice_client.get(f"/assessments/{two.pk}/").content.decode())
    assert re.search(r'value="agree"[^>]*checked', untouched)
    assert not re.search(r'<option value="milia" selected>', untouched)


def test_a_guard_flags_words_are_this_childs(alice_client: Client, alice) -> None:
    """The guard's label quotes the child's own values: never another child's markup."""
    low, high = (PatientFactory(record_number=f"RP-02{n}", date_of_birth=date(2025, 2, 1),
                                created_by=alice) for n in (0, 1))
    record(alice_client, low, labs=CRITICAL_LABS)
    record(alice_client, high, labs=[{**CRITICAL_LABS[0], "value": "3.5"}, CRITICAL_LABS[1]])
    for assessment, value in zip(Assessment.objects.order_by("id"), ("3.9", "3.5"),
                                 strict=True):
        form = decision_form(alice_client.get(f"/assessments/{assessment.pk}/").content.decode())
        assert "I have considered the urgent red flag" in form
        assert f"calcium {value} mg/dL" in form.replace("total ", "")


def test_the_assessment_page_asks_fewer_queries(alice_client: Client, patient: Patient,
                                                django_assert_max_num_queries) -> None:
    record(alice_client, patient)
    assessment = Assessment.objects.get()
    # 13 before: the lookup joined nine tables, a second query fetched the observation's
    # newest assessment, a third loaded a field it had deferred, and the decisions were asked
    # for when there were none, and the handout offer asked again for the newest assessment
    # and for a later visit. Now the lookup (five tables) says which is the newest (fetched
    # only when it is another one), whether any decision was recorded and whether the lesion
    # was seen again later.
    with django_assert_max_num_queries(8):
        assert alice_client.get(f"/assessments/{assessment.pk}/").status_code == 200


def test_the_engine_output_markup_is_reused_only_while_what_it_shows_is_unchanged(
        alice_client: Client, patient: Patient) -> None:
    from assessment.presenters import assessment_body_html, assessment_view_model

    record(alice_client, patient)
    assessment = Assessment.objects.select_related("observation__encounter__patient").get()
    first = assessment_body_html(assessment, assessment_view_model(assessment))
    assert assessment_body_html(assessment, assessment_view_model(assessment)) is first
    # The follow-up date counts from the visit date; the atypical-course section shows the
    # flags a later visit adds; each change renders the markup again.
    encounter = assessment.observation.encounter
    encounter.date = date(2025, 10, 8)
    moved = assessment_body_html(assessment, assessment_view_model(assessment))
    assert moved != first
    assessment.course_flags = [{"text": "Growing after 6 months.", "action": "Refer.",
                                "source": "Test"}]
    flagged = assessment_body_html(assessment, assessment_view_model(assessment))
    assert "Growing after 6 months." in flagged and "Growing" not in moved
    # And the page shows the body as the admin renders it.
    from django.template.loader import render_to_string

    page = alice_client.get(f"/assessments/{assessment.pk}/").content.decode()
    fresh = Assessment.objects.get(pk=assessment.pk)
    assert render_to_string("assessment/_assessment_body.html",
                            {"view": assessment_view_model(fresh)}) in page


def test_a_decided_assessment_reads_its_decisions_once(alice_client: Client, patient: Patient,
                                                      django_assert_max_num_queries) -> None:
    record(alice_client, patient)
    assessment = Assessment.objects.get()
    assert alice_client.post(f"/assessments/{assessment.pk}/decision/",
                             {"decision": "agree"}).status_code == 302
    with django_assert_max_num_queries(9):
        html = alice_client.get(f"/assessments/{assessment.pk}/").content.decode()
    assert "Agree with the assessment</strong> by Alice Clinician" in html
