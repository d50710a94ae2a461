"""Patient search by record number: the trigram index on PostgreSQL has no pending list, and
the planner has statistics on the searched expression.

Migration 0020 turns GIN ``fastupdate`` off so that a search never scans a list of entries
waiting for a vacuum (3–4 ms instead of about 2 ms at 100,000 patients; docs/PERFORMANCE.md).
SQLite has no such index; there the search reads the table, and answers the same.
"""

from __future__ import annotations

import pytest
from django.db import connection

from assessment import selectors
from tests.factories import PatientFactory

INDEX = "assessment_patient_record_number_trgm"
STATISTICS = "assessment_patient_record_number_upper_stats"


@pytest.mark.django_db
def test_the_trigram_index_writes_straight_into_the_index_on_postgresql() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [INDEX])
            row = cursor.fetchone()
            assert row is not None, "the trigram index is missing"
            assert "fastupdate=off" in (row[0] or [])
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND name = %s",
                           [INDEX])
            assert cursor.fetchone() is None  # PostgreSQL only (migrations 0007 and 0020)


@pytest.mark.django_db
def test_the_planner_has_statistics_on_the_searched_expression_on_postgresql() -> None:
    # Migration 0021: without them a narrow search's first page walked half the registry.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_statisticsobjdef(oid) FROM pg_statistic_ext "
                           "WHERE stxname = %s", [STATISTICS])
            row = cursor.fetchone()
            assert row is not None, "the record-number statistics are missing"
            assert "upper(record_number::text)" in row[0]
        else:
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = %s", [STATISTICS])
            assert cursor.fetchone()[0] == 0  # PostgreSQL only


@pytest.mark.django_db
def test_search_finds_a_patient_registered_after_the_index_was_built(alice, north) -> None:
    PatientFactory(site=north, record_number="ZQX-4471")
    PatientFactory(site=north, record_number="ZQX-9902")
    found = list(selectors.patient_list(alice, "qx-44"))
    assert len(found) == 1
