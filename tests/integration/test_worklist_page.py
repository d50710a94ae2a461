"""The worklist page: urgent lesions first whatever their due date, due dates in days, a reason
in words on every row, only the user's sites, and a query count that does not grow."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assessment import services
from assessment.demo import ATYPICAL_CASE, record_contract_case, record_follow_up
from assessment.models import Assessment, Lesion, Patient, Site
from tests.builders import CASES_DIR

TODAY = date(2026, 6, 15)
URGENT_CASE = json.loads((CASES_DIR / "seed_case_b_extravasation_renal_failure.json").read_text(
    encoding="utf-8"))["input"]
BENIGN_CASE = json.loads((CASES_DIR / "seed_case_a_pearl_like_heel_nodule.json").read_text(
    encoding="utf-8"))["input"]
LESION_SECTIONS = ("urgent", "overdue", "due", "atypical")


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch) -> None:
    """The worklist reads today's date from django.utils.timezone.localdate."""
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: TODAY)


def urgent_patient(record: str, user: User, site: Site, *, visit: date) -> Patient:
    """Critical calcium, phosphate and creatinine: urgent, due the day of the visit."""
    return record_contract_case(data=URGENT_CASE, record_number=record,
                                born=visit - timedelta(days=520), visit=visit,
                                label="left heel plaque at the infusion site", user=user,
                                site=site)


def benign_patient(record: str, user: User, site: Site, *, visit: date) -> Patient:
    """A subepidermal calcified nodule: watchful waiting, recheck 12 weeks after the visit."""
    return record_contract_case(data=BENIGN_CASE, record_number=record,
                                born=visit - timedelta(days=365), visit=visit,
                                label="right lateral heel nodule", user=user, site=site)


def atypical_patient(record: str, user: User, site: Site) -> Patient:
    patient = record_contract_case(data=ATYPICAL_CASE, record_number=record,
                                   born=date(2025, 1, 1), visit=date(2026, 2, 1),
                                   label="left lateral heel nodule", user=user, site=site)
    record_follow_up(patient=patient, on=date(2026, 5, 1), status="larger", changes={
        "largest_diameter_mm": Decimal(6), "perpendicular_diameter_mm": Decimal(5),
        "features": ["erythema_around", "tenderness"], "trend": "growing"}, user=user)
    return patient


def records(context: Any, section: str) -> list[str]:
    return [row["record"] for row in context[section]]


def row_of(context: Any, section: str, record: str) -> dict[str, Any]:
    return next(row for row in context[section] if row["record"] == record)


# --- Urgent and unresolved -----------------------------------------------------------------------

def test_an_overdue_urgent_lesion_is_listed_first_and_a_benign_one_is_not(
        alice_client: Client, alice: User, north: Site) -> None:
    benign_patient("BENIGN-1", alice, north, visit=date(2026, 3, 1))
    urgent_patient("URGENT-1", alice, north, visit=date(2026, 4, 15))
    response = alice_client.get("/")
    context, html = response.context, response.content.decode()
    assert records(context, "urgent") == ["URGENT-1"] and context["urgent_count"] == 1
    assert context["sections"][0]["key"] == "urgent"
    assert html.index('id="urgent-heading"') < html.index('id="overdue-heading"')
    urgent = row_of(context, "urgent", "URGENT-1")
    assert urgent["waiting"] == "waiting 61 days" and urgent["seen"] == date(2026, 4, 15)
    assert "waiting 61 days" in html
    # Both are overdue; only the urgent one is marked urgent there.
    assert row_of(context, "overdue", "URGENT-1")["urgent"] is True
    assert row_of(context, "overdue", "BENIGN-1")["urgent"] is False


def test_an_urgent_lesion_is_listed_whatever_its_due_date(alice_client: Client, alice: User,
                                                          north: Site) -> None:
    patient = urgent_patient("URGENT-1", alice, north, visit=date(2026, 6, 1))
    Lesion.objects.filter(patient=patient).update(next_follow_up_due=None)
    context = alice_client.get("/").context
    assert records(context, "urgent") == ["URGENT-1"]
    assert records(context, "overdue") == [] and records(context, "due") == []


def test_urgent_lesions_are_listed_longest_waiting_first(alice_client: Client, alice: User,
                                                         north: Site) -> None:
    urgent_patient("URGENT-NEW", alice, north, visit=TODAY)
    urgent_patient("URGENT-OLD", alice, north, visit=date(2026, 1, 5))
    context = alice_client.get("/").context
    assert records(context, "urgent") == ["URGENT-OLD", "URGENT-NEW"]
    assert [row["waiting"] for row in context["urgent"]] == ["waiting 161 days", "flagged today"]


def test_only_the_latest_assessment_counts(alice_client: Client, alice: User,
                                           north: Site) -> None:
    patient = urgent_patient("URGENT-1", alice, north, visit=date(2026, 4, 15))
    first = Assessment.objects.get(observation__encounter__patient=patient)
    assert records(alice_client.get("/").context, "urgent") == ["URGENT-1"]
    # A newer, milder result of the same visit (as a correction adds) is the one that counts;
    # the urgent one is kept beside it.
    first.pk, first.observation_version = None, 2
    first.management_category, first.urgent = "watchful_waiting", False
    first.output_json = {**first.output_json, "red_flags": []}
    first.save()
    services.worklist_changed()
    assert records(alice_client.get("/").context, "urgent") == []


# --- Due dates in days ---------------------------------------------------------------------------

def test_follow_ups_say_how_many_days_overdue_or_until_due(alice_client: Client, alice: User,
                                                           north: Site) -> None:
    benign_patient("LATE", alice, north, visit=TODAY - timedelta(weeks=12, days=22))
    benign_patient("TODAY", alice, north, visit=TODAY - timedelta(weeks=12))
    benign_patient("SOON", alice, north, visit=TODAY - timedelta(weeks=12) + timedelta(days=3))
    benign_patient("ONE", alice, north, visit=TODAY - timedelta(weeks=12, days=1))
    response = alice_client.get("/")
    context, html = response.context, response.content.decode()
    assert [(row["record"], row["when"]) for row in context["overdue"]] == [
        ("LATE", "overdue 22 days"), ("ONE", "overdue 1 day")]
    assert [(row["record"], row["when"]) for row in context["due"]] == [
        ("TODAY", "due today"), ("SOON", "due in 3 days")]
    for words in ("overdue 22 days", "overdue 1 day", "due today", "due in 3 days"):
        assert words in html


# --- Why each row is listed ----------------------------------------------------------------------

def test_every_row_says_why_it_is_listed_with_its_reading_and_links(
        alice_client: Client, alice: User, north: Site) -> None:
    urgent = urgent_patient("URGENT-1", alice, north, visit=date(2026, 4, 15))
    benign = benign_patient("BENIGN-1", alice, north, visit=date(2026, 3, 1))
    atypical = atypical_patient("ODD-1", alice, north)
    response = alice_client.get("/")
    context, html = response.context, response.content.decode()

    row = row_of(context, "urgent", "URGENT-1")
    assert row["reason"].startswith("Urgent red flag: critical value: total calcium 3.9 mg/dL")
    assert row["reason"].endswith("(and 4 more urgent).")
    assert row["entity"] == "Metastatic calcinosis of renal failure (CKD-MBD)"
    assessment = Assessment.objects.get(observation__encounter__patient=urgent)
    assert row["assessment_url"] == f"/assessments/{assessment.pk}/"
    assert row["patient_url"] == f"/patients/{urgent.pk}/"
    assert row["title"] == "left heel plaque at the infusion site"

    row = row_of(context, "overdue", "BENIGN-1")
    assert row["reason"] == ("Follow-up overdue: recheck of subepidermal calcified nodule "
                             "(SCN)")
    assert row["url"] == f"/lesions/{benign.lesions.get().pk}/"

    row = row_of(context, "atypical", "ODD-1")
    assert row["reason"].startswith("Atypical course: growing: 3 mm on 1 Feb 2026, 6 mm on "
                                    "1 May 2026")
    latest = Assessment.objects.filter(observation__encounter__patient=atypical).latest(
        "created_at", "id")
    assert row["assessment_url"] == f"/assessments/{latest.pk}/"

    row = row_of(context, "review", "BENIGN-1")
    assert row["reason"] == ("Assessment awaiting review: initial visit recorded by Alice "
                             "Clinician")
    assert row["when"] == "waiting 106 days"

    for text in ("Urgent red flag: critical value", "Follow-up overdue: recheck of",
                 "Atypical course: growing", "Assessment awaiting review",
                 "Metastatic calcinosis of renal failure (CKD-MBD)",
                 f'href="/assessments/{assessment.pk}/"', f'href="/patients/{urgent.pk}/"',
                 "URGENT-1 · left heel plaque at the infusion site"):
        assert text in html, text


def test_the_page_shows_no_codes(alice_client: Client, alice: User, north: Site) -> None:
    urgent_patient("URGENT-1", alice, north, visit=date(2026, 4, 15))
    atypical_patient("ODD-1", alice, north)
    Lesion.objects.create(patient=Patient.objects.get(record_number="ODD-1"), clinic=north,
                          site="foot_dorsum", laterality="right", created_by=alice,
                          updated_by=alice, next_follow_up_due=TODAY)
    response = alice_client.get("/")
    html = response.content.decode()
    assert row_of(response.context, "due", "ODD-1")["title"] == "right dorsum of the foot"
    for code in ("metastatic_calcinosis", "watchful_waiting", "follow_up", "foot_dorsum",
                 "{'", "['"):
        assert code not in html, code


# --- What is never listed ------------------------------------------------------------------------

def test_resolved_lesions_are_never_listed(alice_client: Client, alice: User,
                                           north: Site) -> None:
    patient = urgent_patient("URGENT-1", alice, north, visit=date(2026, 4, 15))
    atypical = atypical_patient("ODD-1", alice, north)
    for resolved in (patient, atypical):
        record_follow_up(patient=resolved, on=date(2026, 6, 1), status="resolved", changes={},
                         user=alice)
    assert Lesion.objects.filter(status="active").count() == 0
    context = alice_client.get("/").context
    for section in LESION_SECTIONS:
        assert context[section] == [] and context[f"{section}_count"] == 0, section


def test_other_sites_patients_are_never_listed(alice_client: Client, charlie: User,
                                               south: Site, alice: User, north: Site) -> None:
    urgent_patient("SOUTH-URGENT", charlie, south, visit=date(2026, 4, 15))
    benign_patient("SOUTH-LATE", charlie, south, visit=date(2026, 3, 1))
    benign_patient("NORTH-LATE", alice, north, visit=date(2026, 3, 1))
    response = alice_client.get("/")
    html = response.content.decode()
    assert "SOUTH-URGENT" not in html and "SOUTH-LATE" not in html
    assert response.context["urgent_count"] == 0
    assert records(response.context, "overdue") == ["NORTH-LATE"]
    south_view = Client()
    south_view.force_login(charlie)
    assert records(south_view.get("/").context, "urgent") == ["SOUTH-URGENT"]


def test_an_archived_patients_urgent_lesion_leaves_the_worklist(alice_client: Client,
                                                                alice: User,
                                                                north: Site) -> None:
    patient = urgent_patient("URGENT-1", alice, north, visit=date(2026, 4, 15))
    assert records(alice_client.get("/").context, "urgent") == ["URGENT-1"]
    services.patient_archive(patient=patient, user=alice)
    assert "URGENT-1" not in alice_client.get("/").content.decode()


def test_the_page_is_refused_to_anonymous_users_and_posts(alice_client: Client) -> None:
    assert Client().get("/")["Location"].startswith("/accounts/login/")
    assert alice_client.post("/").status_code == 405


# --- Scale ---------------------------------------------------------------------------------------

def worklist_queries(client: Client) -> int:
    cache.clear()  # computed afresh, as after any change to the registry
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/")
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_query_count_is_the_same_for_one_patient_or_many(alice_client: Client,
                                                             alice: User,
                                                             north: Site) -> None:
    urgent_patient("URGENT-0", alice, north, visit=date(2026, 4, 15))
    one = worklist_queries(alice_client)
    for n in range(1, 6):
        urgent_patient(f"URGENT-{n}", alice, north, visit=date(2026, 4, n))
        benign_patient(f"BENIGN-{n}", alice, north, visit=TODAY - timedelta(weeks=12, days=n))
        benign_patient(f"SOON-{n}", alice, north, visit=TODAY - timedelta(weeks=12, days=-n))
    atypical_patient("ODD-1", alice, north)
    many = worklist_queries(alice_client)
    context = alice_client.get("/").context
    assert context["urgent_count"] == 6 and context["due_count"] == 5
    assert context["atypical_count"] == 1 and context["review_count"] == 18
    assert many == one


def test_a_cached_worklist_is_reused_until_the_registry_changes(alice_client: Client,
                                                                alice: User,
                                                                north: Site) -> None:
    urgent_patient("URGENT-1", alice, north, visit=date(2026, 4, 15))
    fresh = worklist_queries(alice_client)
    with CaptureQueriesContext(connection) as cached:
        assert records(alice_client.get("/").context, "urgent") == ["URGENT-1"]
    assert len(cached.captured_queries) < fresh
    assert not any("assessment_assessment" in q["sql"] for q in cached.captured_queries)
    # Recording a visit bumps the counter (services.worklist_changed): seen at once.
    urgent_patient("URGENT-2", alice, north, visit=date(2026, 4, 20))
    assert records(alice_client.get("/").context, "urgent") == ["URGENT-1", "URGENT-2"]
