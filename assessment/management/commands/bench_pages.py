"""``python manage.py bench_pages``: server time and query count of each page, in process.

For every page: a few warm-up requests, then ``--repeat`` timed requests through Django's full
request handling (middleware, session, authentication, templates); prints the median and 95th
percentile of the server time and the number of queries. Run it against a database filled by
``manage.py synth``. Prints a table, and with ``--json`` one JSON object per page.

The records are left as they were found, but for the fixtures made on the first run and then
reused (the ``bench`` users and their memberships, the ``BENCH-POST`` patient) and what any
logged-in page view writes (its session, the patient view log): each timed POST (and its
warm-ups) runs inside a transaction that is rolled back once its time is taken. The time
covers all the request's work and SQL, but not its COMMIT (a WAL flush: well under a
millisecond to a few milliseconds, depending on the disk); a POST that committed would add a
visit to the patient on every run, and every later run would time a longer record.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from assessment import presenters
from assessment.models import Assessment, Lesion, Membership, Patient, Site
from assessment.synth import PREFIX

ENCOUNTER_POST = {
    "visit-date": "2026-01-15", "visit-kind": "initial", "visit-notes": "",
    "lesion-TOTAL_FORMS": "1", "lesion-INITIAL_FORMS": "0", "lesion-MIN_NUM_FORMS": "1",
    "lesion-MAX_NUM_FORMS": "10", "lesion-0-site": "heel", "lesion-0-heel_subsite": "medial",
    "lesion-0-count": "2", "lesion-0-largest_diameter_mm": "3", "lesion-0-color": "white_yellow",
    "lesion-0-consistency": "firm", "lesion-0-onset_age_months": "6",
    "lab-TOTAL_FORMS": "2", "lab-INITIAL_FORMS": "0", "lab-MIN_NUM_FORMS": "0",
    "lab-MAX_NUM_FORMS": "30", "lab-0-analyte": "calcium_total", "lab-0-value": "9.9",
    "lab-0-unit": "mg/dL", "lab-1-analyte": "phosphate", "lab-1-value": "5.6",
    "lab-1-unit": "mg/dL",
}


def bench_user() -> Any:
    """A staff clinician of every clinic: sees everything a registry user would."""
    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_staff": True, "first_name": "Bench"})
    for site in Site.objects.all():
        Membership.objects.get_or_create(user=user, site=site, defaults={"role": "clinician"})
    return user


def bench_report_user() -> Any:
    """A data manager of every clinic: the outcomes page needs the REPORT action, which the
    clinician ``bench`` user does not have."""
    user, _ = get_user_model().objects.get_or_create(
        username="bench-report", defaults={"first_name": "Bench", "last_name": "Report"})
    for site in Site.objects.all():
        Membership.objects.get_or_create(user=user, site=site,
                                         defaults={"role": "data_manager"})
    return user


# Pages timed as ``bench_report_user``; their first requests are timed too (see handle).
REPORT_TARGETS = [("registry outcomes", "GET", "/registry/outcomes/", None)]


def targets() -> list[tuple[str, str, str, dict | None]]:
    patients = Patient.objects.filter(record_number__startswith=PREFIX)
    total = patients.count()
    if total == 0:
        raise CommandError("No synthetic patients: run `manage.py synth --patients N` first.")
    middle = patients.order_by("record_number")[total // 2]
    lesion = Lesion.objects.filter(patient=middle).order_by("id").first()
    assessment = Assessment.objects.filter(observation__lesion=lesion).order_by("id").first()
    from datetime import date

    post_patient, _ = Patient.objects.get_or_create(
        record_number="BENCH-POST", defaults={
            "site": middle.site, "date_of_birth": date(2025, 7, 1), "sex": "female",
            "created_by": bench_user(), "updated_by": bench_user()})
    search = middle.record_number[:-2]  # matches a hundred or so records
    return [
        ("trivial view (floor)", "GET", "/ping", None),
        ("worklist", "GET", "/", None),
        ("patient list, first page", "GET", "/patients/", None),
        ("patient list, last page", "GET", "/patients/?page=last", None),
        ("patient search", "GET", f"/patients/?q={search}", None),
        ("patient page", "GET", f"/patients/{middle.pk}/", None),
        ("lesion timeline", "GET", f"/lesions/{lesion.pk}/", None),
        ("encounter entry (GET)", "GET", f"/patients/{post_patient.pk}/encounters/new/", None),
        ("encounter entry (POST)", "POST", f"/patients/{post_patient.pk}/encounters/new/",
         ENCOUNTER_POST),
        ("assessment page", "GET", f"/assessments/{assessment.pk}/", None),
        ("admin encounter list", "GET", "/admin/assessment/encounter/", None),
    ]


def request(client: Client, method: str, url: str, data: dict | None
            ) -> tuple[Any, float, int]:
    """(response, server ms, queries) of one request. A POST runs inside a transaction rolled
    back after its time is taken, so it leaves the database as it found it (the service's own
    transaction becomes a savepoint: the same statements, no COMMIT)."""
    if method != "POST":
        if url.startswith("/assessments/"):
            # Timed as a first view: the page keeps each assessment's rendered output per
            # process (presenters.assessment_body_html), and 40 views of one assessment would
            # otherwise measure that store rather than the page.
            presenters._forget_bodies()
        return _timed(lambda: client.get(url))
    with transaction.atomic():
        timed = _timed(lambda: client.post(url, data))
        transaction.set_rollback(True)
    return timed


def _timed(send: Any) -> tuple[Any, float, int]:
    # The query log keeps the last 9,000 queries; once full, CaptureQueriesContext counts 0
    # (it subtracts two lengths of a deque at its maximum). Each request starts it empty.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        response = send()
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        elapsed = (time.perf_counter() - started) * 1000
    return response, elapsed, len(captured.captured_queries)


class Command(BaseCommand):
    help = "Time each page (median and 95th percentile) and count its queries."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--repeat", type=int, default=30)
        parser.add_argument("--warmup", type=int, default=3)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        client = Client()
        client.force_login(bench_user())
        reporter = Client()
        reporter.force_login(bench_report_user())
        rows = []
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        with override_settings(ALLOWED_HOSTS=hosts, SECURE_SSL_REDIRECT=False):
            for name, method, url, data in targets():
                rows.append(self._time(client, name, method, url, data, options))
            for name, method, url, data in REPORT_TARGETS:
                # A cached page: time its first request in this process (lifelines not yet
                # imported, cache empty) and a cold computation (cache emptied again), then the
                # usual warm repeats.
                first = self._once(reporter, url, name)
                cache.clear()
                cold = self._once(reporter, url, name)
                rows.append({**self._time(reporter, name, method, url, data, options),
                             "first_ms": first[0], "cold_ms": cold[0],
                             "cold_queries": cold[1]})
        patients = Patient.objects.count()
        if options["json"]:
            for row in rows:
                self.stdout.write(json.dumps({"patients": patients, **row}))
            return
        self.stdout.write(f"{patients} patients, {options['repeat']} requests per page")
        self.stdout.write(f"{'page':30} {'queries':>7} {'median ms':>10} {'p95 ms':>9}")
        for row in rows:
            self.stdout.write(f"{row['page']:30} {row['queries']:>7} {row['median_ms']:>10} "
                              f"{row['p95_ms']:>9}")
        for row in rows:
            if "cold_ms" in row:
                self.stdout.write(
                    f"{row['page']}: first request in this process {row['first_ms']} ms "
                    f"(imports lifelines), cold computation {row['cold_ms']} ms with "
                    f"{row['cold_queries']} queries; the rows above are cached requests.")

    def _time(self, client: Client, name: str, method: str, url: str, data: dict | None,
              options: dict[str, Any]) -> dict[str, Any]:
        for _ in range(options["warmup"]):
            self._check(request(client, method, url, data)[0], name)
        timings, queries = [], 0
        for _ in range(options["repeat"]):
            response, elapsed_ms, queries = request(client, method, url, data)
            timings.append(elapsed_ms)
            self._check(response, name)
        timings.sort()
        return {"page": name, "queries": queries,
                "median_ms": round(statistics.median(timings), 2),
                "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 2)}

    def _once(self, client: Client, url: str, name: str) -> tuple[float, int]:
        """(server ms, queries) of one GET."""
        response, elapsed, queries = request(client, "GET", url, None)
        self._check(response, name)
        return round(elapsed, 1), queries

    def _check(self, response: Any, name: str) -> None:
        if response.status_code not in (200, 302):
            raise CommandError(f"{name}: HTTP {response.status_code}")
