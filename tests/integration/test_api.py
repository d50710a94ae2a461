"""POST /api/v1/assess: shares the engine's validation; never open to anonymous callers."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.builders import load_case

URL = "/api/v1/assess"
CASE_C = load_case("seed_case_c_heel_stick_nodules.json")["input"]


@pytest.fixture
def staff_client(alice) -> Client:
    """A clinician's session (the API is for clinicians)."""
    client = Client()
    client.force_login(alice)
    return client


def post(client: Client, body, content_type: str = "application/json"):
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data=payload, content_type=content_type)


def test_it_assesses_a_valid_input(staff_client: Client) -> None:
    response = post(staff_client, CASE_C)
    assert response.status_code == 200
    assert response.json()["leading_entity"]["code"] == "calcified_heel_stick_nodule"


def test_the_api_and_the_engine_give_the_same_output(staff_client: Client) -> None:
    from assessment.engine import assess

    assert post(staff_client, CASE_C).json() == json.loads(json.dumps(assess(CASE_C)))


def test_it_returns_400_with_field_errors(staff_client: Client) -> None:
    bad = json.loads(json.dumps(CASE_C))
    bad["lesion"]["site"] = "hele"
    bad["labs"][0]["unit"] = "g"
    response = post(staff_client, bad)
    assert response.status_code == 400
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["lesion.site", "labs[0].unit"]


@pytest.mark.parametrize("body", ['{"patient": ', "[" * 50_000, "NaN", "\"text\"", "null"])
def test_it_returns_400_on_malformed_or_non_object_json(staff_client: Client, body: str) -> None:
    response = post(staff_client, body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] in ("body", "input")


def test_it_refuses_a_non_json_content_type(staff_client: Client) -> None:
    response = post(staff_client, "a=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_it_refuses_an_oversized_body(staff_client: Client) -> None:
    response = post(staff_client, json.dumps({"padding": "x" * 70_000}))
    assert response.status_code == 413


def test_anonymous_callers_get_401_json(db) -> None:
    response = post(Client(), CASE_C)
    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "authentication"


def test_clinicians_may_call_the_api(alice) -> None:
    client = Client()
    client.force_login(alice)
    assert post(client, CASE_C).status_code == 200


def test_users_without_clinical_permissions_get_403(plain_user) -> None:
    client = Client()
    client.force_login(plain_user)
    assert post(client, CASE_C).status_code == 403


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_wrong_method_is_405(staff_client: Client, method: str) -> None:
    response = getattr(staff_client, method)(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_csrf_is_enforced_for_session_callers(alice) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = post(client, CASE_C)
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "csrf"
    client.get("/patients/")  # a page with a form sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post(URL, data=json.dumps(CASE_C), content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200
