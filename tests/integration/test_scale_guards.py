"""Small-scale guards for registry scale: every benchmarked page runs the same number of
queries with 20 or 60 synthetic patients (so a query per row fails CI long before a registry
notices), and the synthetic data generator writes complete, engine-assessed records."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assessment.management.commands.bench_pages import bench_user, targets
from assessment.models import Assessment, Encounter, Lesion, LesionObservation, Patient
from assessment.synth import generate

pytestmark = pytest.mark.django_db


def query_counts() -> dict[str, int]:
    from django.core.cache import cache

    cache.clear()  # count every time, as on a first visit
    client = Client()
    client.force_login(bench_user())
    counts = {}
    for name, method, url, _data in targets():
        if method == "POST":
            continue  # a POST adds data; its query count is guarded in test_views
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(captured.captured_queries)
    return counts


def test_page_query_counts_do_not_grow_with_the_registry() -> None:
    list(generate(20, batch=10))
    small = query_counts()
    list(generate(40, batch=20))
    assert Patient.objects.filter(record_number__startswith="SYN").count() == 60
    assert query_counts() == small


def test_synthetic_records_are_complete_and_assessed_by_the_engine() -> None:
    totals: dict[str, int] = {}
    for counts in generate(30, batch=7):
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    assert totals["patients"] == 30 == Patient.objects.count()
    assert totals["assessments"] == Assessment.objects.count() > 30
    lesions_per_patient = Lesion.objects.count() / 30
    visits_per_patient = Encounter.objects.count() / 30
    assert lesions_per_patient >= 1 and lesions_per_patient <= 4
    assert visits_per_patient >= 1 and visits_per_patient <= 6
    assert not Encounter.objects.filter(date__lt=F("patient_born")).exists()
    for assessment in Assessment.objects.select_related("observation__lesion")[:20]:
        assert assessment.output_json["ruleset_version"] == assessment.ruleset_version
        assert assessment.leading_entity == assessment.output_json["leading_entity"]["code"]
    unresolved = LesionObservation.objects.exclude(course_status="resolved").count()
    assert unresolved == Assessment.objects.count()
    active = Lesion.objects.filter(status="active")
    assert active.filter(next_follow_up_due__isnull=True).count() == 0
    assert Lesion.objects.filter(status="resolved", resolved_on__isnull=True).count() == 0


def test_generation_is_reproducible_whatever_the_split() -> None:
    list(generate(12, batch=4, seed=5, worker=0, workers=2))
    list(generate(12, batch=4, seed=5, worker=1, workers=2, start=0))
    split = sorted(Patient.objects.values_list("record_number", "date_of_birth", "sex"))
    Assessment.objects.all().delete()
    for model in (LesionObservation,):
        model.objects.all().delete()
    from assessment.models import LabResult

    LabResult.objects.all().delete()
    Encounter.objects.all().delete()
    Lesion.objects.all().delete()
    Patient.objects.all().delete()
    list(generate(12, batch=4, seed=5, start=0))
    whole = sorted(Patient.objects.values_list("record_number", "date_of_birth", "sex"))
    assert split == whole


def models_F(name: str):
    from django.db.models import F

    return F(name)
