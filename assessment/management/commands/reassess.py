"""``python manage.py reassess --site CODE [--site CODE ...] | --all-sites --as USERNAME``:
after a ruleset upgrade, re-run the engine on the latest observation of every active lesion
whose current assessment was made with an older ruleset, and say what changed.

Design (assessment/reassessment.py has the details; docs/PERFORMANCE.md, "Re-assessment after
a ruleset upgrade", the figures):

- Input: the engine gets the input stored with the lesion's current assessment and the age
  it was made with, not the records rebuilt as they are now, so the only difference is the
  ruleset (as a clinician's "Re-run with the current ruleset" does). Course checks at a
  follow-up are evaluated again.
- Never overwriting: each new assessment is a new row beside the old one, which is not
  touched; the unique key (observation, observation version, ruleset version) makes a second
  one with the same ruleset impossible.
- Who may: a reviewer or data manager of every clinic named (access.REASSESS), or a
  superuser; the run is logged (ReassessmentRun: who, clinics, ruleset, counts) and the new
  assessments carry that user's name, in their audit trail too. Archived records are left
  out (they can be read, not changed).
- Resumable: one transaction per batch of patients (keyset pages of patient ids), taken
  after locking those patients' rows as every clinical write does. Ctrl-C, a killed worker
  or an error leaves whole batches only; running the command again skips every lesion
  already assessed with this ruleset (or whose refusal was recorded) and finishes the rest.
- Refused findings (a newer contract may refuse what an older one accepted) are recorded
  and reported, never stopping the run. Any other error stops it (the batch saved nothing)
  with the patient named: that is a bug to fix before resuming.
- Parallel: ``--workers N`` forked processes, each with its own connection, each batch its
  own transaction, at most two batches per worker in flight (bounded memory). The default
  is the number of cores on PostgreSQL. On SQLite the run is one process: SQLite takes one
  writer at a time, so more processes would queue for the lock, not go faster.
- Review: lesions whose leading entity or management changed, or that could not be
  re-assessed, are stored (ReassessmentChange), listed at the end (labels, no codes), in
  the admin ("Reassessment changes", read-only, each reviewer's clinics only) and, with
  ``--report FILE``, as CSV. A raised management is on the clinicians' worklist
  ("Management raised by a ruleset update") until a clinician records a decision on the new
  assessment; an urgent result is in the worklist's urgent section at once.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import resource
import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.db.models import Case, IntegerField, Q, Value, When

from assessment import access, reassessment, selectors
from assessment.management.people import add_as_argument, command_user
from assessment.management.workers import forget_inherited_connections, peak_rss_mb
from assessment.models import ReassessmentChange, ReassessmentRun, RunStatus
from assessment.text import spreadsheet_safe

DEFAULT_BATCH = 200
DEFAULT_LISTED = 20


def _work(run_id: int, patient_ids: list[int], user: Any) -> reassessment.BatchResult:
    """One batch, in this process or in a forked worker."""
    return reassessment.reassess_batch(run_id=run_id, patient_ids=patient_ids, user=user)


def _day(on: Any) -> str:
    return f"{on.day} {on:%b %Y}"  # "9 Nov 2026", the app's date format


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Command(BaseCommand):
    help = ("After a ruleset upgrade, re-assess the latest observation of every active lesion "
            "of the named clinics whose assessment was made with an older ruleset (new "
            "assessments beside the old ones), as USERNAME (a reviewer or data manager there), "
            "and list what changed.")
    needs = access.REASSESS
    log_model = ReassessmentRun  # where a run is logged (tests/integration/test_command_access)

    @staticmethod
    def example_args(out_dir: Path) -> list[str]:
        return ["--no-progress", "--workers", "1"]

    def add_arguments(self, parser: Any) -> None:
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--site", action="append", metavar="CODE",
                           help="clinic code (repeat for several clinics)")
        where.add_argument("--all-sites", action="store_true",
                           help="every clinic USERNAME may re-assess")
        add_as_argument(parser)
        parser.add_argument("--workers", type=int, default=None, metavar="N",
                            help="processes re-assessing batches in parallel (default: the "
                                 "number of cores on PostgreSQL; always 1 on SQLite)")
        parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, metavar="N",
                            help=f"patients per batch and transaction (default "
                                 f"{DEFAULT_BATCH}); memory grows with the batch, not with "
                                 "the registry")
        parser.add_argument("--report", metavar="FILE",
                            help="also write the changes of this run as CSV to FILE (a new "
                                 "file)")
        parser.add_argument("--list", type=int, default=DEFAULT_LISTED, metavar="N",
                            dest="listed",
                            help=f"changes listed at the end (default {DEFAULT_LISTED}); all "
                                 "of them are in the admin and the --report file")
        parser.add_argument("--no-progress", action="store_true",
                            help="no progress bar (it is shown only on a terminal anyway)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = command_user(options["username"])
        sites = self._sites(user, options["site"])
        batch = options["batch"]
        if batch < 1:
            raise CommandError("--batch: give a number of patients of at least 1.")
        if options["listed"] < 0:
            raise CommandError("--list: give a number of changes of 0 or more.")
        workers = self._workers(options["workers"])
        report = self._report_path(options["report"])

        total = reassessment.scope_lesion_count(sites)
        run = reassessment.run_start(user=user, sites=sites)
        started = time.monotonic()
        progress = self._progress_bar(total, quiet=options["no_progress"])
        done = reassessment.BatchResult()
        try:
            for result in self._batches(run.pk, sites, batch, workers, user):
                done.add(result)
                progress.update(result.lesions)
                progress.set_postfix(changed=done.reassessed - done.unchanged,
                                     refused=done.failed, refresh=False)
        except BaseException as error:
            progress.close()
            run = reassessment.run_end(run=run, status=RunStatus.INTERRUPTED)
            self.stdout.write(self._summary(run, sites, done, time.monotonic() - started,
                                            workers, listed=0, report=None))
            how = "Interrupted" if isinstance(error, KeyboardInterrupt) else "Stopped"
            if isinstance(error, KeyboardInterrupt):
                detail = ""
            elif isinstance(error, BrokenProcessPool):
                detail = ": a worker process ended abruptly (killed, or out of memory)"
            else:
                detail = f": {str(error).rstrip('.')}"
            raise CommandError(
                f"{how}{detail}. The batches saved before are kept (whole batches only); run "
                "the same command again to re-assess the rest.") from error
        progress.close()
        run = reassessment.run_end(run=run, status=RunStatus.FINISHED)
        seconds = time.monotonic() - started
        if report is not None:
            self._write_report(run, report)
        self.stdout.write(self._summary(run, sites, done, seconds, workers,
                                        listed=options["listed"], report=report))

    # --- Arguments ------------------------------------------------------------------------

    def _sites(self, user: Any, codes: list[str] | None) -> list[Any]:
        sites = selectors.reassess_sites(user, codes)
        who = user.get_username()
        rule = (f"{access.ACTION_WORDS[access.REASSESS]} needs a reviewer or data manager "
                "role there")
        if codes is not None:
            missing = sorted(set(codes) - {site.code for site in sites})
            if missing:
                raise CommandError(f"--site: no clinic '{missing[0]}' that {who} may "
                                   f"re-assess ({rule}).")
        elif not sites:
            raise CommandError(f"--all-sites: {who} may re-assess no clinic ({rule}).")
        return sites

    def _workers(self, asked: int | None) -> int:
        if asked is not None and not 1 <= asked <= 64:
            raise CommandError("--workers: give a number of processes from 1 to 64.")
        database = connections["default"]
        if database.vendor == "sqlite":
            if asked and asked > 1:
                self.stderr.write("SQLite takes one writer at a time: re-assessing in one "
                                  "process.")
            return 1
        if database.in_atomic_block:
            # Called inside a transaction (from code, or a test): forked workers, with their
            # own connections, could not see its rows, and closing it to fork would end it.
            if asked and asked > 1:
                self.stderr.write("Inside a transaction: re-assessing in one process.")
            return 1
        return asked or default_workers()

    def _report_path(self, given: str | None) -> Path | None:
        if given is None:
            return None
        path = Path(given)
        if path.exists():
            raise CommandError(f"--report: {path} exists; give the name of a new file.")
        if not path.parent.is_dir():
            raise CommandError(f"--report: the folder {path.parent} does not exist.")
        return path

    # --- The work ---------------------------------------------------------------------------

    def _progress_bar(self, total: int, *, quiet: bool) -> Any:
        from tqdm import tqdm

        stream = getattr(self.stderr, "_out", sys.stderr)
        shown = not quiet and hasattr(stream, "isatty") and stream.isatty()
        return tqdm(total=total, unit=" lesions", file=stream, disable=not shown,
                    dynamic_ncols=True, mininterval=0.5, desc="Re-assessing")

    def _batches(self, run_id: int, sites: list[Any], batch: int, workers: int, user: Any
                 ) -> Iterator[reassessment.BatchResult]:
        """Each batch's result, as batches finish. With workers, at most two batches per
        worker are in flight, so memory stays bounded whichever side is slower; on any
        error or Ctrl-C the batches not yet started are cancelled and the running ones end
        (committed whole or rolled back whole) before this returns."""
        pages = reassessment.patient_pages(sites, batch)
        if workers == 1:
            for ids in pages:
                yield _work(run_id, ids, user)
            return
        # Forked workers inherit the settings; each opens its own connection.
        connections.close_all()
        executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                       initializer=forget_inherited_connections)
        pending: deque[Future[reassessment.BatchResult]] = deque()
        try:
            for ids in pages:
                pending.append(executor.submit(_work, run_id, ids, user))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    # --- What is said at the end ----------------------------------------------------------------

    def _changes(self, run: ReassessmentRun) -> Any:
        """This run's changes, most pressing first: raised (urgent first), refused, lowered,
        then a changed leading entity alone."""
        rank = Case(When(management_change="raised", management="urgent", then=Value(0)),
                    When(management_change="raised", then=Value(1)),
                    When(~Q(problem=""), then=Value(2)),
                    When(management_change="lowered", then=Value(3)),
                    default=Value(4), output_field=IntegerField())
        # Not the engine documents of the assessment re-run: only its visit is shown.
        return ReassessmentChange.objects.filter(run=run).select_related(
            "lesion__patient", "previous__observation__encounter").defer(
            "previous__input_json", "previous__output_json").order_by(rank, "id")

    def _summary(self, run: ReassessmentRun, sites: list[Any], done: Any, seconds: float,
                 workers: int, *, listed: int, report: Path | None) -> str:
        clinics = ", ".join(site.name for site in sites)
        verb = "Re-assessed" if run.status == RunStatus.FINISHED else "Before stopping, saved"
        lines = [f"{verb} {run.reassessed:,} lesion(s) of {clinics} with ruleset "
                 f"{run.ruleset_version}; the earlier assessments are kept unchanged."]
        rows = (("same leading entity and management", run.unchanged),
                ("leading entity changed", run.entity_changed),
                ("management raised", run.management_raised),
                ("management lowered", run.management_lowered),
                ("refused by the current ruleset (not re-assessed)", run.failed),
                ("already assessed with this ruleset (skipped)", run.already_current))
        lines += [f"  {words:<50} {count:>10,}" for words, count in rows]
        if done.not_assessed:
            lines.append(f"  {done.not_assessed:,} active lesion(s) had no assessment of their "
                         "latest observation to re-run.")
        if done.newer_ruleset:
            lines.append(f"  {done.newer_ruleset:,} lesion(s) were assessed with a ruleset "
                         f"newer than {run.ruleset_version} and were left alone.")
        changed = run.entity_changed + run.management_raised + run.management_lowered
        if listed and (changed or run.failed):
            changes = list(self._changes(run)[:listed])
            lines.append("For review (raised first):")
            lines += [f"  {self._where(change)}: {reassessment.change_words(change)}"
                      for change in changes]
            total = ReassessmentChange.objects.filter(run=run).count()
            if total > len(changes):
                lines.append(f"  … and {total - len(changes):,} more.")
            lines.append("All of them: admin, Reassessment changes"
                         + (f"; and {report}." if report else "."))
        rate = run.reassessed / seconds if seconds > 0 else 0.0
        memory = f"peak memory {peak_rss_mb():,.0f} MB"
        if workers > 1:
            memory += (f"; largest of {workers} workers "
                       f"{peak_rss_mb(resource.RUSAGE_CHILDREN):,.0f} MB")
        lines.append(f"Time {seconds:,.1f} s for {done.lesions:,} active lesion(s) of "
                     f"{done.patients:,} patient(s), {rate:,.1f} assessments/s, {memory} "
                     f"(maximum resident set size), {workers} process(es).")
        return "\n".join(lines)

    @staticmethod
    def _where(change: ReassessmentChange) -> str:
        return (f"{change.lesion.patient.record_number} · {change.lesion}, visit "
                f"{_day(change.previous.observation.encounter.date)}")

    def _write_report(self, run: ReassessmentRun, path: Path) -> None:
        previous_umask = os.umask(0o077)  # record numbers: a file private to this account
        try:
            with path.open("x", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["Patient", "Lesion", "Visit", "What changed",
                                 "Leading entity before", "Leading entity after",
                                 "Management before", "Management after", "Ruleset"])
                for change in self._changes(run).iterator(chunk_size=1000):
                    writer.writerow([spreadsheet_safe(str(cell)) for cell in (
                        change.lesion.patient.record_number, change.lesion,
                        _day(change.previous.observation.encounter.date),
                        reassessment.change_words(change),
                        reassessment.entity_label(change.previous_entity),
                        reassessment.entity_label(change.entity) if change.entity else "",
                        reassessment.management_label(change.previous_management),
                        reassessment.management_label(change.management),
                        change.ruleset_version)])
        finally:
            os.umask(previous_umask)
