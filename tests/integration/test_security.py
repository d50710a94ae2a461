"""Authentication hardening, the audit trail, archiving, the view log, API tokens and the
database constraints that back the important rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from assessment import services
from assessment.demo import record_contract_case
from assessment.models import (
    ApiToken,
    Assessment,
    Encounter,
    LesionObservation,
    Patient,
    PatientViewLog,
)
from tests.builders import load_case
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
CASE_C = load_case("seed_case_c_heel_stick_nodules.json")["input"]


@pytest.fixture
def patient(alice, north) -> Patient:
    return record_contract_case(data=CASE_C, record_number="SEC-1", born=date(2026, 2, 1),
                                visit=date(2026, 10, 1), label="heel", user=alice, site=north)


# --- Login throttling, sessions, CSP, deploy checks -------------------------------------------

def test_repeated_failed_logins_lock_the_account(alice) -> None:
    alice.set_password("right-password-123")
    alice.save()
    client = Client()
    for _ in range(5):
        response = client.post("/accounts/login/", {"username": "alice",
                                                    "password": "wrong"})
        assert response.status_code in (200, 429)
    locked = client.post("/accounts/login/", {"username": "alice",
                                              "password": "right-password-123"})
    assert locked.status_code == 429
    assert b"Too many failed logins" in locked.content
    assert "_auth_user_id" not in client.session


def test_a_successful_login_before_the_limit_resets_the_count(alice) -> None:
    alice.set_password("right-password-123")
    alice.save()
    client = Client()
    for _ in range(4):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "alice",
                                                "password": "right-password-123"})
    assert response.status_code == 302


def test_sessions_expire_after_inactivity(alice_client: Client, settings) -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    assert alice_client.get("/patients/").status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = alice_client.get("/patients/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_every_page_sends_a_content_security_policy_without_unsafe_inline(
        alice_client: Client) -> None:
    for url in ("/", "/patients/", "/accounts/login/"):
        policy = alice_client.get(url)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_password_validators_refuse_weak_passwords(db) -> None:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    for weak in ("password", "12345678", "short"):
        with pytest.raises(ValidationError):
            validate_password(weak)


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DJANGO_SETTINGS_MODULE": "calcinosis_site.settings",
                "DJANGO_SECRET_KEY": "k" * 10 + "9f2#Lq8!vZ0@xR7&mT3^wB1*nY6%cD4" + "s" * 20,
                "DJANGO_ALLOWED_HOSTS": "heel.example.org",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}"})
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy",
                             "--fail-level", "WARNING"], cwd=ROOT, env=env, text=True,
                            capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- API tokens ----------------------------------------------------------------------------------

def test_api_tokens_work_are_stored_hashed_and_can_be_revoked(alice) -> None:
    token, key = services.api_token_create(user=alice, name="lab system")
    stored = ApiToken.objects.get(pk=token.pk)
    assert key not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64
    body = json.dumps(CASE_C)
    headers = {"Authorization": f"Bearer {key}"}
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/assess", body, content_type="application/json", headers=headers)
    assert response.status_code == 200, "token callers need no CSRF cookie"
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    for bad in (key[:-1] + ("A" if key[-1] != "A" else "B"), "cal_nope_nope", "garbage", ""):
        response = Client().post("/api/v1/assess", body, content_type="application/json",
                                 headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    response = Client().post("/api/v1/assess", body, content_type="application/json",
                             headers=headers)
    assert response.status_code == 401


def test_a_viewers_token_is_refused(victor) -> None:
    _, key = services.api_token_create(user=victor, name="viewer")
    response = Client().post("/api/v1/assess", json.dumps(CASE_C),
                             content_type="application/json",
                             headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403


def test_create_api_token_command_prints_the_key_once(alice, victor) -> None:
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = io.StringIO()
    call_command("create_api_token", "alice", "--name", "lab", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert key.startswith("cal_") and services.api_token_user(key) == alice
    with pytest.raises(CommandError):
        call_command("create_api_token", "victor", "--name", "x")


# --- Audit trail, archive, view log ---------------------------------------------------------------

def test_every_change_is_kept_with_who_and_when(alice_client: Client, alice, patient) -> None:
    response = alice_client.post(f"/patients/{patient.pk}/edit/", {
        "record_number": "SEC-1", "date_of_birth": "2026-02-01", "sex": "male",
        "renal_disease": "true", "version": str(patient.version)})
    assert response.status_code == 302
    rows = list(patient.history.order_by("history_date"))
    assert [r.history_type for r in rows] == ["+", "~"]
    assert rows[-1].history_user == alice and rows[-1].renal_disease is True
    page = alice_client.get(f"/patients/{patient.pk}/history/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Renal disease" in html and "alice" in html
    for kind in ("Patient", "Visit", "Lesion", "Observation", "Lab result", "Assessment"):
        assert f"<td>{kind} " in html, kind


def test_history_page_query_count_does_not_grow(alice_client: Client, patient,
                                                django_assert_max_num_queries) -> None:
    with django_assert_max_num_queries(25) as baseline:
        alice_client.get(f"/patients/{patient.pk}/history/")
    count = len(baseline.captured_queries)
    for version in range(1, 6):
        alice_client.post(f"/patients/{patient.pk}/edit/", {
            "record_number": "SEC-1", "date_of_birth": "2026-02-01", "sex": "male",
            "version": str(version)})
    with django_assert_max_num_queries(count):
        alice_client.get(f"/patients/{patient.pk}/history/")


def test_history_is_visible_in_the_admin(rita_client: Client, patient) -> None:
    response = rita_client.get(f"/admin/assessment/patient/{patient.pk}/history/")
    assert response.status_code == 200


def test_archiving_keeps_the_record_readable_and_closed(alice_client: Client, patient) -> None:
    response = alice_client.post(f"/patients/{patient.pk}/archive/")
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.archived_at is not None and Patient.objects.filter(pk=patient.pk).exists()
    listed = alice_client.get("/patients/").context["page"].object_list
    assert patient not in list(listed)
    assert alice_client.get("/").context["due_count"] == 0
    page = alice_client.get(f"/patients/{patient.pk}/")
    assert page.status_code == 200 and b"Archived on" in page.content
    assert alice_client.get(f"/patients/{patient.pk}/edit/").status_code == 403
    # A form sent anyway is refused by the service under the row lock, with the reason.
    again = alice_client.post(f"/patients/{patient.pk}/archive/", follow=True)
    assert b"This record was archived on" in again.content
    edit = alice_client.post(f"/patients/{patient.pk}/edit/", {
        "record_number": "SEC-1", "date_of_birth": "2026-02-01", "sex": "male",
        "version": str(Patient.objects.get(pk=patient.pk).version)})
    assert edit.status_code == 400 and b"This record was archived on" in edit.content
    forbidden = alice_client.get(f"/patients/{patient.pk}/edit/")
    assert b"archived: it can be read but not changed" in forbidden.content


def test_nothing_clinical_can_be_deleted_in_the_admin(patient) -> None:
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("root", password="root-pass-1234")
    client = Client()
    client.force_login(root)
    response = client.post(f"/admin/assessment/patient/{patient.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_viewing_a_record_is_logged_and_only_superusers_see_the_log(
        alice_client: Client, rita_client: Client, alice, patient) -> None:
    alice_client.get(f"/patients/{patient.pk}/")
    assessment = Assessment.objects.filter(observation__lesion__patient=patient).first()
    alice_client.get(f"/assessments/{assessment.pk}/")
    logs = list(PatientViewLog.objects.filter(patient=patient).order_by("id"))
    assert [(log.user, log.path) for log in logs] == [
        (alice, f"/patients/{patient.pk}/"), (alice, f"/assessments/{assessment.pk}/")]
    assert rita_client.get("/admin/assessment/patientviewlog/").status_code == 403
    from django.contrib.auth.models import User

    root = User.objects.create_superuser("root", password="root-pass-1234")
    client = Client()
    client.force_login(root)
    page = client.get("/admin/assessment/patientviewlog/")
    assert page.status_code == 200 and b"SEC-1" in page.content


def test_only_superusers_manage_sites_and_memberships(rita_client: Client, north) -> None:
    assert rita_client.get("/admin/assessment/site/").status_code == 403
    assert rita_client.get("/admin/assessment/membership/").status_code == 403


def test_another_clinics_reviewer_cannot_see_or_review_our_visits(patient, south) -> None:
    outsider = UserFactory(username="sue", is_staff=True, roles=[(south, "reviewer")])
    client = Client()
    client.force_login(outsider)
    changelist = client.get("/admin/assessment/encounter/")
    assert changelist.status_code == 200 and b"SEC-1" not in changelist.content
    encounter = Encounter.objects.get(patient=patient)
    response = client.post(f"/admin/assessment/encounter/{encounter.pk}/change/", {
        "review_status": "approved", "review_comment": "", "expected_version": 1})
    encounter.refresh_from_db()
    assert response.status_code == 404 and encounter.review_status == "pending"


# --- Database constraints -------------------------------------------------------------------------

def test_the_database_refuses_a_visit_before_birth(patient) -> None:
    encounter = Encounter.objects.get(patient=patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        Encounter.objects.filter(pk=encounter.pk).update(date=date(2025, 1, 1))


def test_the_database_refuses_a_birth_date_after_a_visit(alice, patient) -> None:
    patient.date_of_birth = date(2026, 12, 1)
    with pytest.raises(IntegrityError):
        services.patient_update(patient=patient, expected_version=patient.version, user=alice,
                                fields=["date_of_birth"])
    assert Patient.objects.get(pk=patient.pk).date_of_birth == date(2026, 2, 1)


def test_the_patient_form_explains_a_birth_date_after_a_visit(alice_client: Client,
                                                               patient) -> None:
    response = alice_client.post(f"/patients/{patient.pk}/edit/", {
        "record_number": "SEC-1", "date_of_birth": "2026-10-05", "sex": "male",
        "version": str(patient.version)})
    assert response.status_code == 400
    assert "first visit was on 2026-10-01" in " ".join(response.context["form"].errors[
        "date_of_birth"])


@pytest.mark.parametrize("size", [Decimal(0), Decimal("-1")])
def test_the_database_refuses_non_positive_sizes(patient, size: Decimal) -> None:
    observation = LesionObservation.objects.get(lesion__patient=patient)
    with pytest.raises(IntegrityError), transaction.atomic():
        LesionObservation.objects.filter(pk=observation.pk).update(largest_diameter_mm=size)


def test_the_database_keeps_one_assessment_per_observation_version(alice, patient) -> None:
    assessment = Assessment.objects.get(observation__lesion__patient=patient)
    assessment.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        assessment.save()
