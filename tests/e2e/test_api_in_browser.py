"""A staff clinician logs in through the real login page and calls the assessment API from the
browser, as a front-end would (session cookie plus CSRF header)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.builders import load_case
from tests.e2e.conftest import axe_violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_a_staff_user_logs_in_and_assesses_case_b_through_the_api(page, output_dir) -> None:
    User.objects.create_user("alice", password="alice-pass-1234", is_staff=True)
    login(page, "alice", "alice-pass-1234")
    page.wait_for_url("**/")
    assert page.get_by_role("heading", name="Heel nodule assessment").is_visible()
    page.screenshot(path=str(output_dir / "home.png"), full_page=True)

    case_b = load_case("seed_case_b_extravasation_renal_failure.json")["input"]
    result = page.evaluate(
        """async (body) => {
            const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken='))
                .split('=')[1];
            const response = await fetch('/api/v1/assess', {method: 'POST',
                headers: {'Content-Type': 'application/json', 'X-CSRFToken': token},
                body: JSON.stringify(body)});
            return {status: response.status, json: await response.json()};
        }""",
        case_b,
    )
    assert result["status"] == 200
    out = result["json"]
    assert {s["code"] for s in out["subtypes"]} >= {"iatrogenic", "metastatic"}
    assert out["calcium_phosphate_product"]["value_mg2_dl2"] == 77.2


def test_anonymous_browser_gets_401_from_the_api(page) -> None:
    page.goto("/accounts/login/")
    status = page.evaluate("""async () => (await fetch('/api/v1/assess', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: '{}'})).status""")
    assert status in (401, 403)


def test_the_login_page_has_no_serious_accessibility_violations(page, output_dir) -> None:
    page.goto("/accounts/login/")
    page.screenshot(path=str(output_dir / "login.png"))
    assert axe_violations(page) == []


def test_wrong_password_shows_a_message_and_keeps_the_username(page) -> None:
    User.objects.create_user("alice", password="alice-pass-1234", is_staff=True)
    login(page, "alice", "wrong-password")
    assert page.get_by_role("alert").inner_text().startswith("Your username and password")
    assert page.get_by_label("Username").input_value() == "alice"
