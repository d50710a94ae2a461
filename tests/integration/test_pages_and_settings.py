"""Home and login pages, and settings read from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def test_anonymous_home_redirects_to_login(db) -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_renders(db) -> None:
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    assert b"Log in" in response.content


def test_logged_in_home_is_the_worklist(alice_client) -> None:
    response = alice_client.get("/")
    assert response.status_code == 200
    assert b"Overdue follow-ups" in response.content


def test_home_refuses_post(alice_client) -> None:
    assert alice_client.post("/").status_code == 405


def _django_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean.update(env)
    return subprocess.run([sys.executable, "manage.py", "check"], capture_output=True, text=True,
                          cwd=ROOT, env=clean, check=False, timeout=60)


def test_a_secret_key_is_required_when_debug_is_off() -> None:
    result = _django_check({"DJANGO_SETTINGS_MODULE": "calcinosis_site.settings"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_debug_runs_without_a_secret_key() -> None:
    result = _django_check({"DJANGO_SETTINGS_MODULE": "calcinosis_site.settings",
                            "DJANGO_DEBUG": "1"})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("url", ["sqlite:////tmp/x.sqlite3",
                                 "postgres://postgres@127.0.0.1:5432/whatever"])
def test_database_url_selects_the_database(url: str) -> None:
    script = ("import django; django.setup(); from django.conf import settings; "
              "print(settings.DATABASES['default']['ENGINE'])")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DJANGO_SETTINGS_MODULE": "calcinosis_site.settings", "DJANGO_DEBUG": "1",
                "DATABASE_URL": url})
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=ROOT, env=env, check=True)
    assert ("sqlite3" in result.stdout) == url.startswith("sqlite")


def test_the_suite_runs_on_the_database_it_was_given(db) -> None:
    from django.db import connection

    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected
