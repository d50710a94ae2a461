"""``python manage.py export_fhir --site CODE [--site CODE ...] --out DIR --as USERNAME``: every
patient of the named clinics as FHIR R4 bulk data, one NDJSON file per resource type
(Patient.ndjson, Encounter.ndjson, ...), as the named user, logged as one export.

Streamed in batches of patients (keyset on the patient id, everything a batch needs prefetched
in a fixed number of queries, then dropped), so memory stays flat however large the registry.
Each file is written as ``<Type>.ndjson.part`` and renamed only when the whole run succeeded: a
failed run leaves no file that looks complete. Archived patients are exported (it is the
registry; their Patient resource says ``active: false``).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError
from django.db import connections, reset_queries

from assessment import access, selectors, services
from assessment.interop import fhir
from assessment.management.people import (
    add_as_argument,
    add_site_argument,
    command_user,
    report_sites,
)
from assessment.management.workers import forget_inherited_connections, id_pages, peak_rss_mb
from assessment.models import ExportKind
from assessment.replica import on_replica, replica_reads

DEFAULT_BATCH = 500
SUFFIX = ".ndjson"
PART = ".ndjson.part"


# The patients the run may export (set before the workers are forked, which inherit it).
_SCOPE: Any = None


def _render(ids: list[int]) -> dict[str, str]:
    """The NDJSON text of a batch of patients, per resource type. Runs in this process or in a
    forked worker; every line is a resource built and serialised by fhir.resources. Read from
    the read replica if there is one (said here, not inherited: a worker may be started anew)."""
    rows = selectors.fhir_patients(_SCOPE.filter(pk__in=ids)).order_by("pk")
    lines: dict[str, list[str]] = {kind: [] for kind in fhir.RESOURCE_TYPES}
    with replica_reads():
        for kind, line in fhir.ndjson_lines(rows):
            lines[kind].append(line)
    reset_queries()  # with DEBUG on, Django would keep every query of the run
    return {kind: "".join(f"{line}\n" for line in found) for kind, found in lines.items()}


class Command(BaseCommand):
    help = ("Write every patient of the named clinics as FHIR R4 NDJSON (one file per resource "
            "type) into DIR, as USERNAME (a data manager or reviewer there).")
    needs = access.REPORT

    @staticmethod
    def example_args(out_dir: Path) -> list[str]:
        return ["--out", str(out_dir)]

    def add_arguments(self, parser: Any) -> None:
        add_site_argument(parser)
        parser.add_argument("--out", required=True, metavar="DIR",
                            help="folder to write into (created if its parent exists)")
        parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, metavar="N",
                            help=f"patients per batch (default {DEFAULT_BATCH}); memory grows "
                                 "with the batch, not with the registry")
        parser.add_argument("--force", action="store_true",
                            help="replace NDJSON files already in DIR")
        parser.add_argument("--workers", type=int, default=1, metavar="N",
                            help="processes building resources in parallel (default 1); the "
                                 "files are the same whatever the number")
        add_as_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        user = command_user(options["username"])
        sites = report_sites(user, options["site"])
        batch = options["batch"]
        if batch < 1:
            raise CommandError("--batch: give a number of patients of at least 1.")
        workers = options["workers"]
        if not 1 <= workers <= 64:
            raise CommandError("--workers: give a number of processes from 1 to 64.")
        out = self._out_dir(Path(options["out"]), force=options["force"])
        patients = selectors.report_patients(user, sites)
        with replica_reads():
            total = patients.count()
        started = time.monotonic()
        previous_umask = os.umask(0o077)  # patient data: files private to this account
        parts: dict[str, TextIO] = {}
        try:
            parts = {kind: (out / f"{kind}{PART}").open("w", encoding="utf-8")
                     for kind in fhir.RESOURCE_TYPES}
            log = services.export_started(user=user, kind=ExportKind.FHIR_BULK,
                                          channel="command",
                                          site_codes=[site.code for site in sites])
            counts = dict.fromkeys(fhir.RESOURCE_TYPES, 0)
            done = 0
            for size, text in self._batches(patients, batch, workers):
                for kind, chunk in text.items():
                    parts[kind].write(chunk)
                    counts[kind] += chunk.count("\n")
                done += size
                self._progress(done, total, started)
            for handle in parts.values():
                handle.close()
            for kind in fhir.RESOURCE_TYPES:
                os.replace(out / f"{kind}{PART}", out / f"{kind}{SUFFIX}")
            services.export_finished(log=log, patient_count=done)
        except BaseException:
            for kind, handle in parts.items():
                handle.close()
                (out / f"{kind}{PART}").unlink(missing_ok=True)
            raise
        finally:
            os.umask(previous_umask)
        self._summary(out, sites, done, counts, time.monotonic() - started, workers)

    def _batches(self, patients: Any, batch: int, workers: int
                 ) -> Iterator[tuple[int, dict[str, str]]]:
        """(patients, NDJSON per type) of each batch, in patient id order. Batches are keyset
        pages of ids; with workers, at most two batches per worker are in flight, so memory
        stays bounded whichever side is slower."""
        global _SCOPE
        _SCOPE = patients

        def pages() -> Iterator[list[int]]:
            return id_pages(patients, batch)

        if workers == 1:
            for ids in on_replica(pages()):
                yield len(ids), _render(ids)
            return
        # Forked workers inherit the settings and _SCOPE; each opens its own connection.
        connections.close_all()
        with multiprocessing.get_context("fork").Pool(
                workers, initializer=forget_inherited_connections) as pool:
            pending: deque[tuple[int, Any]] = deque()
            for ids in on_replica(pages()):
                pending.append((len(ids), pool.apply_async(_render, (ids,))))
                if len(pending) >= 2 * workers:
                    size, result = pending.popleft()
                    yield size, result.get()
            while pending:
                size, result = pending.popleft()
                yield size, result.get()

    def _out_dir(self, out: Path, *, force: bool) -> Path:
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out: {out} is a file, not a folder.")
        if not out.exists():
            if not out.parent.is_dir():
                raise CommandError(f"--out: the folder {out.parent} does not exist; create it "
                                   "first (only the last folder of the path is created).")
            out.mkdir(mode=0o700)
        taken = sorted(path.name for path in out.iterdir()
                       if path.name.endswith((SUFFIX, PART)))
        if taken and not force:
            raise CommandError(f"--out: {out} already holds {', '.join(taken[:3])}"
                               f"{' and more' if len(taken) > 3 else ''}; choose an empty "
                               "folder or add --force to replace them.")
        for name in taken:
            (out / name).unlink()
        return out

    def _progress(self, done: int, total: int, started: float) -> None:
        elapsed = max(time.monotonic() - started, 1e-9)
        share = f" of {total:,} ({done / total:.0%})" if total else ""
        self.stderr.write(f"{done:,} patients{share}, {done / elapsed:,.0f} patients/s, "
                          f"peak memory {peak_rss_mb():,.0f} MB")

    def _summary(self, out: Path, sites: list[Any], done: int, counts: dict[str, int],
                 seconds: float, workers: int) -> None:
        size = sum((out / f"{kind}{SUFFIX}").stat().st_size for kind in fhir.RESOURCE_TYPES)
        lines = [f"Wrote {done:,} patient(s) of {', '.join(site.name for site in sites)} to "
                 f"{out} as FHIR R4 NDJSON:"]
        lines += [f"  {kind + SUFFIX:<26} {counts[kind]:>12,} resources"
                  for kind in fhir.RESOURCE_TYPES]
        lines.append(f"  {'total':<26} {sum(counts.values()):>12,} resources, "
                     f"{size / 1e6:,.1f} MB")
        rate = done / seconds if seconds > 0 else 0.0
        lines.append(f"Time {seconds:,.1f} s, {rate:,.1f} patients/s, "
                     f"{sum(counts.values()) / seconds if seconds > 0 else 0:,.0f} resources/s, "
                     f"peak memory {peak_rss_mb():,.0f} MB (maximum resident set size"
                     + (f"; largest of {workers} workers "
                        f"{peak_rss_mb(resource.RUSAGE_CHILDREN):,.0f} MB" if workers > 1
                        else "") + ").")
        self.stdout.write("\n".join(lines))
