"""The demo accounts (published passwords) never authenticate with DEBUG off.

`make run` (DEBUG on) creates `demo`, `reviewer` and `viewer` and prints their passwords; the same
database served production-style (DEBUG off) must refuse them at login, for sessions opened
earlier, and `remove_demo_accounts` must disable them for good. The test settings run with DEBUG
off; tests flip it with the `settings` fixture.
"""

from __future__ import annotations

import io
import logging

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from assessment import services
from assessment.models import ApiToken, Membership, Role, Site

# The credentials README and `make run` publish; written out here rather than imported so the
# tests check the published accounts, not whatever the code happens to list.
DEMO = [("demo", "heel-nodule-demo", Role.CLINICIAN),
        ("reviewer", "heel-nodule-review", Role.REVIEWER),
        ("viewer", "heel-nodule-view", Role.VIEWER)]
DEMO_IDS = [username for username, _, _ in DEMO]
LOGIN = "/accounts/login/"


@pytest.fixture
def demo_users(north: Site) -> dict[str, User]:
    """The demo accounts as `make run` leaves them: made directly, because ensure_demo_user
    refuses to run with DEBUG off."""
    users = {}
    for username, password, role in DEMO:
        user = User.objects.create_user(username=username, password=password,
                                        is_staff=role == Role.REVIEWER)
        Membership.objects.create(user=user, site=north, role=role)
        users[username] = user
    return users


def refusals(caplog: pytest.LogCaptureFixture, username: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records
            if record.name == "assessment.auth" and record.levelno == logging.WARNING
            and username in record.getMessage()]


@pytest.mark.parametrize(("username", "password", "role"), DEMO, ids=DEMO_IDS)
def test_demo_login_is_refused_with_debug_off(demo_users, caplog, username: str,
                                              password: str, role: str) -> None:
    client = Client()
    with caplog.at_level(logging.WARNING, logger="assessment.auth"):
        response = client.post(LOGIN, {"username": username, "password": password})
    assert response.status_code == 200, "the form is shown again, not a redirect"
    assert b"did not match" in response.content
    assert "_auth_user_id" not in client.session
    assert refusals(caplog, username), "the refusal is logged naming the account"


@pytest.mark.parametrize("username", DEMO_IDS)
def test_an_existing_demo_session_is_refused_with_debug_off(demo_users, caplog,
                                                            username: str) -> None:
    client = Client()
    client.force_login(demo_users[username])
    with caplog.at_level(logging.WARNING, logger="assessment.auth"):
        response = client.get("/patients/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert refusals(caplog, username)


def test_demo_login_works_with_debug_on_and_that_session_ends_when_debug_goes_off(
        demo_users, settings) -> None:
    """The reported path: log in under `make run`, then serve the database with DEBUG off."""
    settings.DEBUG = True
    client = Client()
    response = client.post(LOGIN, {"username": "demo", "password": "heel-nodule-demo"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(demo_users["demo"].pk)
    assert client.get("/patients/").status_code == 200
    settings.DEBUG = False
    response = client.get("/patients/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_other_users_still_log_in_with_debug_off_through_the_demo_aware_backend(
        alice, demo_users, caplog) -> None:
    client = Client()
    with caplog.at_level(logging.WARNING, logger="assessment.auth"):
        response = client.post(LOGIN, {"username": "alice", "password": "pass-1234-word"})
        assert response.status_code == 302
        assert client.get("/patients/").status_code == 200
    assert client.session[BACKEND_SESSION_KEY] == "assessment.auth.DemoAwareModelBackend"
    assert not [r for r in caplog.records if r.name == "assessment.auth"]


def test_is_refused_demo_account_for_the_api_token_path(alice, demo_users, settings) -> None:
    from assessment.auth import is_refused_demo_account

    assert all(is_refused_demo_account(user) for user in demo_users.values())
    assert not is_refused_demo_account(alice)
    settings.DEBUG = True
    assert not any(is_refused_demo_account(user) for user in demo_users.values())


@pytest.mark.parametrize("debug", [True, False], ids=["debug-on", "debug-off"])
def test_remove_demo_accounts_disables_them_for_good(db, settings, debug: bool) -> None:
    settings.DEBUG = True
    call_command("ensure_demo_user", stdout=io.StringIO())  # as `make run` does
    demo = User.objects.get(username="demo")
    session = Client()
    session.force_login(demo)
    _, key = services.api_token_create(user=demo, name="script")
    settings.DEBUG = debug

    out = io.StringIO()
    call_command("remove_demo_accounts", stdout=out)

    for username, password, _ in DEMO:
        user = User.objects.get(username=username)  # kept: clinical rows point at it
        assert not user.is_active and not user.is_staff
        assert not user.has_usable_password() and not user.check_password(password)
        assert not Membership.objects.filter(user=user).exists()
        assert f"'{username}': deactivated" in out.getvalue()
    assert "1 API token(s) revoked" in out.getvalue()
    assert ApiToken.objects.get(user=demo).revoked_at is not None
    assert services.api_token_user(key) is None
    # Refused even with DEBUG on now: the session and the published password are dead.
    settings.DEBUG = True
    response = session.get("/patients/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert Client().post(LOGIN, {"username": "demo",
                                 "password": "heel-nodule-demo"}).status_code == 200

    again = io.StringIO()
    call_command("remove_demo_accounts", stdout=again)
    assert "'demo': already inactive" in again.getvalue()
    assert "0 membership(s) removed, 0 API token(s) revoked" in again.getvalue()
