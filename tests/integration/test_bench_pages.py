"""The page benchmark's hygiene, at small scale and without timing assertions: ``bench_pages``
leaves the database as it found it (its timed POST is rolled back, so the benchmark patient
does not gain a visit on every run), and ``make bench`` alternates the scales and judges each
page on the median of its runs."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.test.utils import override_settings

from assessment import benchmark
from assessment.management.commands.bench_pages import bench_user, request, targets
from assessment.models import (
    Assessment,
    Encounter,
    LabResult,
    Lesion,
    LesionObservation,
    Patient,
)
from assessment.synth import generate

CLINICAL = (Patient, Encounter, Lesion, LesionObservation, LabResult, Assessment)


def clinical_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in CLINICAL}


@pytest.fixture
def registry(db) -> None:
    list(generate(8, batch=8))


def test_it_times_the_encounter_post_without_keeping_the_visit(registry) -> None:
    post = next(target for target in targets() if target[1] == "POST")
    client = Client()
    client.force_login(bench_user())
    before = clinical_counts()
    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        response, elapsed_ms, queries = request(client, *post[1:])
    # The visit was really saved and assessed inside the timed request: the answer is the
    # redirect to its new assessment...
    assert response.status_code == 302, response.content[:500]
    assert response["Location"].startswith("/assessments/")
    assert queries > 20 and elapsed_ms > 0
    # ...and then rolled back.
    assert clinical_counts() == before
    assert not Encounter.objects.filter(patient__record_number="BENCH-POST").exists()


def test_a_run_of_bench_pages_leaves_the_records_as_it_found_them(registry) -> None:
    targets()  # makes the fixtures a run reuses: the bench user and the BENCH-POST patient
    before = clinical_counts()
    for _ in range(2):
        out = StringIO()
        call_command("bench_pages", "--repeat", "2", "--warmup", "1", "--json", stdout=out)
        rows = [json.loads(line) for line in out.getvalue().splitlines()]
        assert clinical_counts() == before
    pages = {row["page"]: row for row in rows}
    assert {"trivial view (floor)", "encounter entry (POST)", "assessment page",
            "patient list, first page", "encounter entry (GET)"} <= set(pages)
    assert pages["encounter entry (POST)"]["queries"] > 20


def test_scales_alternate_across_rounds() -> None:
    assert benchmark.round_order([1000, 100000], 3) == [1000, 100000, 100000, 1000,
                                                        1000, 100000]


def page(name: str, p95: float, queries: int = 5, median: float = 1.0) -> dict:
    return {"page": name, "queries": queries, "median_ms": median, "p95_ms": p95}


def test_each_page_is_judged_on_the_median_of_its_runs() -> None:
    floor = "trivial view (floor)"
    runs = [[page(floor, 5.0), page("a", 10.0, median=5)],
            [page(floor, 10.0), page("a", 30.0, median=6)],
            [page(floor, 4.0), page("a", 12.0, median=50)]]
    assert benchmark.median_pages(runs)[1] == {
        "page": "a", "queries": 5, "median_ms": 6, "p95_ms": 12.0,
        "p95_runs": [10.0, 30.0, 12.0],
        "x_floor": 3.0}  # the median of 2x, 3x and 3x: each run against its own floor


def results(assessment_p95: float) -> dict:
    load = {"trivial view": {"rps": 100.0, "errors": 0}, "worklist": {"rps": 50.0, "errors": 0},
            "assessment API": {"rps": 80.0, "errors": 0}, "worker_peak_mb": 64}
    run = [page("trivial view (floor)", 4.0), page("encounter entry (GET)", 12.0),
           page("assessment page", assessment_p95), page("patient list, first page", 8.0)]
    return {scale: {"pages": benchmark.median_pages([run, run, run]), "load": load}
            for scale in (1000, 100000)}


def test_the_report_prints_the_ratios_to_the_floor_and_the_targets() -> None:
    lines = benchmark.report_lines(results(assessment_p95=20.0), engine=12000.0)
    text = "\n".join(lines)
    assert "assessment page" in text and "5.00x (target <= 5x) met" in text
    assert lines[-1] == "Targets: all met."


def test_a_page_over_its_multiple_of_the_floor_is_not_met() -> None:
    lines = benchmark.report_lines(results(assessment_p95=24.0), engine=9000.0)
    assert lines[-1].startswith("Targets: NOT MET: ")
    assert "assessment page at 1000: p95 6.00x the trivial view's > 5x" in lines[-1]
    assert "engine 9,000 assessments/s < 10,000" in lines[-1]
