"""Admin review: changelists with a constant number of queries, readable assessments, and the
review recording who and when."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from assessment.demo import load_demo
from assessment.models import Assessment, Encounter, ReviewStatus
from tests.factories import EncounterFactory, PatientFactory


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root", password="root-pass-1234")


@pytest.fixture
def demo(alice) -> None:
    load_demo(alice)


INLINE_MANAGEMENT = {f"{prefix}-{key}": value for prefix in ("observations", "labs", "imaging")
                     for key, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"),
                                        ("MIN_NUM_FORMS", "0"), ("MAX_NUM_FORMS", "1000"))}

CHANGELISTS = ["/admin/assessment/patient/", "/admin/assessment/encounter/",
               "/admin/assessment/assessment/", "/admin/assessment/lesion/",
               "/admin/assessment/labresult/", "/admin/assessment/lesionobservation/",
               "/admin/assessment/imagingfinding/", "/admin/assessment/assessmentdecision/"]


@pytest.mark.parametrize("url", CHANGELISTS)
def test_changelists_render_for_reviewers(rita_client: Client, demo, url: str) -> None:
    assert rita_client.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/admin/assessment/patient/", "/admin/assessment/encounter/",
                                 "/admin/assessment/assessment/"])
def test_changelist_query_count_does_not_grow_with_patients(
        rita_client: Client, alice, url: str, django_assert_max_num_queries) -> None:
    load_demo(alice)
    with django_assert_max_num_queries(40) as baseline:
        rita_client.get(url)
    for _ in range(30):
        encounter = EncounterFactory(patient=PatientFactory(created_by=alice))
        assert encounter.pk
    with django_assert_max_num_queries(len(baseline.captured_queries)):
        response = rita_client.get(url)
    assert response.status_code == 200


def test_encounter_filters_and_search(rita_client: Client, demo) -> None:
    base = "/admin/assessment/encounter/"
    metastatic = rita_client.get(base + "?subtype=metastatic").context["cl"].result_count
    assert metastatic == 1
    urgent = rita_client.get(base + "?management=urgent").context["cl"].result_count
    assert urgent == 1
    assert rita_client.get(base + "?q=DEMO-C").context["cl"].result_count == 1
    assert rita_client.get(base + "?review_status=pending").context["cl"].result_count == 6


def test_assessment_is_shown_readably(rita_client: Client, demo) -> None:
    assessment = Assessment.objects.get(observation__encounter__patient__record_number="DEMO-B")
    html = rita_client.get(f"/admin/assessment/assessment/{assessment.pk}/change/").content
    assert b"Red flags" in html and b"Calcium \xc3\x97 phosphate product" in html
    assert b"77.2" in html


def test_reviewer_approves_and_the_admin_records_who_and_when(rita_client: Client, rita,
                                                              demo) -> None:
    encounter = Encounter.objects.get(patient__record_number="DEMO-C")
    url = f"/admin/assessment/encounter/{encounter.pk}/change/"
    page = rita_client.get(url)
    assert page.status_code == 200 and b"Engine assessments" in page.content
    assert set(page.context["adminform"].form.fields) == {"review_status", "review_comment",
                                                          "expected_version"}
    data = {"review_status": ReviewStatus.APPROVED, "review_comment": "Agree.",
            "expected_version": encounter.version}
    response = rita_client.post(url, {**data, **INLINE_MANAGEMENT})
    assert response.status_code == 302, response.context["adminform"].form.errors
    encounter.refresh_from_db()
    assert encounter.review_status == ReviewStatus.APPROVED
    assert encounter.reviewed_by == rita and encounter.reviewed_at is not None


def test_needs_changes_requires_a_comment(rita_client: Client, demo) -> None:
    encounter = Encounter.objects.get(patient__record_number="DEMO-A", kind="initial")
    url = f"/admin/assessment/encounter/{encounter.pk}/change/"
    response = rita_client.post(url, {"review_status": ReviewStatus.CHANGES,
                                      "review_comment": "", "expected_version": 1,
                                      **INLINE_MANAGEMENT})
    assert response.status_code == 200
    assert "Say what needs to change." in str(response.context["adminform"].form.errors)


def test_bulk_approve_action(rita_client: Client, rita, demo) -> None:
    ids = list(Encounter.objects.values_list("pk", flat=True))
    response = rita_client.post("/admin/assessment/encounter/", {
        "action": "approve", "_selected_action": ids})
    assert response.status_code == 302
    assert set(Encounter.objects.values_list("review_status", flat=True)) == {"approved"}
    assert set(Encounter.objects.values_list("reviewed_by", flat=True)) == {rita.pk}


def test_clinicians_without_staff_status_cannot_open_the_admin(alice_client: Client) -> None:
    response = alice_client.get("/admin/assessment/encounter/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_assessments_cannot_be_edited_in_the_admin(superuser, demo) -> None:
    client = Client()
    client.force_login(superuser)
    assessment = Assessment.objects.first()
    url = f"/admin/assessment/assessment/{assessment.pk}/change/"
    client.post(url, {"ruleset_version": "tampered"})
    assessment.refresh_from_db()
    assert assessment.ruleset_version != "tampered"


def test_visits_are_not_added_or_edited_in_the_admin(rita_client: Client, demo) -> None:
    assert rita_client.get("/admin/assessment/encounter/add/").status_code == 403
    encounter = Encounter.objects.get(patient__record_number="DEMO-A", kind="initial")
    rita_client.post(f"/admin/assessment/encounter/{encounter.pk}/change/", {
        "review_status": "approved", "review_comment": "", "notes": "tampered",
        "expected_version": encounter.version, **INLINE_MANAGEMENT})
    encounter.refresh_from_db()
    assert encounter.notes == "" and encounter.review_status == "approved"
