"""Several clinicians save the same observation at once: per version exactly one save wins,
the others are told the record changed, and the history holds each accepted change.

Runs on both databases: on PostgreSQL the losing UPDATE waits for the winner's commit and then
matches no row; on SQLite writers queue on the database lock (IMMEDIATE transactions).
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection
from django.test import Client

from assessment.demo import record_contract_case
from assessment.models import Assessment, LesionObservation
from tests.builders import load_case

pytestmark = pytest.mark.django_db(transaction=True)
WRITERS = 5


def save_concurrently(users: list, observation_pk: int, version: int) -> list[tuple[int, str]]:
    barrier = threading.Barrier(len(users))
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def writer(index: int, user) -> None:
        try:
            client = Client()
            client.force_login(user)
            barrier.wait(timeout=30)
            response = client.post(f"/observations/{observation_pk}/edit/", {
                "version": str(version), "count": "1", "largest_diameter_mm": str(3 + index),
                "color": "white", "consistency": "hard"})
            outcome = "won" if response.status_code == 302 else (
                "conflict" if b"was changed by" in response.content else
                f"other {response.status_code}")
            with lock:
                results.append((index, outcome))
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(i, user)) for i, user in enumerate(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(results)


def test_one_save_wins_per_version_and_history_keeps_each(alice, north) -> None:
    from tests.factories import UserFactory

    clinicians = [alice] + [UserFactory(username=f"clin{i}", roles=[(north, "clinician")])
                            for i in range(WRITERS - 1)]
    patient = record_contract_case(
        data=load_case("seed_case_c_heel_stick_nodules.json")["input"], record_number="RACE-1",
        born=date(2026, 2, 1), visit=date(2026, 10, 1), label="heel", user=alice, site=north)
    observation = LesionObservation.objects.get(lesion__patient=patient)

    for version in (1, 2):
        results = save_concurrently(clinicians, observation.pk, version)
        outcomes = [outcome for _, outcome in results]
        assert outcomes.count("won") == 1, results
        assert outcomes.count("conflict") == WRITERS - 1, results
        winner = next(index for index, outcome in results if outcome == "won")
        observation.refresh_from_db()
        assert observation.version == version + 1
        assert float(observation.largest_diameter_mm) == 3 + winner

    history = list(observation.history.order_by("history_date"))
    assert [h.version for h in history] == [1, 2, 3], "creation plus one row per accepted save"
    assert [h.history_type for h in history] == ["+", "~", "~"]
    assert all(h.history_user is not None for h in history)
    # One assessment per observation version, each kept.
    versions = sorted(Assessment.objects.filter(observation=observation)
                      .values_list("observation_version", flat=True))
    assert versions == [1, 2, 3]
