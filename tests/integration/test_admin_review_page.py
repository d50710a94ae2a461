"""The encounter review page of the admin shows what is being approved (each lesion's status,
the engine's reading, the clinician's decision) in words, lab values without trailing zeros,
a greeting that names the reviewer, and lists whose query count does not grow."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.formats import date_format

from assessment import services
from assessment.demo import load_demo
from assessment.models import (
    Assessment,
    AssessmentDecision,
    Encounter,
    LabResult,
    LesionObservation,
    Role,
    Site,
)
from assessment.synth import generate
from tests.conftest import client_for
from tests.factories import UserFactory

EXTRAVASATION = "Calcinosis after calcium gluconate/chloride extravasation"
RENAL = "Metastatic calcinosis of renal failure (CKD-MBD)"


@pytest.fixture
def demo(alice) -> None:
    load_demo(alice)


def change_page(client: Client, encounter: Encounter) -> str:
    response = client.get(f"/admin/assessment/encounter/{encounter.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def demo_b_assessment() -> Assessment:
    return Assessment.objects.get(observation__encounter__patient__record_number="DEMO-B")


def test_it_shows_on_a_follow_up_that_the_lesion_resolved(rita_client: Client, demo) -> None:
    follow_up = Encounter.objects.get(patient__record_number="DEMO-A", kind="follow_up")
    lesion = follow_up.observations.get().lesion
    assert lesion.status == "resolved"
    html = change_page(rita_client, follow_up)
    assert "Engine assessments" in html
    assert f"Resolved</span> on {date_format(lesion.resolved_on)}" in html
    assert "the lesion was found resolved" in html
    # Above the review fields: the reviewer reads the status before choosing a verdict.
    assert html.index("Resolved</span>") < html.index('name="review_status"')


def test_it_shows_the_lesion_active_on_a_first_visit(rita_client: Client, demo) -> None:
    html = change_page(rita_client, Encounter.objects.get(patient__record_number="DEMO-B"))
    assert "Active</span>" in html and "First visit" in html and "22 × 18 mm" in html


def test_it_shows_the_engine_reading_in_labels_not_codes(rita_client: Client, demo) -> None:
    html = change_page(rita_client, Encounter.objects.get(patient__record_number="DEMO-B"))
    assert RENAL in html
    assert "metastatic_calcinosis_renal_failure" not in html
    assert "metastatic calcinosis renal failure" not in html
    assert "Likely" in html and "Urgent</span> Critical value" in html
    assert "No decision recorded yet" in html


def test_it_shows_the_clinicians_override_with_reason_who_and_when(
        rita_client: Client, alice, demo) -> None:
    decision = services.assessment_decide(
        assessment=demo_b_assessment(), decision="override", final_subtypes=["iatrogenic"],
        final_entity="calcium_extravasation_calcinosis", final_management="urgent",
        reason="Extravasation is documented in the ward notes.", user=alice)
    html = change_page(rita_client, Encounter.objects.get(patient__record_number="DEMO-B"))
    assert "Overridden</span>" in html
    assert EXTRAVASATION in html and "Iatrogenic" in html
    assert "Extravasation is documented in the ward notes." in html
    assert "By Alice Clinician" in html
    assert date_format(decision.decided_at, "j M Y") in html
    assert "calcium_extravasation_calcinosis" not in html
    assert "No decision recorded yet" not in html


def test_it_shows_an_agreement(rita_client: Client, alice, demo) -> None:
    services.assessment_decide(assessment=demo_b_assessment(), decision="agree",
                               final_subtypes=[], final_entity="", final_management="",
                               reason="", user=alice)
    html = change_page(rita_client, Encounter.objects.get(patient__record_number="DEMO-B"))
    assert "Agreed</span> with the engine" in html and "Overridden" not in html


def test_decision_pages_show_labels_not_codes(rita_client: Client, alice, demo) -> None:
    decision = services.assessment_decide(
        assessment=demo_b_assessment(), decision="override", final_subtypes=["iatrogenic"],
        final_entity="calcium_extravasation_calcinosis", final_management="urgent",
        reason="Seen before.", user=alice)
    # (The assessment's own page is left out: it shows the engine's JSON on request.)
    for url in ("/admin/assessment/assessmentdecision/",
                f"/admin/assessment/assessmentdecision/{decision.pk}/change/"):
        html = rita_client.get(url).content.decode()
        assert EXTRAVASATION in html, url
        assert "calcium_extravasation_calcinosis" not in html, url
        assert '["iatrogenic"]' not in html, url


def test_changelists_show_entity_labels_not_codes(rita_client: Client, demo) -> None:
    for url in ("/admin/assessment/encounter/", "/admin/assessment/assessment/"):
        html = rita_client.get(url).content.decode()
        assert RENAL in html, url
        assert "metastatic_calcinosis_renal_failure" not in html, url
        assert "calcinosis renal failure" not in html, url


def test_the_encounter_list_says_a_follow_up_found_the_lesion_resolved(
        rita_client: Client, demo) -> None:
    html = rita_client.get("/admin/assessment/encounter/").content.decode()
    assert "Lesion resolved" in html


def test_the_encounter_list_shows_who_reviewed_and_when_in_one_column(
        rita_client: Client, rita, demo) -> None:
    encounter = Encounter.objects.get(patient__record_number="DEMO-C")
    services.encounter_review(encounter=encounter, status="approved", comment="", user=rita,
                              expected_version=encounter.version)
    response = rita_client.get("/admin/assessment/encounter/")
    headers = [h["text"] for h in response.context["result_headers"]]
    assert "Review" in headers and "Reviewed by" not in headers
    assert len(headers) <= 7  # the selection box and six columns fit beside the sidebars
    assert "Approved<br><span class=\"admin-quiet\">Rita Reviewer, " in response.content.decode()


@pytest.mark.parametrize("where", ["encounter", "list", "result"])
def test_lab_values_are_shown_without_trailing_zeros(rita_client: Client, demo,
                                                     where: str) -> None:
    lab = LabResult.objects.get(analyte="creatinine", encounter__patient__record_number="DEMO-B")
    url = {"encounter": f"/admin/assessment/encounter/{lab.encounter_id}/change/",
           "list": "/admin/assessment/labresult/",
           "result": f"/admin/assessment/labresult/{lab.pk}/change/"}[where]
    html = rita_client.get(url).content.decode()
    assert "7.18 mg/dL" in html and "0.5–1.2 mg/dL" in html
    assert "7.1800" not in html and "0.5000" not in html


def test_the_greeting_names_the_reviewer_not_the_shared_first_name(north) -> None:
    reviewer = UserFactory(username="demo-like", first_name="Demo", last_name="Reviewer",
                           is_staff=True, roles=[(north, Role.REVIEWER)])
    html = client_for(reviewer).get("/admin/assessment/encounter/").content.decode()
    assert "Demo Reviewer" in html
    assert "Welcome," not in html and "<strong>Demo</strong>" not in html


def test_the_greeting_falls_back_to_the_username(north) -> None:
    reviewer = UserFactory(username="nameless", is_staff=True, roles=[(north, Role.REVIEWER)])
    html = client_for(reviewer).get("/admin/").content.decode()
    assert "<strong>nameless</strong>" in html


def test_admin_pages_load_the_admin_stylesheet(rita_client: Client, demo) -> None:
    html = rita_client.get("/admin/assessment/encounter/").content.decode()
    assert "css/admin.css" in html and 'style="' not in html


SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page))


def test_review_pages_show_no_codes(rita_client: Client, alice, demo) -> None:
    services.assessment_decide(
        assessment=demo_b_assessment(), decision="override", final_subtypes=["iatrogenic"],
        final_entity="calcium_extravasation_calcinosis", final_management="urgent",
        reason="Seen before.", user=alice)
    pages = ["/admin/assessment/encounter/", "/admin/assessment/assessment/",
             "/admin/assessment/assessmentdecision/", "/admin/assessment/labresult/",
             "/admin/assessment/lesionobservation/"]
    pages += [f"/admin/assessment/encounter/{pk}/change/"
              for pk in Encounter.objects.values_list("pk", flat=True)]
    pages += [f"/admin/assessment/assessmentdecision/{pk}/change/"
              for pk in AssessmentDecision.objects.values_list("pk", flat=True)]
    pages += [f"/admin/assessment/lesionobservation/{pk}/change/"
              for pk in LesionObservation.objects.values_list("pk", flat=True)]
    pages += [f"/admin/assessment/labresult/{pk}/change/"
              for pk in LabResult.objects.values_list("pk", flat=True)]
    found = []
    for url in pages:
        response = rita_client.get(url)
        assert response.status_code == 200, url
        found += [f"{url}: {code}" for code in
                  sorted(set(SNAKE.findall(visible_text(response.content.decode()))))]
    assert found == []


LISTS = ["/admin/assessment/encounter/", "/admin/assessment/assessment/",
         "/admin/assessment/assessmentdecision/", "/admin/assessment/labresult/",
         "/admin/assessment/lesionobservation/"]


def _grow(patients: int, reviewer) -> None:
    """Synthetic, engine-assessed patients; every third assessment decided, every other visit
    reviewed, so each column of the lists has something to show."""
    list(generate(patients, batch=patients))
    for site in Site.objects.exclude(memberships__user=reviewer):
        reviewer.memberships.create(site=site, role=Role.REVIEWER)
    for assessment in Assessment.objects.filter(decisions__isnull=True)[::3]:
        AssessmentDecision.objects.create(
            assessment=assessment, decision="override", final_subtypes=["idiopathic"],
            final_entity="subepidermal_calcified_nodule", final_management="refer",
            reason="Test reading.", decided_by=reviewer)
    Encounter.objects.filter(reviewed_by__isnull=True, pk__in=list(
        Encounter.objects.values_list("pk", flat=True)[::2])).update(
        review_status="approved", reviewed_by=reviewer)


def _counts(client: Client) -> dict[str, int]:
    counts = {}
    for url in LISTS:
        cache.clear()  # count as on a first visit (the paginator caches its count)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts[url] = len(captured.captured_queries)
    return counts


def test_review_lists_run_the_same_queries_as_records_grow(db) -> None:
    reviewer = UserFactory(username="lister", first_name="Lee", last_name="Lister",
                           is_staff=True)
    client = client_for(reviewer)
    _grow(6, reviewer)
    small = _counts(client)
    _grow(24, reviewer)
    assert AssessmentDecision.objects.count() > 6
    assert _counts(client) == small
