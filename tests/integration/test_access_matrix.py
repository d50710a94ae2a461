"""Access rules for every URL of the app, generated from the URL configuration.

Each app view declares its methods and whether it writes (``assessment.views.page``); this test
walks ``urlpatterns``, fills each URL's object id from a North-clinic record, and checks:
anonymous callers are sent to login (the API answers 401), a clinician of another clinic gets
404 on every object URL, a viewer gets 403 on every write, a wrong method gets 405, and a write
without a CSRF token is refused. A new URL is covered without writing a new test; a new kind of
object id fails here until the map below knows how to make one.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from PIL import Image

from assessment import access, services
from assessment.demo import record_contract_case
from assessment.models import Assessment, LesionObservation, Patient, Photo
from assessment.photos import clean_photo
from tests.builders import load_case

PUBLIC = {"login", "logout"}  # Django's auth views, checked in their own tests
SELF_AUTHENTICATED = {"api-assess"}  # answers 401 itself (token or session)
OPEN_ASSETS = {"favicon"}  # a redirect to a static file, open to all (test_chrome_pages)


def app_patterns() -> list[URLPattern]:
    found: list[URLPattern] = []

    def walk(patterns: list[Any]) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name != "admin":  # the admin is checked in test_admin_access
                    walk(pattern.url_patterns)
            else:
                found.append(pattern)

    walk(get_resolver().url_patterns)
    return found


PATTERNS = [p for p in app_patterns() if p.name not in PUBLIC | SELF_AUTHENTICATED | OPEN_ASSETS]


@pytest.fixture
def world(alice, north, settings, tmp_path) -> dict[str, int]:
    """One record of every kind at the North clinic."""
    settings.MEDIA_ROOT = tmp_path / "media"
    patient = record_contract_case(
        data=load_case("seed_case_c_heel_stick_nodules.json")["input"], record_number="MX-1",
        born=date(2026, 2, 1), visit=date(2026, 10, 1), label="heel", user=alice, site=north)
    observation = LesionObservation.objects.get(lesion__patient=patient)
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, "JPEG")
    photo = services.photo_attach(observation=observation, photo=clean_photo(
        io.BytesIO(buffer.getvalue())), caption="", user=alice)
    return {"patient_pk": patient.pk, "encounter_pk": observation.encounter_id,
            "lesion_pk": observation.lesion_id, "observation_pk": observation.pk,
            "assessment_pk": Assessment.objects.get(observation=observation).pk,
            "photo_pk": photo.pk}


def url_for(pattern: URLPattern, world: dict[str, int]) -> str:
    names = list(pattern.pattern.converters)
    unknown = set(names) - set(world)
    assert not unknown, f"{pattern.name}: teach this test to make a {unknown}"
    return reverse(pattern.name, kwargs={name: world[name] for name in names})


def test_every_app_view_declares_its_methods() -> None:
    for pattern in PATTERNS:
        assert hasattr(pattern.callback, "allowed_methods"), pattern.name
        assert hasattr(pattern.callback, "writes"), pattern.name


def test_only_the_login_pages_and_the_api_skip_the_login_requirement() -> None:
    open_views = {p.name for p in app_patterns()
                  if getattr(p.callback, "login_required", True) is False}
    assert open_views == {"login"} | SELF_AUTHENTICATED | OPEN_ASSETS


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_anonymous_requests_are_sent_to_login(pattern: URLPattern, world) -> None:
    url = url_for(pattern, world)
    for method in pattern.callback.allowed_methods:
        response = getattr(Client(), method.lower())(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/accounts/login/?next=")


def test_anonymous_api_calls_get_401(db) -> None:
    response = Client().post("/api/v1/assess", "{}", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if p.pattern.converters],
                         ids=lambda p: p.name)
def test_another_clinics_clinician_gets_404_on_every_object_url(
        pattern: URLPattern, world, charlie_client: Client) -> None:
    url = url_for(pattern, world)
    for method in pattern.callback.allowed_methods:
        assert getattr(charlie_client, method.lower())(url).status_code == 404, (method, url)


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if p.callback.writes],
                         ids=lambda p: p.name)
def test_a_viewer_gets_403_on_every_write(pattern: URLPattern, world,
                                         victor_client: Client) -> None:
    url = url_for(pattern, world)
    for method in pattern.callback.allowed_methods:
        assert getattr(victor_client, method.lower())(url).status_code == 403, (method, url)


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if p.callback.writes],
                         ids=lambda p: p.name)
def test_a_reviewer_cannot_write_in_the_app_either(pattern: URLPattern, world,
                                                   rita_client: Client) -> None:
    url = url_for(pattern, world)
    assert rita_client.post(url).status_code == 403


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if p.callback.needs == access.VIEW],
                         ids=lambda p: p.name)
def test_a_viewer_reads_every_page(pattern: URLPattern, world, victor_client: Client) -> None:
    assert victor_client.get(url_for(pattern, world)).status_code == 200


REPORT_PATTERNS = [p for p in PATTERNS if p.callback.needs == access.REPORT]


@pytest.mark.parametrize("pattern", REPORT_PATTERNS, ids=lambda p: p.name)
def test_clinic_wide_reports_refuse_viewers_and_clinicians(
        pattern: URLPattern, world, victor_client: Client, alice_client: Client) -> None:
    """Exports of a whole clinic and the outcomes page need a data manager or reviewer role."""
    url = url_for(pattern, world)
    assert victor_client.get(url).status_code == 403
    assert alice_client.get(url).status_code == 403


@pytest.mark.parametrize("pattern", REPORT_PATTERNS, ids=lambda p: p.name)
def test_data_managers_and_reviewers_read_the_reports(
        pattern: URLPattern, world, dana_client: Client, rita_client: Client) -> None:
    url = url_for(pattern, world)
    for client in (dana_client, rita_client):
        response = client.get(url)
        assert response.status_code == 200, url
        if response.streaming:
            b"".join(response.streaming_content)  # the stream is read to its end


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if p.callback.writes],
                         ids=lambda p: p.name)
def test_a_data_manager_cannot_write(pattern: URLPattern, world, dana_client: Client) -> None:
    assert dana_client.post(url_for(pattern, world)).status_code == 403


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_a_wrong_method_is_405(pattern: URLPattern, world, alice_client: Client) -> None:
    url = url_for(pattern, world)
    wrong = next(m for m in ("PUT", "DELETE", "PATCH") if m not in pattern.callback.allowed_methods)
    assert getattr(alice_client, wrong.lower())(url).status_code == 405


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if "POST" in p.callback.allowed_methods],
                         ids=lambda p: p.name)
def test_every_post_needs_a_csrf_token(pattern: URLPattern, world, alice) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    before = (Patient.objects.count(), Photo.objects.count())
    assert client.post(url_for(pattern, world), {}).status_code == 403
    assert (Patient.objects.count(), Photo.objects.count()) == before


def test_exports_and_lists_show_nothing_of_another_clinic(world, charlie_client: Client,
                                                          alice_client: Client) -> None:
    theirs = b"".join(charlie_client.get("/export/assessments.csv").streaming_content)
    ours = b"".join(alice_client.get("/export/assessments.csv").streaming_content)
    assert b"MX-1" in ours and b"MX-1" not in theirs
    assert b"MX-1" not in charlie_client.get("/patients/").content
    assert charlie_client.get("/").context["review_count"] == 0


def test_the_api_refuses_viewers_and_reviewers(victor_client: Client,
                                               rita_client: Client, db) -> None:
    body = load_case("seed_case_c_heel_stick_nodules.json")["input"]
    import json

    for client in (victor_client, rita_client):
        response = client.post("/api/v1/assess", json.dumps(body),
                               content_type="application/json")
        assert response.status_code == 403


def test_the_assessments_export_is_logged(world, alice, alice_client: Client) -> None:
    from assessment.models import ExportLog

    b"".join(alice_client.get("/export/assessments.csv").streaming_content)
    log = ExportLog.objects.get()
    assert (log.user, log.kind, log.channel, log.site_codes) == (
        alice, "assessments_csv", "web", ["north"])
    assert log.patient_count == 1 and log.finished_at is not None
