"""Two savings on every page's reads (docs/PERFORMANCE.md, fifth session):

- the assessment page's lookup is a server-side prepared statement on PostgreSQL
  (assessment/prepared.py): parsed and planned once per database connection instead of on
  every request, answering the same rows; off with ``DJANGO_DB_PREPARED_STATEMENTS=0``;
- so is the query of a user's roles at every clinic (``access.roles``), which every page but
  the trivial one asks once; its SQL is written once instead of compiled by the ORM each time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from assessment import access, prepared, selectors
from assessment.demo import record_contract_case
from assessment.models import Assessment, Membership, Role
from tests.builders import load_case
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
CASE_A = load_case("seed_case_a_pearl_like_heel_nodule.json")["input"]


@pytest.fixture
def assessment(alice, north) -> Assessment:
    record_contract_case(data=CASE_A, record_number="PREP-1", born=date(2025, 8, 10),
                         visit=date(2026, 8, 10), label="right heel", user=alice, site=north)
    return Assessment.objects.get()


def server_statements() -> list[str]:
    """The statements prepared in this database session, as the server lists them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_the_assessment_lookup_is_prepared_once_on_postgresql(alice, assessment) -> None:
    # Past PostgreSQL's five custom plans, where it may switch to the generic one.
    found = [selectors.assessment_for(alice, assessment.pk) for _ in range(8)]
    assert {item.pk for item in found} == {assessment.pk}
    if connection.vendor == "postgresql":
        assert prepared.enabled(connection)
        lookups = [sql for sql in server_statements() if "assessment_assessment" in sql]
        assert len(lookups) == 1, lookups  # eight lookups, one statement
        assert "$" in lookups[0]  # bound on the server, not a literal query
    else:
        assert not prepared.enabled(connection)  # SQLite: Django's own cursor


@pytest.mark.django_db
def test_a_prepared_lookup_is_in_the_query_log_with_its_text(alice, assessment) -> None:
    with CaptureQueriesContext(connection) as captured:
        selectors.assessment_for(alice, assessment.pk)
    # (alice's roles are read first: this user object did not come from a session)
    texts = [query["sql"] for query in captured.captured_queries
             if "assessment_membership" not in query["sql"]]
    assert len(texts) == 1
    assert texts[0].startswith("SELECT ") and "assessment_assessment" in texts[0]


@pytest.mark.django_db
def test_the_lookup_still_answers_after_a_rollback_dropped_the_statements(alice, assessment
                                                                         ) -> None:
    # psycopg deallocates every prepared statement after a ROLLBACK and prepares again.
    with transaction.atomic():
        selectors.assessment_for(alice, assessment.pk)
        transaction.set_rollback(True)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table_here")
    assert selectors.assessment_for(alice, assessment.pk).pk == assessment.pk


@pytest.mark.django_db
def test_a_disabled_connection_gives_djangos_own_cursor(alice, assessment, monkeypatch
                                                        ) -> None:
    options = {k: v for k, v in connection.settings_dict.get("OPTIONS", {}).items()
               if k != "prepare_threshold"}
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    assert not prepared.enabled(connection)
    with prepared.cursor(connection) as cursor:
        assert "Preparing" not in type(cursor.cursor).__name__
    assert selectors.assessment_for(alice, assessment.pk).pk == assessment.pk


@pytest.mark.parametrize(("setting", "expected"), [("", True), ("1", True), ("0", False)])
def test_the_setting_turns_prepared_statements_on_and_off(setting, expected) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DJANGO_SETTINGS_MODULE": "calcinosis_site.settings", "DJANGO_DEBUG": "1",
                "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused"})
    if setting:
        env["DJANGO_DB_PREPARED_STATEMENTS"] = setting
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import "
         "settings; print(settings.DATABASES['default'].get('OPTIONS', {})"
         ".get('prepare_threshold') is not None)"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == str(expected)


@pytest.mark.django_db
def test_roles_are_the_users_memberships(alice, north, south) -> None:
    Membership.objects.create(user=alice, site=south, role=Role.VIEWER)
    expected = dict(Membership.objects.filter(user=alice).values_list("site_id", "role"))
    assert expected == {north.pk: Role.CLINICIAN, south.pk: Role.VIEWER}
    fresh = type(alice).objects.get(pk=alice.pk)
    assert access.roles(fresh) == expected
    assert access.site_ids(fresh, access.WRITE) == [north.pk]
    assert access.roles(UserFactory(username="norole")) == {}


@pytest.mark.django_db
def test_a_page_reads_the_roles_once_and_sees_a_removed_role_at_once(
        alice, alice_client, assessment) -> None:
    url = f"/assessments/{assessment.pk}/"
    alice_client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert alice_client.get(url).status_code == 200
    roles = [q["sql"] for q in captured.captured_queries if "assessment_membership" in q["sql"]]
    assert len(roles) == 1 and roles[0].startswith("SELECT site_id, role")
    if connection.vendor == "postgresql":
        assert any("assessment_membership" in sql for sql in server_statements())
    Membership.objects.filter(user=alice).delete()
    assert alice_client.get(url).status_code == 404  # the very next request
