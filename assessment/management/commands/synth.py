"""``python manage.py synth --patients N [--workers W]``: synthetic registry data in bounded
batches (one transaction each), optionally split over worker processes."""

from __future__ import annotations

import multiprocessing
import resource
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import connections

from assessment.models import Patient
from assessment.synth import PREFIX, ensure_sites, generate, synth_user


def _work(job: tuple[int, int, int, int, int, int, int]) -> dict[str, int]:
    patients, sites, batch, seed, start, worker, workers = job
    connections.close_all()  # never share the parent's connection across a fork
    totals: dict[str, int] = {}
    for counts in generate(patients, sites=sites, batch=batch, seed=seed, start=start,
                           worker=worker, workers=workers):
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    connections.close_all()
    totals["peak_rss_mb"] = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return totals


class Command(BaseCommand):
    help = "Generate N synthetic patients with lesions, visits, labs and assessments."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--patients", type=int, required=True)
        parser.add_argument("--sites", type=int, default=5)
        parser.add_argument("--batch", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--workers", type=int, default=None,
                            help="processes (default: 2 on PostgreSQL, 1 on SQLite)")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        vendor = connections["default"].vendor
        workers = options["workers"] or (2 if vendor == "postgresql" else 1)
        # Shared rows first, in this process, so workers never race to create them.
        ensure_sites(options["sites"])
        synth_user()
        start = Patient.objects.filter(record_number__startswith=PREFIX).count()
        jobs = [(options["patients"], options["sites"], options["batch"], options["seed"],
                 start, worker, workers) for worker in range(workers)]
        if workers == 1:
            results = [_work(jobs[0])]
        else:
            connections.close_all()
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                results = pool.map(_work, jobs)
        from assessment.services import worklist_changed

        worklist_changed()
        if vendor == "postgresql":
            # Fresh statistics, or the planner keeps assuming the tables are tiny and picks
            # nested loops over 100,000 patients. VACUUM too: a bulk load leaves the visibility
            # map empty until autovacuum's next pass, and until then the planner prices index
            # scans for a state a live registry is never in (the assessment page's p95 at
            # 100,000 patients fell from 16 to 7 ms after it). Autocommit: VACUUM refuses to
            # run inside a transaction.
            with connections["default"].cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
        totals: dict[str, int] = {}
        for result in results:
            for key, value in result.items():
                if key != "peak_rss_mb":
                    totals[key] = totals.get(key, 0) + value
        elapsed = time.perf_counter() - started
        peaks = [result["peak_rss_mb"] for result in results]
        summary = ", ".join(f"{value} {key}" for key, value in totals.items())
        self.stdout.write(
            f"Created {summary} in {elapsed:.1f} s "
            f"({totals.get('patients', 0) / max(elapsed, 1e-9):.0f} patients/s) with {workers} "
            f"worker(s); peak memory per worker {max(peaks)} MB, all workers {sum(peaks)} MB.")
