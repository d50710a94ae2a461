"""No page a clinician or reviewer reads shows a snake_case code, a Python repr or a database
id outside a URL (issue 11). The demo data (seed cases, a resolved lesion, an atypical course,
an override) is walked as a clinician and as a reviewer, admin pages included."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from assessment import services
from assessment.demo import load_demo
from assessment.models import Assessment, Encounter, Lesion, Patient, Role
from tests.factories import SiteFactory, UserFactory

SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
REPR = re.compile(r"\{'|\['|\bobject \(\d+\)|<[A-Z][A-Za-z]+: ")
DB_ID = re.compile(r"\b(?:id|pk|ID)\s*[:=#]\s*\d+|#\d+\b")


def visible_text(page: str) -> str:
    """The text a person reads: no scripts, styles, tags or attribute values. Command lines
    and rule ids (<pre>, <code>) are meant to be typed or quoted, so they are not words."""
    page = re.sub(r"<(script|style|template|pre|code)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.fixture
def demo(db) -> dict[str, object]:
    site = SiteFactory(name="North clinic")
    alice = UserFactory(username="alice", first_name="Alice", last_name="Clinician",
                        roles=[(site, Role.CLINICIAN)])
    rita = UserFactory(username="rita", first_name="Rita", last_name="Reviewer", is_staff=True,
                       roles=[(site, Role.REVIEWER)])
    load_demo(alice)
    b = Patient.objects.get(record_number="DEMO-B")
    urgent = Assessment.objects.filter(observation__encounter__patient=b).first()
    services.assessment_decide(assessment=urgent, decision="override", final_subtypes=[],
                               final_entity="calcium_extravasation_calcinosis",
                               final_management="refer", reason="Repeat labs were normal.",
                               user=alice, flag_considered=True)
    return {"alice": alice, "rita": rita}


def _clinician_pages() -> list[str]:
    pages = ["/", "/patients/"]
    for patient in Patient.objects.all():
        pages += [f"/patients/{patient.pk}/", f"/patients/{patient.pk}/history/",
                  f"/patients/{patient.pk}/edit/"]
    pages.append(f"/patients/{Patient.objects.first().pk}/encounters/new/")
    pages += [f"/encounters/{e.pk}/" for e in Encounter.objects.all()]
    pages += [f"/assessments/{a.pk}/{printout}" for a in Assessment.objects.all()
              for printout in ("", "summary/", "handout/")]
    pages += [f"/lesions/{lesion.pk}/" for lesion in Lesion.objects.all()]
    pages.append("/export/")
    return pages


def _reviewer_pages() -> list[str]:
    encounter = Encounter.objects.order_by("-date").first()
    patient = Patient.objects.get(record_number="DEMO-A")
    return ["/admin/", "/admin/assessment/encounter/",
            f"/admin/assessment/encounter/{encounter.pk}/change/",
            "/admin/assessment/patient/", f"/admin/assessment/patient/{patient.pk}/change/",
            f"/admin/assessment/patient/{patient.pk}/history/",
            "/admin/assessment/assessment/", "/export/", "/registry/outcomes/",
            "/registry/outcomes/?group=subtype", "/registry/outcomes/?group=clinic"]


def _problems(client: Client, pages: list[str]) -> list[str]:
    found = []
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = visible_text(response.content.decode())
        for name, pattern in (("code", SNAKE), ("repr", REPR), ("id", DB_ID)):
            found += [f"{url}: {name} {match!r}" for match in
                      sorted(set(pattern.findall(text)))]
    return found


def test_clinician_pages_are_words(client: Client, demo: dict[str, User]) -> None:
    client.force_login(demo["alice"])
    assert _problems(client, _clinician_pages()) == []


def test_reviewer_pages_are_words(client: Client, demo: dict[str, User]) -> None:
    client.force_login(demo["rita"])
    assert _problems(client, _reviewer_pages()) == []
