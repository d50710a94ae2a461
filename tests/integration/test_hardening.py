"""Fixes from the security review: hostile request headers on the API, duplicate JSON keys,
no caching of patient data, and a lockout per address as well as per username and address."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from PIL import Image

from assessment import services
from assessment.demo import load_demo
from assessment.engine import InvalidInput
from assessment.jsonio import parse_json
from assessment.models import Assessment, Encounter, LesionObservation, Patient
from assessment.photos import clean_photo
from tests.builders import load_case

ROOT = Path(__file__).resolve().parents[2]
URL = "/api/v1/assess"
CASE_C = load_case("seed_case_c_heel_stick_nodules.json")["input"]
BODY = json.dumps(CASE_C)


@pytest.fixture
def token_client(alice) -> Client:
    _, key = services.api_token_create(user=alice, name="hardening")
    return Client(headers={"Authorization": f"Bearer {key}"})


def errors(response) -> list[dict[str, str]]:
    assert response["Content-Type"] == "application/json", response.content[:200]
    return response.json()["errors"]


# --- 1. Malformed headers answer 4xx, never 500 -------------------------------------------------

BAD_LENGTHS = ["abc", "-5", "1e3", "1" * 200, "9" * 5000, "0x10", "+12", "١٢", "1 2"]


@pytest.mark.parametrize("length", BAD_LENGTHS, ids=lambda v: v[:12])
def test_a_malformed_content_length_is_400_naming_the_header(
        token_client: Client, alice_client: Client, length: str) -> None:
    for client in (token_client, alice_client, Client()):
        response = client.post(URL, BODY, content_type="application/json",
                               CONTENT_LENGTH=length)
        assert response.status_code == 400
        [error] = errors(response)
        assert error["field"] == "Content-Length" and error["message"]


def test_a_malformed_content_length_is_400_before_the_csrf_check_reads_a_form(alice) -> None:
    """A session caller's CSRF check reads a form body: the header must be checked first."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/patients/")  # sets the csrftoken cookie, so the check goes on to the form
    for length in ("abc", "9" * 5000):
        response = client.post(URL, b"a=1", content_type="application/x-www-form-urlencoded",
                               CONTENT_LENGTH=length)
        assert response.status_code == 400
        assert errors(response)[0]["field"] == "Content-Length"


def test_a_well_formed_content_length_still_works(token_client: Client) -> None:
    response = token_client.post(URL, BODY, content_type="application/json",
                                 CONTENT_LENGTH=str(len(BODY.encode())))
    assert response.status_code == 200
    response = token_client.post(URL, BODY, content_type="application/json",
                                 CONTENT_LENGTH=str(10**17))
    assert response.status_code == 413


@pytest.mark.parametrize("header", [
    "Basic YWxpY2U6cHc=", "Bearer", "Bearer ", "Bearer  ", "  Bearer cal_a_b", "Bearer\tcal_a_b",
    "Digest username=x", "Bearer cal_é_x", "Bearer cal_\u00ff\u00fe_x", "Bearer cal_\x00_x",
    "Bearer cal_ab\x00cd_efg", "Bearer cal_\udc80_x", "Bearer cal_a_b\x7f", "\x00",
    "Bearer " + "cal_" + "x" * 10_000 + "_y", "Bearer cal_a_b extra words",
], ids=repr)
def test_an_odd_authorization_header_is_401(db, header: str) -> None:
    response = Client().post(URL, BODY, content_type="application/json",
                             HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert errors(response)[0]["field"] == "authentication"


@pytest.mark.parametrize("content_type", [
    "application/json; charset=latin-1", "application/json; charset=bogus",
    "application/json; charset=é", "application/json; charset=utf-16",
    "text/plain; charset=" + "a" * 10_000, "multipart/form-data; boundary=",
    "multipart/form-data; boundary=\x00", "application/x-www-form-urlencoded; charset=bogus",
    "application/jsonx", "", "\x00",
], ids=lambda v: repr(v[:40]))
def test_an_odd_content_type_is_415(token_client: Client, alice, content_type: str) -> None:
    session = Client(enforce_csrf_checks=True)
    session.force_login(alice)
    session.get("/patients/")  # with the cookie, a CSRF check would go on to parse a form
    for client in (token_client, session):
        # CONTENT_TYPE set directly: the test client would otherwise try to encode the body in
        # the named charset itself.
        response = client.post(URL, BODY.encode(), content_type="application/json",
                               CONTENT_TYPE=content_type)
        assert response.status_code == 415
        assert errors(response)[0]["field"] == "content_type"


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8",
    "application/json; charset=\"utf-8\"", "APPLICATION/JSON", "application/json;;",
])
def test_usual_json_content_types_are_accepted(token_client: Client, content_type: str) -> None:
    response = token_client.post(URL, BODY.encode(), content_type="application/json",
                                 CONTENT_TYPE=content_type)
    assert response.status_code == 200


# --- 2. Duplicate JSON keys are refused ---------------------------------------------------------

@pytest.mark.parametrize(("text", "fields"), [
    ('{"a": 1, "a": 2}', ["a"]),
    ('{"patient": {"history": {"x": null, "y": 1, "x": true}}}', ["patient.history.x"]),
    ('{"labs": [{"unit": "a"}, {"unit": "b", "unit": "c"}]}', ["labs[1].unit"]),
    ('[[{"k": 1, "k": 1}]]', ["[0][0].k"]),
    ('{"a": 1, "a": 2, "b": {"c": 1, "c": 2, "c": 3}}', ["a", "b.c"]),
    ('{"": 1, "": 2}', ['[""]']),
    ('{"x": {"a.b": 1, "a.b": 2}}', ['x["a.b"]']),
])
def test_parse_json_refuses_duplicate_keys_naming_where(text: str, fields: list[str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_json(text)
    assert [e.field for e in caught.value.errors] == fields
    assert all("more than once" in e.message for e in caught.value.errors)


def test_parse_json_still_reads_unique_keys_and_deep_input() -> None:
    assert parse_json('{"a": {"a": [{"a": 1}]}, "b": {"a": 2}}') == {
        "a": {"a": [{"a": 1}]}, "b": {"a": 2}}
    with pytest.raises(InvalidInput) as caught:
        parse_json("[" * 50_000)
    assert caught.value.errors[0].field == "body"


def test_the_api_refuses_duplicate_keys(alice_client: Client) -> None:
    # The first "site" is a typo the engine would refuse; taking the last one would hide it.
    nested = BODY.replace('"lesion": {', '"lesion": {"site": "hele", ', 1)
    top = BODY[:-1] + ', "lesion": {}}'
    for body, field in ((nested, "lesion.site"), (top, "lesion")):
        response = alice_client.post(URL, body, content_type="application/json")
        assert response.status_code == 400
        [error] = errors(response)
        assert error["field"] == field and "more than once" in error["message"]


def test_the_cli_refuses_duplicate_keys() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "calcinosis_site.settings_test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "assess", "-"], cwd=ROOT, env=env, text=True,
        input=BODY.replace('"lesion": {', '"lesion": {"site": "hele", ', 1),
        capture_output=True, timeout=60, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("lesion.site: ")


# --- 3. Nothing with patient data may be cached ------------------------------------------------

def directives(response) -> list[str]:
    return [d.strip().lower() for d in response.get("Cache-Control", "").split(",") if d.strip()]


def assert_not_stored(response, url: str) -> None:
    found = directives(response)
    assert {"no-store", "private"} <= set(found), (url, response.get("Cache-Control"))
    assert len(found) == len(set(found)), (url, found)  # merged, not appended twice


@pytest.fixture
def demo(alice, settings, tmp_path) -> dict[str, int]:
    settings.MEDIA_ROOT = tmp_path / "media"
    load_demo(alice)
    patient = Patient.objects.get(record_number="DEMO-A")
    observation = LesionObservation.objects.filter(lesion__patient=patient).first()
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, "JPEG")
    photo = services.photo_attach(observation=observation, photo=clean_photo(
        io.BytesIO(buffer.getvalue())), caption="", user=alice)
    return {"patient": patient.pk, "encounter": observation.encounter_id,
            "assessment": Assessment.objects.filter(observation=observation).first().pk,
            "lesion": observation.lesion_id, "photo": photo.pk}


def test_app_pages_the_api_the_export_and_photos_are_not_stored(
        alice_client: Client, demo: dict[str, int]) -> None:
    for url in ("/", "/patients/", "/patients/?q=DEMO", f"/patients/{demo['patient']}/",
                f"/patients/{demo['patient']}/history/", f"/patients/{demo['patient']}/edit/",
                f"/encounters/{demo['encounter']}/", f"/assessments/{demo['assessment']}/",
                f"/lesions/{demo['lesion']}/", "/patients/999999/"):
        response = alice_client.get(url)
        assert response.status_code in (200, 404), url
        assert_not_stored(response, url)

    export = alice_client.get("/export/assessments.csv")
    assert export.streaming and b"DEMO-A" in b"".join(export.streaming_content)
    assert_not_stored(export, "export")

    photo = alice_client.get(f"/photos/{demo['photo']}/")
    assert photo.status_code == 200 and b"".join(photo.streaming_content)
    assert_not_stored(photo, "photo")

    for body in (BODY, "{"):
        response = alice_client.post(URL, body, content_type="application/json")
        assert_not_stored(response, f"api {response.status_code}")


def test_the_admin_is_not_stored_and_keeps_its_own_directives(
        rita_client: Client, demo: dict[str, int]) -> None:
    for url in ("/admin/", "/admin/assessment/encounter/",
                f"/admin/assessment/encounter/{demo['encounter']}/change/",
                f"/admin/assessment/encounter/{demo['encounter']}/history/"):
        response = rita_client.get(url)
        assert response.status_code == 200, url
        assert_not_stored(response, url)
        # never_cache's directives are merged with ours, not replaced
        assert {"no-cache", "must-revalidate", "max-age=0"} <= set(directives(response)), url
    assert Encounter.objects.filter(pk=demo["encounter"]).exists()


def test_login_pages_and_redirects_are_not_stored(db) -> None:
    client = Client()
    for url in ("/accounts/login/", "/patients/"):
        assert_not_stored(client.get(url), url)
    assert_not_stored(client.post("/accounts/login/", {"username": "x", "password": "y"}),
                      "failed login")


def test_static_files_stay_cacheable(alice_client: Client) -> None:
    response = alice_client.get("/static/css/app.css")
    assert response.status_code == 200 and b"".join(response.streaming_content)
    assert "no-store" not in directives(response)


# --- 4. One address trying many usernames is locked out ----------------------------------------

def failed_logins(client: Client, usernames: list[str]) -> None:
    for username in usernames:
        response = client.post("/accounts/login/", {"username": username,
                                                    "password": "Winter2026!"})
        assert response.status_code in (200, 429)


def test_one_password_across_many_usernames_locks_the_address(alice) -> None:
    alice.set_password("right-password-123")
    alice.save()
    client = Client()
    # Five different usernames: four that do not exist and a real one with a wrong password.
    failed_logins(client, ["admin", "root", "nurse1", "alice", "doctor"])
    locked = client.post("/accounts/login/", {"username": "alice",
                                              "password": "right-password-123"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Only that address: the same user logs in from elsewhere.
    other = Client(REMOTE_ADDR="10.20.30.40")
    response = other.post("/accounts/login/", {"username": "alice",
                                               "password": "right-password-123"})
    assert response.status_code == 302


def test_a_success_resets_the_addresss_count(alice) -> None:
    """A clinic behind one NAT address: colleagues' typos add up only until someone logs in."""
    alice.set_password("right-password-123")
    alice.save()
    client = Client()
    for batch in (["ann", "ben", "cat", "dan"], ["eve", "fay", "gus", "hal"]):
        failed_logins(client, batch)
        response = client.post("/accounts/login/", {"username": "alice",
                                                    "password": "right-password-123"})
        assert response.status_code == 302
        client.post("/accounts/logout/")


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "9" * 200])
def test_a_malformed_content_length_on_any_form_post_is_400(alice_client: Client,
                                                            length: str) -> None:
    for url in ("/accounts/login/", "/patients/new/", "/admin/login/"):
        response = alice_client.post(url, "a=1", content_type="application/x-www-form-urlencoded",
                                     headers={"Content-Length": length})
        assert response.status_code == 400, (url, response.status_code)
