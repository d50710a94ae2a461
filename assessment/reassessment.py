"""Re-assessment after a ruleset upgrade (``manage.py reassess``): the writes, one batch of
patients per transaction.

What is re-run: for every active lesion of a non-archived patient in the chosen clinics, the
newest assessment of the current version of its latest observation (the lesion's current
assessment, as the worklist and ``services._lesion_follows`` read it), when that assessment
was made with an older ruleset. The engine gets the input stored with that assessment, not the
records as they are now, and the age it was made with: the only difference is the ruleset, as
in ``services.assessment_rerun`` (a later edit of, say, the child's history was not part of
that visit's assessment and is not slipped into it here). Course checks at a follow-up are
evaluated again, as when recorded, since the new ruleset may state the expected course
differently.

What is written, in the batch's transaction, after locking the batch's patient rows in id
order (the lock ``services`` takes before every write for a child, so a clinician's save and a
batch come one after the other): the new assessments beside the old ones, which are never
modified (the unique key observation, observation version, ruleset version makes a second
one impossible); their audit-trail rows; the lesions' due date and course flag where the new
assessment moves them; a ``ReassessmentChange`` row per lesion whose leading entity or
management changed, or whose stored findings the current ruleset refuses (recorded, never
stopping the run); the run's counters; and the worklist's change counter.

Resuming is skipping: a lesion whose current observation already has an assessment with this
ruleset (made by an earlier run, by a clinician's re-run or at a visit since the upgrade), or
whose refusal was recorded, is counted as done and left alone. An interrupted run has saved
whole batches only, so running the command again finishes the rest.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, reset_queries, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from . import engine, services
from .engine import vocab
from .engine.knowledge import ENTITIES
from .management.workers import id_pages
from .models import (
    Assessment,
    Lesion,
    LesionObservation,
    LesionStatus,
    ManagementCategory,
    ManagementChange,
    Patient,
    ReassessmentChange,
    ReassessmentRun,
    Site,
)

RULESET = engine.RULESET_VERSION


class BatchError(Exception):
    """A batch stopped for a reason other than findings the ruleset refuses (a bug, a lost
    database connection); the batch saved nothing. The message names the patient."""


@dataclass
class BatchResult:
    """What one batch did (or several, added up)."""

    patients: int = 0
    lesions: int = 0  # active lesions looked at
    reassessed: int = 0
    unchanged: int = 0
    entity_changed: int = 0
    management_raised: int = 0
    management_lowered: int = 0
    failed: int = 0
    already_current: int = 0
    newer_ruleset: int = 0  # made by a newer ruleset than this code's: left alone
    not_assessed: int = 0  # no assessment of the latest observation to re-run

    def add(self, other: BatchResult) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


# The run's counters, added by each batch in its own transaction.
RUN_COUNTERS = ("reassessed", "unchanged", "entity_changed", "management_raised",
                "management_lowered", "failed", "already_current")


def ruleset_key(version: str) -> tuple[int, ...]:
    """"2026.11.3" -> (2026, 11, 3), so "2026.9.1" sorts before "2026.11.3". A version that
    is not dotted numbers sorts first (treated as older)."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return ()


def entity_label(code: str) -> str:
    entity = ENTITIES.get(code)
    return entity.label if entity else vocab.words(code).capitalize()


def management_label(code: str) -> str:
    return ManagementCategory(code).label if code in ManagementCategory.values else ""


def change_words(change: ReassessmentChange | dict[str, Any]) -> str:
    """What changed, in words: "Management raised: watchful waiting to urgent. Leading entity:
    A, now B." Accepts a row or its values()."""
    get = change.get if isinstance(change, dict) else lambda name: getattr(change, name)
    if get("problem"):
        return "Could not be re-assessed: " + get("problem")
    parts = []
    if get("management_change"):
        parts.append(f"Management {ManagementChange(get('management_change')).label.lower()}: "
                     f"{management_label(get('previous_management')).lower()} to "
                     f"{management_label(get('management')).lower()}.")
    if get("entity_changed"):
        parts.append(f"Leading entity: {entity_label(get('previous_entity'))}, now "
                     f"{entity_label(get('entity'))}.")
    return " ".join(parts)


def problem_words(invalid: engine.InvalidInput) -> str:
    """The engine's field errors as a sentence a reviewer reads ("lesion colour: ..."), not
    as field paths."""
    parts = []
    for error in invalid.errors:
        where = " ".join(vocab.words(part) for part in re.split(r"[.\[\]]+", error.field)
                         if part and not part.isdigit())
        parts.append(f"{where}: {error.message}" if where else error.message)
    return (f"the current ruleset refuses the findings stored with the assessment "
            f"({'; '.join(parts)}). Correct the observation to assess it again.")


# --- The run --------------------------------------------------------------------------------

def run_start(*, user: AbstractBaseUser, sites: list[Site]) -> ReassessmentRun:
    return ReassessmentRun.objects.create(user=user, ruleset_version=RULESET,
                                          site_codes=sorted(site.code for site in sites))


def run_end(*, run: ReassessmentRun, status: str) -> ReassessmentRun:
    ReassessmentRun.objects.filter(pk=run.pk).update(status=status, finished_at=timezone.now())
    run.refresh_from_db()
    return run


def scope_patients(sites: list[Site]) -> QuerySet[Patient]:
    """The patients whose lesions a run looks at, in id order for keyset batches. Archived
    records are left out: they can be read but not changed (as ``assessment_rerun`` refuses
    them)."""
    return Patient.objects.filter(site__in=sites, archived_at__isnull=True).order_by("pk")


def scope_lesion_count(sites: list[Site]) -> int:
    """The active lesions of those patients (the progress bar's total)."""
    return Lesion.objects.filter(clinic__in=sites, status=LesionStatus.ACTIVE,
                                 patient__archived_at__isnull=True).count()


def patient_pages(sites: list[Site], batch: int) -> Iterable[list[int]]:
    """Keyset pages of patient ids: each page one query on the primary key index, however
    far into the registry."""
    return id_pages(scope_patients(sites), batch)


# --- One batch --------------------------------------------------------------------------------

@dataclass
class _Candidate:
    lesion: Lesion
    observation: LesionObservation
    previous: LesionObservation | None
    old: Assessment


def reassess_batch(*, run_id: int, patient_ids: list[int], user: AbstractBaseUser
                   ) -> BatchResult:
    """Re-assess the active lesions of these patients with the current ruleset, in one
    transaction (see the module docstring). A fixed number of queries whatever the batch's
    size; with DEBUG on, the queries are not kept."""
    try:
        with transaction.atomic():
            result = _reassess_batch(run_id=run_id, patient_ids=patient_ids, user=user)
    finally:
        reset_queries()
    return result


def _reassess_batch(*, run_id: int, patient_ids: list[int], user: AbstractBaseUser
                    ) -> BatchResult:
    result = BatchResult()
    # Under the lock, archived-since patients drop out and every read below sees the rows as
    # the last writer left them.
    patients = {patient.pk: patient for patient in Patient.objects.select_for_update().filter(
        pk__in=patient_ids, archived_at__isnull=True).only(
        "id", "date_of_birth", "record_number").order_by("pk")}
    result.patients = len(patients)
    lesions = list(Lesion.objects.filter(patient_id__in=list(patients),
                                         status=LesionStatus.ACTIVE).order_by("pk"))
    result.lesions = len(lesions)
    candidates = _candidates(lesions, result)
    # Refusals recorded by an earlier run are done too (the engine would refuse them again).
    refused = set(ReassessmentChange.objects.filter(
        previous_id__in=[c.old.pk for c in candidates], ruleset_version=RULESET
    ).values_list("previous_id", flat=True)) if candidates else set()
    result.already_current += len(refused)
    candidates = [c for c in candidates if c.old.pk not in refused]
    earlier = _earlier_assessments([c.previous.pk for c in candidates if c.previous])

    now = timezone.now()
    new_rows: list[Assessment] = []
    moved: list[Lesion] = []
    changes: list[ReassessmentChange] = []
    for candidate in candidates:
        old = candidate.old
        try:
            output = engine.assess(old.input_json)
        except engine.InvalidInput as invalid:
            result.failed += 1
            changes.append(ReassessmentChange(
                lesion=candidate.lesion, previous=old, ruleset_version=RULESET,
                previous_entity=old.leading_entity,
                previous_management=old.management_category, problem=problem_words(invalid)))
            continue
        except Exception as error:
            record = patients[candidate.lesion.patient_id].record_number
            raise BatchError(f"the engine stopped on a lesion of patient {record} "
                             f"({type(error).__name__}: {error}); nothing of its batch was "
                             "saved") from error
        row = services._assessment_row(
            observation=candidate.observation, version=old.observation_version,
            data=old.input_json, output=output, age_months=old.age_months,
            seen_on=candidate.observation.encounter.date, user=user)
        if candidate.previous is not None:
            found = earlier.get(candidate.previous.pk)
            flags = services._course_flags(
                previous=candidate.previous, current=candidate.observation,
                patient=patients[candidate.lesion.patient_id],
                window=found["window"] if found else None,
                previous_management=found["management_category"] if found else "",
                previous_due=found["follow_up_due"] if found else None)
            if flags:
                row.course_flags, row.atypical_course = flags, True
        new_rows.append(row)
        result.reassessed += 1
        change = _change(candidate.lesion, old, row)
        if change is None:
            result.unchanged += 1
        else:
            result.entity_changed += change.entity_changed
            result.management_raised += change.management_change == ManagementChange.RAISED
            result.management_lowered += change.management_change == ManagementChange.LOWERED
            changes.append(change)
        lesion = candidate.lesion
        # The lesion follows its newest assessment (services._lesion_follows); a lesion the
        # new ruleset leaves as it was is not written at all.
        if (lesion.next_follow_up_due, lesion.atypical_course) != (row.follow_up_due,
                                                                   row.atypical_course):
            lesion.next_follow_up_due = row.follow_up_due
            lesion.atypical_course = row.atypical_course
            lesion.updated_by, lesion.updated_at = user, now
            moved.append(lesion)

    _save(run_id=run_id, rows=new_rows, moved=moved, changes=changes, user=user, now=now)
    ReassessmentRun.objects.filter(pk=run_id).update(
        patient_count=F("patient_count") + result.patients,
        **{name: F(name) + getattr(result, name) for name in RUN_COUNTERS
           if getattr(result, name)})
    if new_rows:
        # Last, so the shared counter row is locked only for the commit.
        services.worklist_changed()
    return result


def _candidates(lesions: list[Lesion], result: BatchResult) -> list[_Candidate]:
    """Each lesion's latest observation (and the one before), and the assessment to re-run:
    the newest of the observation's current version, unless this ruleset (or a newer one)
    already assessed it. Two queries."""
    if not lesions:
        return []
    by_lesion: dict[int, list[LesionObservation]] = defaultdict(list)
    observations = LesionObservation.objects.filter(
        lesion_id__in=[lesion.pk for lesion in lesions]).select_related("encounter").only(
        "id", "lesion_id", "version", "course_status", "largest_diameter_mm",
        "perpendicular_diameter_mm", "surface", "color", "features", "encounter__id",
        "encounter__date").order_by("lesion_id", "-encounter__date", "-id")
    for observation in observations:
        if len(by_lesion[observation.lesion_id]) < 2:
            by_lesion[observation.lesion_id].append(observation)
    latest = {seen[0].pk: seen[0] for seen in by_lesion.values()}
    assessments: dict[int, list[Assessment]] = defaultdict(list)
    for assessment in Assessment.objects.filter(observation_id__in=list(latest)).only(
            "id", "observation_id", "observation_version", "ruleset_version", "created_at",
            "input_json", "age_months", "leading_entity", "management_category"):
        assessments[assessment.observation_id].append(assessment)
    found = []
    for lesion in lesions:
        seen = by_lesion.get(lesion.pk)
        if not seen:
            result.not_assessed += 1
            continue
        observation = seen[0]
        current = [a for a in assessments[observation.pk]
                   if a.observation_version == observation.version]
        if not current:
            result.not_assessed += 1
            continue
        if any(a.ruleset_version == RULESET for a in current):
            result.already_current += 1
            continue
        old = max(current, key=lambda a: (a.created_at, a.pk))
        if ruleset_key(old.ruleset_version) > ruleset_key(RULESET):
            result.newer_ruleset += 1
            continue
        found.append(_Candidate(lesion=lesion, observation=observation,
                                previous=seen[1] if len(seen) > 1 else None, old=old))
    return found


def _earlier_assessments(observation_ids: list[int]) -> dict[int, dict[str, Any]]:
    """{observation id: what the course checks read of its newest assessment}, in one query
    that fetches only the expected window of each stored output, not the whole document."""
    if not observation_ids:
        return {}
    newest: dict[int, dict[str, Any]] = {}
    for row in Assessment.objects.filter(observation_id__in=observation_ids).values(
            "id", "observation_id", "created_at", "management_category", "follow_up_due",
            window=F("output_json__expected_course__resolution_expected_by_age_months")):
        held = newest.get(row["observation_id"])
        if held is None or (row["created_at"], row["id"]) > (held["created_at"], held["id"]):
            newest[row["observation_id"]] = row
    return newest


def _change(lesion: Lesion, old: Assessment, new: Assessment) -> ReassessmentChange | None:
    rank = vocab.MANAGEMENT_RANK
    before, after = old.management_category, new.management_category
    direction = ManagementChange.SAME
    if rank.get(after, 0) > rank.get(before, 0):
        direction = ManagementChange.RAISED
    elif rank.get(after, 0) < rank.get(before, 0):
        direction = ManagementChange.LOWERED
    entity_changed = old.leading_entity != new.leading_entity
    if not entity_changed and direction == ManagementChange.SAME:
        return None
    return ReassessmentChange(
        lesion=lesion, previous=old, assessment=new,
        ruleset_version=RULESET, previous_entity=old.leading_entity,
        entity=new.leading_entity, previous_management=before, management=after,
        entity_changed=entity_changed, management_change=direction)


def _save(*, run_id: int, rows: list[Assessment], moved: list[Lesion],
          changes: list[ReassessmentChange], user: AbstractBaseUser, now: Any) -> None:
    """The batch's rows, each with its audit-trail row, in a fixed number of statements."""
    from simple_history.utils import bulk_create_with_history, bulk_update_with_history

    reason = f"Re-assessed with ruleset {RULESET} after an upgrade"
    if rows:
        _insert(Assessment, rows)
        # COPY returns no ids: read them back by the unique key.
        ids = {(observation, version): pk for observation, version, pk in
               Assessment.objects.filter(observation_id__in=[row.observation_id for row in rows],
                                         ruleset_version=RULESET).values_list(
                   "observation_id", "observation_version", "id")}
        for row in rows:
            row.pk = ids[(row.observation_id, row.observation_version)]
        _history_copied(Assessment, [row.pk for row in rows], user=user, now=now,
                        reason=reason)
    if moved:
        bulk_update_with_history(
            moved, Lesion, ["next_follow_up_due", "atypical_course", "updated_by",
                            "updated_at"], batch_size=500, default_user=user,
            default_change_reason=reason, default_date=now)
    for change in changes:
        change.run_id = run_id
        if change.assessment is not None:
            change.assessment_id = change.assessment.pk
    if changes:
        bulk_create_with_history(changes, ReassessmentChange, batch_size=500,
                                 default_user=user, default_change_reason=reason,
                                 default_date=now)


def _history_copied(model: type, ids: list[int], *, user: AbstractBaseUser, now: Any,
                    reason: str) -> None:
    """Audit-trail rows ("created", by ``user``) for the just-inserted rows ``ids``, copied
    by the database from the rows themselves (INSERT ... SELECT): the same row simple-history
    writes on save, without sending each engine document over the connection a second
    time."""
    history = model.history.model
    tracked = [field.column for field in history.tracked_fields]
    quote = connection.ops.quote_name
    extra = ["history_date", "history_change_reason", "history_type", "history_user_id"]
    sql = (f"INSERT INTO {quote(history._meta.db_table)} "
           f"({', '.join(quote(name) for name in [*tracked, *extra])}) "
           f"SELECT {', '.join(quote(name) for name in tracked)}, %s, %s, %s, %s "
           f"FROM {quote(model._meta.db_table)} "
           f"WHERE {quote(model._meta.pk.column)} IN ({', '.join(['%s'] * len(ids))})")
    history_date = history._meta.get_field("history_date")
    with connection.cursor() as cursor:
        cursor.execute(sql, [history_date.get_db_prep_save(now, connection), reason, "+",
                             user.pk, *ids])


def _insert(model: type, rows: list[Any]) -> None:
    """Insert rows without returning ids. On PostgreSQL they are streamed with COPY: quoting
    hundreds of 10 kB engine documents into a multi-row INSERT costs more than the engine
    (the same finding as ``synth``); elsewhere a plain bulk insert."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows, batch_size=200)
        return
    columns = [f for f in model._meta.concrete_fields if not f.primary_key]
    names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([f.get_db_prep_save(f.pre_save(row, True), connection)
                            for f in columns])
