"""An assessment made with an older ruleset says so, and a clinician can re-run it: a new
assessment beside the old one, which stays exactly as it was stored."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import dateformat, timezone

from assessment import engine, services
from assessment.demo import record_contract_case
from assessment.models import Assessment, Lesion, LesionObservation, Patient
from tests.builders import load_case

CASE_A = load_case("seed_case_a_pearl_like_heel_nodule.json")["input"]
OLD_RULESET = "2025.01.1"


@pytest.fixture
def patient(alice, north) -> Patient:
    return record_contract_case(data=CASE_A, record_number="RERUN-1", born=date(2025, 8, 10),
                                visit=date(2026, 8, 10), label="right heel", user=alice,
                                site=north)


def made_with_old_ruleset(assessment: Assessment) -> Assessment:
    """Stand-in for an assessment stored before the ruleset was bumped."""
    Assessment.objects.filter(pk=assessment.pk).update(ruleset_version=OLD_RULESET)
    assessment.refresh_from_db()
    return assessment


@pytest.fixture
def old(patient: Patient) -> Assessment:
    return made_with_old_ruleset(Assessment.objects.get(observation__lesion__patient=patient))


def rerun_url(assessment: Assessment) -> str:
    return f"/assessments/{assessment.pk}/rerun/"


def stored(assessment: Assessment) -> tuple[Any, ...]:
    """The row as the database holds it (JSON as stored text on SQLite)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Assessment._meta.db_table} WHERE id = %s",
                       [assessment.pk])
        return cursor.fetchone()


def notice() -> str:
    return f"Made with ruleset {OLD_RULESET}; the current ruleset is {engine.RULESET_VERSION}."


# --- The notice and the button --------------------------------------------------------------

def test_a_current_assessment_shows_no_notice(alice_client: Client, patient: Patient) -> None:
    assessment = Assessment.objects.get(observation__lesion__patient=patient)
    page = alice_client.get(f"/assessments/{assessment.pk}/").content.decode()
    assert "Made with ruleset" not in page
    assert "Re-run with the current ruleset" not in page


def test_an_older_ruleset_is_named_and_a_clinician_may_re_run(alice_client: Client,
                                                             old: Assessment) -> None:
    page = alice_client.get(f"/assessments/{old.pk}/").content.decode()
    assert notice() in page
    assert "Its reasoning may differ from today's." in page
    assert "Re-run with the current ruleset" in page
    assert f'action="{rerun_url(old)}"' in page
    # Near the top: before the engine's output.
    assert page.index("Made with ruleset") < page.index("Red flags")


@pytest.mark.parametrize("persona", ["victor_client", "rita_client"])
def test_a_viewer_or_reviewer_sees_the_notice_without_the_button(
        request: pytest.FixtureRequest, persona: str, old: Assessment) -> None:
    page = request.getfixturevalue(persona).get(f"/assessments/{old.pk}/").content.decode()
    assert notice() in page
    assert "Re-run with the current ruleset" not in page


def test_an_archived_record_shows_the_notice_without_the_button(
        alice, alice_client: Client, patient: Patient, old: Assessment) -> None:
    services.patient_archive(patient=patient, user=alice)
    page = alice_client.get(f"/assessments/{old.pk}/").content.decode()
    assert notice() in page
    assert "Re-run with the current ruleset" not in page


# --- Re-running -------------------------------------------------------------------------------

def test_it_adds_a_new_assessment_and_leaves_the_old_row_untouched(
        alice, alice_client: Client, old: Assessment) -> None:
    before = stored(old)
    response = alice_client.post(rerun_url(old))
    rerun = Assessment.objects.exclude(pk=old.pk).get(observation=old.observation)
    assert response.status_code == 302
    assert response["Location"] == f"/assessments/{rerun.pk}/"
    assert stored(old) == before
    old.refresh_from_db()
    assert old.ruleset_version == OLD_RULESET
    assert (rerun.observation_version, rerun.ruleset_version) == (
        old.observation_version, engine.RULESET_VERSION)
    assert rerun.input_json == old.input_json
    assert rerun.output_json == engine.assess(old.input_json)
    assert rerun.created_by == alice
    assert rerun.history.get().history_user == alice
    page = alice_client.get(response["Location"]).content.decode()
    assert f"Assessed again with ruleset {engine.RULESET_VERSION}" in page
    assert "Made with ruleset" not in page


def test_the_old_page_links_to_the_newer_assessment(alice, alice_client: Client,
                                                    old: Assessment) -> None:
    rerun = services.assessment_rerun(assessment=old, user=alice)
    page = alice_client.get(f"/assessments/{old.pk}/").content.decode()
    assert notice() in page
    made = dateformat.format(timezone.localtime(rerun.created_at), "j F Y")
    assert f'A newer assessment exists: <a href="/assessments/{rerun.pk}/">made on {made}' in page
    # The newer one is the one to re-run, if anything.
    assert "Re-run with the current ruleset" not in page


def test_a_second_re_run_is_refused(alice, alice_client: Client, old: Assessment) -> None:
    rerun = services.assessment_rerun(assessment=old, user=alice)
    with pytest.raises(services.Conflict, match="already assessed with the current ruleset"):
        services.assessment_rerun(assessment=old, user=alice)
    with pytest.raises(services.Conflict, match="already made with the current ruleset"):
        services.assessment_rerun(assessment=rerun, user=alice)
    response = alice_client.post(rerun_url(old), follow=True)
    assert response.redirect_chain == [(f"/assessments/{old.pk}/", 302)]
    assert "already assessed with the current ruleset" in response.content.decode()
    assert Assessment.objects.filter(observation=old.observation).count() == 2


def test_a_re_run_after_the_observation_was_corrected_is_refused(
        alice, alice_client: Client, old: Assessment) -> None:
    observation = LesionObservation.objects.get(pk=old.observation_id)
    services.observation_update(observation=observation, changes={"count": 2},
                                expected_version=observation.version, user=alice)
    with pytest.raises(services.Conflict, match="observation was corrected"):
        services.assessment_rerun(assessment=old, user=alice)
    response = alice_client.post(rerun_url(old), follow=True)
    assert "observation was corrected" in response.content.decode()
    assert Assessment.objects.filter(observation=observation).count() == 2


def test_an_archived_record_is_refused(alice, alice_client: Client, patient: Patient,
                                       old: Assessment) -> None:
    services.patient_archive(patient=patient, user=alice)
    with pytest.raises(services.Conflict, match="archived"):
        services.assessment_rerun(assessment=old, user=alice)
    response = alice_client.post(rerun_url(old), follow=True)
    assert response.redirect_chain == [(f"/assessments/{old.pk}/", 302)]
    assert "archived" in response.content.decode()
    assert Assessment.objects.filter(observation=old.observation).count() == 1


def test_the_patient_lesion_and_visit_pages_now_show_the_new_assessment(
        alice, alice_client: Client, patient: Patient, old: Assessment) -> None:
    lesion = Lesion.objects.get(patient=patient)
    rerun = services.assessment_rerun(assessment=old, user=alice)
    timeline = alice_client.get(f"/lesions/{lesion.pk}/")
    assert timeline.context["view"]["rows"][0]["assessment"].pk == rerun.pk
    overview = alice_client.get(f"/patients/{patient.pk}/").context["patient"]
    observation = overview.encounters.all()[0].observations.all()[0]
    assert [a.pk for a in observation.assessments.all()] == [rerun.pk, old.pk]
    visit = alice_client.get(f"/encounters/{old.observation.encounter_id}/").context["encounter"]
    assert visit.observations.all()[0].assessments.all()[0].pk == rerun.pk
    lesion.refresh_from_db()
    assert lesion.next_follow_up_due == rerun.follow_up_due


def test_a_follow_up_keeps_its_course_checks(alice, alice_client: Client,
                                             patient: Patient) -> None:
    lesion = Lesion.objects.get(patient=patient)
    prefix = f"lesion-{lesion.pk}"
    response = alice_client.post(f"/patients/{patient.pk}/follow-up/", {
        "visit-date": "2026-11-09", "visit-notes": "", f"{prefix}-include": "on",
        f"{prefix}-count": "1", f"{prefix}-course_status": "larger",
        f"{prefix}-largest_diameter_mm": "4", f"{prefix}-color": "white",
        f"{prefix}-consistency": "hard", f"{prefix}-features": ["erythema_around"],
        "lab-TOTAL_FORMS": "0", "lab-INITIAL_FORMS": "0", "lab-MIN_NUM_FORMS": "0",
        "lab-MAX_NUM_FORMS": "30"})
    assert response.status_code == 302
    old = made_with_old_ruleset(Assessment.objects.get(observation__course_status="larger"))
    rerun = services.assessment_rerun(assessment=old, user=alice)
    assert rerun.atypical_course and rerun.course_flags == old.course_flags
    lesion.refresh_from_db()
    assert lesion.atypical_course and lesion.next_follow_up_due == rerun.follow_up_due


# --- Who may --------------------------------------------------------------------------------

def test_who_may_re_run(old: Assessment, alice_client: Client, victor_client: Client,
                        rita_client: Client, charlie_client: Client) -> None:
    url = rerun_url(old)
    assert Client().post(url)["Location"].startswith("/accounts/login/?next=")
    assert victor_client.post(url).status_code == 403
    assert rita_client.post(url).status_code == 403
    assert charlie_client.post(url).status_code == 404
    assert alice_client.get(url).status_code == 405
    assert Assessment.objects.filter(observation=old.observation).count() == 1
    assert alice_client.post(url).status_code == 302
    assert Assessment.objects.filter(observation=old.observation).count() == 2
