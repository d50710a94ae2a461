"""``manage.py reassess`` after a ruleset upgrade: new assessments beside the old ones, which
stay byte for byte as stored; only the latest observation of active lesions of open records;
resumable after an interruption without duplicates; counts and a list of what changed, in
labels; a raised management on the worklist until a clinician decides; who may run it."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assessment import engine, services
from assessment.demo import ATYPICAL_CASE, record_contract_case, record_follow_up
from assessment.models import (
    Assessment,
    Lesion,
    LesionObservation,
    ManagementChange,
    Patient,
    ReassessmentChange,
    ReassessmentRun,
    RunStatus,
    Site,
)
from tests.builders import load_case

OLD_RULESET = "2025.01.1"
CURRENT = engine.RULESET_VERSION
BENIGN = load_case("seed_case_a_pearl_like_heel_nodule.json")["input"]
URGENT = load_case("seed_case_b_extravasation_renal_failure.json")["input"]
VISIT = date(2026, 4, 15)


def make_old(patient: Patient, **changes: Any) -> list[Assessment]:
    """Stand-in for assessments stored before the ruleset was bumped: the patient's rows say
    they were made with an older ruleset (and, with ``changes``, that it read them
    differently)."""
    Assessment.objects.filter(observation__lesion__patient=patient).update(
        ruleset_version=OLD_RULESET, **changes)
    return list(Assessment.objects.filter(observation__lesion__patient=patient))


def patient(record: str, user: User, site: Site, data: dict[str, Any] = BENIGN, *,
            older_by_days: int = 0, visit: date = VISIT) -> Patient:
    """The case's child at the case's age (plus ``older_by_days``) on ``visit``."""
    born = visit - timedelta(days=round(data["patient"]["age_months"] * 30.4375)
                             + older_by_days)
    return record_contract_case(data=data, record_number=record, born=born, visit=visit,
                                label="right heel", user=user, site=site)


def stored_rows() -> dict[int, tuple[Any, ...]]:
    """Every assessment row as the database holds it (JSON as stored text on SQLite)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Assessment._meta.db_table} ORDER BY id")
        return {row[0]: row for row in cursor.fetchall()}


def reassess(*args: str) -> str:
    out = io.StringIO()
    call_command("reassess", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def current_of(record: str) -> list[Assessment]:
    return list(Assessment.objects.filter(observation__lesion__patient__record_number=record,
                                          ruleset_version=CURRENT))


@pytest.fixture
def registry(alice: User, charlie: User, north: Site, south: Site) -> dict[str, Any]:
    """North: one lesion each that the new ruleset reads the same, raises, lowers, reads as
    another entity or refuses; one already current; a resolved one; an archived record; a
    follow-up (two observations). South: one old assessment (another clinic)."""
    same = patient("SAME", alice, north)
    make_old(same)
    raised = patient("RAISED", alice, north, URGENT)
    # The old ruleset read it as watchful waiting, due in 12 weeks.
    make_old(raised, management_category="watchful_waiting", urgent=False,
             follow_up_due=VISIT + timedelta(weeks=12))
    Lesion.objects.filter(patient=raised).update(next_follow_up_due=VISIT + timedelta(weeks=12))
    lowered = patient("LOWERED", alice, north)
    make_old(lowered, management_category="refer")
    entity = patient("ENTITY", alice, north)
    make_old(entity, leading_entity="calcified_heel_stick_nodule")
    refused = patient("REFUSED", alice, north)
    (old,) = make_old(refused)
    # A newer contract refuses a field the older one accepted.
    old.input_json = {**old.input_json, "lesion": {**old.input_json["lesion"],
                                                   "size_cm": 0.3}}
    old.save(update_fields=["input_json"])
    patient("CURRENT", alice, north)
    resolved = patient("RESOLVED", alice, north)
    record_follow_up(patient=resolved, on=VISIT + timedelta(weeks=13), status="resolved",
                     changes={}, user=alice)
    make_old(resolved)
    archived = patient("ARCHIVED", alice, north)
    make_old(archived)
    services.patient_archive(patient=archived, user=alice)
    follow = record_contract_case(data=ATYPICAL_CASE, record_number="FOLLOW",
                                  born=date(2025, 1, 1), visit=date(2026, 2, 1),
                                  label="left heel", user=alice, site=north)
    record_follow_up(patient=follow, on=date(2026, 5, 1), status="larger", changes={
        "largest_diameter_mm": Decimal(6), "perpendicular_diameter_mm": Decimal(5),
        "features": ["erythema_around", "tenderness"], "trend": "growing"}, user=alice)
    make_old(follow)
    other = patient("SOUTH", charlie, south)
    make_old(other)
    return {"raised": raised, "follow": follow}


# --- What is re-assessed, and what is never touched ------------------------------------------

def test_new_assessments_stand_beside_the_old_rows_which_stay_byte_for_byte(
        registry, dana: User) -> None:
    before = stored_rows()
    old_history = Assessment.history.filter(id__in=before).count()
    reassess("--as", "dana", "--site", "north")
    after = stored_rows()
    assert {pk: after[pk] for pk in before} == before
    assert Assessment.history.filter(id__in=before).count() == old_history
    new = Assessment.objects.exclude(pk__in=before)
    assert sorted(new.values_list("observation__lesion__patient__record_number", flat=True)) \
        == ["ENTITY", "FOLLOW", "LOWERED", "RAISED", "SAME"]
    for row in new:
        old = Assessment.objects.filter(observation=row.observation, ruleset_version=OLD_RULESET
                                        ).get()
        assert (row.ruleset_version, row.observation_version) == (CURRENT,
                                                                   old.observation_version)
        assert row.input_json == old.input_json and row.age_months == old.age_months
        assert row.output_json == engine.assess(old.input_json)
        assert row.created_by == dana
        trail = row.history.get()
        assert (trail.history_user, trail.history_type) == (dana, "+")
        assert (trail.output_json, trail.ruleset_version, trail.created_at) == (
            row.output_json, CURRENT, row.created_at)


def test_the_audit_trail_page_shows_the_re_assessment(registry, dana, alice_client) -> None:
    reassess("--as", "dana", "--site", "north")
    page = alice_client.get(f"/patients/{registry['raised'].pk}/history/")
    assert page.status_code == 200
    assert "Dana Datamanager" in page.content.decode()


def test_only_the_latest_observation_of_active_lesions_of_open_records(registry, dana) -> None:
    reassess("--as", "dana", "--site", "north")
    for record in ("RESOLVED", "ARCHIVED", "REFUSED", "SOUTH"):
        assert current_of(record) == [], record
    follow = registry["follow"]
    first, latest = LesionObservation.objects.filter(lesion__patient=follow).order_by(
        "encounter__date")
    assert not first.assessments.filter(ruleset_version=CURRENT).exists()
    (new,) = latest.assessments.filter(ruleset_version=CURRENT)
    # The course checks are evaluated again, as when the follow-up was recorded.
    old = latest.assessments.get(ruleset_version=OLD_RULESET)
    assert new.atypical_course and new.course_flags == old.course_flags


def test_a_clinicians_re_run_afterwards_finds_it_done(registry, dana, alice) -> None:
    reassess("--as", "dana", "--site", "north")
    old = Assessment.objects.get(observation__lesion__patient__record_number="SAME",
                                 ruleset_version=OLD_RULESET)
    with pytest.raises(services.Conflict, match="already assessed with the current ruleset"):
        services.assessment_rerun(assessment=old, user=alice)


def test_the_lesion_follows_its_new_assessment(registry, dana) -> None:
    reassess("--as", "dana", "--site", "north")
    lesion = Lesion.objects.get(patient=registry["raised"])
    (new,) = current_of("RAISED")
    assert new.follow_up_due != VISIT + timedelta(weeks=12)
    assert lesion.next_follow_up_due == new.follow_up_due
    assert lesion.history.latest("history_id").history_user == dana


# --- What it says ------------------------------------------------------------------------------

def test_the_summary_counts_and_lists_what_changed_in_words(registry, dana) -> None:
    out = reassess("--as", "dana", "--site", "north")
    run = ReassessmentRun.objects.get()
    assert (run.user, run.site_codes, run.status) == (dana, ["north"], RunStatus.FINISHED)
    assert (run.reassessed, run.unchanged, run.entity_changed, run.management_raised,
            run.management_lowered, run.failed, run.already_current) == (5, 2, 1, 1, 1, 1, 1)
    assert "Re-assessed 5 lesion(s) of North heel clinic with ruleset" in out
    assert "assessments/s" in out and "peak memory" in out
    listed = out[out.index("For review"):]
    assert listed.index("RAISED") < listed.index("REFUSED") < listed.index("LOWERED") \
        < listed.index("ENTITY")
    assert "RAISED · right heel, visit 15 Apr 2026: Management raised: watchful waiting " \
           "to urgent." in out
    assert "Could not be re-assessed: the current ruleset refuses the findings" in out
    assert "lesion size cm" in out
    assert ("Leading entity: Calcified heel-stick nodule (calcinosis after neonatal heel "
            "pricks), now Subepidermal calcified nodule") in out
    # Codes and field paths are not shown (the engine quotes a field it does not know by the
    # name it was stored under: that name is the data, not a code of ours).
    for code in ("watchful_waiting", "calcified_heel_stick", "lesion.size_cm"):
        assert code not in out, code
    changes = ReassessmentChange.objects.filter(run=run)
    assert changes.count() == 4
    refusal = changes.get(assessment__isnull=True)
    assert refusal.lesion.patient.record_number == "REFUSED" and refusal.problem


def test_a_report_file_lists_the_changes_in_labels(registry, dana, tmp_path: Path) -> None:
    report = tmp_path / "changes.csv"
    reassess("--as", "dana", "--site", "north", "--report", str(report))
    rows = list(csv.DictReader(report.open(encoding="utf-8")))
    assert [row["Patient"] for row in rows] == ["RAISED", "REFUSED", "LOWERED", "ENTITY"]
    assert rows[0]["Management before"] == "Watchful waiting"
    assert rows[0]["Management after"] == "Urgent"
    assert rows[0]["Visit"] == "15 Apr 2026"
    assert "_heel_" not in report.read_text(encoding="utf-8")
    with pytest.raises(CommandError, match=r"--report: .* exists"):
        reassess("--as", "dana", "--site", "north", "--report", str(report))


# --- Resuming ----------------------------------------------------------------------------------

def many_old(user: User, site: Site, count: int) -> list[str]:
    records = []
    for n in range(count):
        record = f"MANY-{n}"
        # A distinct age each, so a test can tell which patient the engine is reading.
        made = patient(record, user, site, older_by_days=n)
        make_old(made)
        records.append(record)
    return records


def interrupt_at(monkeypatch: pytest.MonkeyPatch, record: str, error: BaseException) -> None:
    """Stop the run while the engine reads this patient's lesion (inside its batch's
    transaction): Ctrl-C, or a worker dying, at the worst moment."""
    target = Assessment.objects.get(observation__lesion__patient__record_number=record)
    age = target.input_json["patient"]["age_months"]
    real = engine.assess

    def assess(data: Any) -> dict[str, Any]:
        if data["patient"]["age_months"] == age:
            raise error
        return real(data)

    monkeypatch.setattr(engine, "assess", assess)


def test_an_interrupted_run_keeps_whole_batches_and_a_second_run_finishes(
        alice, north, dana, monkeypatch: pytest.MonkeyPatch) -> None:
    records = many_old(alice, north, 5)
    before = stored_rows()
    interrupt_at(monkeypatch, records[2], KeyboardInterrupt())
    with pytest.raises(CommandError, match=r"Interrupted.*run the same command again"):
        reassess("--as", "dana", "--site", "north", "--batch", "1")
    first = ReassessmentRun.objects.get()
    assert first.status == RunStatus.INTERRUPTED and first.reassessed == 2
    assert [bool(current_of(record)) for record in records] == [True, True, False, False,
                                                                False]
    monkeypatch.undo()
    out = reassess("--as", "dana", "--site", "north", "--batch", "2")
    second = ReassessmentRun.objects.exclude(pk=first.pk).get()
    assert (second.reassessed, second.already_current) == (3, 2)
    assert "already assessed with this ruleset (skipped)" in out
    assert all(len(current_of(record)) == 1 for record in records)
    after = stored_rows()
    assert {pk: after[pk] for pk in before} == before
    # A third run finds nothing left to do.
    reassess("--as", "dana", "--site", "north")
    third = ReassessmentRun.objects.latest("id")
    assert (third.reassessed, third.already_current) == (0, 5)


def test_an_engine_error_stops_the_run_naming_the_patient(alice, north, dana,
                                                          monkeypatch) -> None:
    records = many_old(alice, north, 3)
    interrupt_at(monkeypatch, records[1], RuntimeError("a bug"))
    with pytest.raises(CommandError, match=r"MANY-1.*RuntimeError: a bug.*run the same command"):
        reassess("--as", "dana", "--site", "north", "--batch", "2")
    assert not any(current_of(record) for record in records)  # the first batch held both
    assert ReassessmentRun.objects.get().status == RunStatus.INTERRUPTED


def test_a_refusal_is_recorded_once(registry, dana) -> None:
    reassess("--as", "dana", "--site", "north")
    reassess("--as", "dana", "--site", "north")
    assert ReassessmentChange.objects.filter(
        lesion__patient__record_number="REFUSED").count() == 1
    assert ReassessmentRun.objects.latest("id").already_current == 7


@pytest.mark.django_db(transaction=True)
def test_two_workers_interrupted_then_resumed(alice, north, dana, monkeypatch) -> None:
    """Forked workers read committed rows (hence a transactional test). On SQLite the run is
    one process; on PostgreSQL two."""
    records = many_old(alice, north, 6)
    before = stored_rows()
    interrupt_at(monkeypatch, records[3], KeyboardInterrupt())
    err = io.StringIO()
    with pytest.raises(CommandError, match="Interrupted"):
        call_command("reassess", "--as", "dana", "--site", "north", "--batch", "1",
                     "--workers", "2", "--no-progress", stdout=io.StringIO(), stderr=err)
    if connection.vendor == "sqlite":
        assert "one process" in err.getvalue()
    assert current_of(records[3]) == []
    monkeypatch.undo()
    out = reassess("--as", "dana", "--site", "north", "--workers", "2", "--batch", "2")
    if connection.vendor == "postgresql":
        assert "largest of 2 workers" in out
    assert all(len(current_of(record)) == 1 for record in records)
    assert sum(ReassessmentRun.objects.values_list("reassessed", flat=True)) == 6
    after = stored_rows()
    assert {pk: after[pk] for pk in before} == before


# --- The worklist ------------------------------------------------------------------------------

def test_a_raised_management_is_on_the_worklist_until_a_clinician_decides(
        registry, dana, alice, alice_client: Client) -> None:
    page = alice_client.get("/")
    assert "RAISED" not in [row["record"] for row in page.context["urgent"]]
    assert "Management changed by a ruleset update" not in page.content.decode()
    reassess("--as", "dana", "--site", "north")
    page = alice_client.get("/")
    html = page.content.decode()
    (new,) = current_of("RAISED")
    (row,) = page.context["ruleset"]
    assert row["record"] == "RAISED" and row["urgent"] is True
    assert row["reason"] == (f"Management raised by ruleset {CURRENT}: watchful waiting to "
                             "urgent.")
    assert row["assessment_url"] == f"/assessments/{new.pk}/"
    assert "Management changed by a ruleset update" in html
    # Urgent is never hidden: it is in the urgent section too.
    assert "RAISED" in [row["record"] for row in page.context["urgent"]]
    # A lowered management or another entity is for the review list, not the worklist.
    assert [row["record"] for row in page.context["ruleset"]] == ["RAISED"]
    services.assessment_decide(assessment=new, decision="agree", final_subtypes=[],
                               final_entity="", final_management="", reason="", user=alice)
    change = ReassessmentChange.objects.get(assessment=new)
    assert change.acknowledged_by == alice and change.acknowledged_at is not None
    page = alice_client.get("/")
    assert page.context["ruleset"] == [] and page.context["ruleset_count"] == 0
    assert "Management changed by a ruleset update" not in page.content.decode()
    assert "RAISED" in [row["record"] for row in page.context["urgent"]]


def test_an_urgent_result_lowered_by_the_new_ruleset_is_listed_until_a_decision(
        alice, north, dana, alice_client: Client) -> None:
    """It leaves the urgent list, so it is not allowed to leave the worklist unseen."""
    calmer = patient("CALMER", alice, north)
    make_old(calmer, management_category="urgent", urgent=True)
    assert [row["record"] for row in alice_client.get("/").context["urgent"]] == ["CALMER"]
    reassess("--as", "dana", "--site", "north")
    context = alice_client.get("/").context
    assert context["urgent"] == []
    (row,) = context["ruleset"]
    assert row["record"] == "CALMER" and row["urgent"] is False
    assert row["reason"] == (f"Management lowered by ruleset {CURRENT}: urgent to watchful "
                             "waiting; check the new assessment before the urgent one is set "
                             "aside.")
    (new,) = current_of("CALMER")
    services.assessment_decide(assessment=new, decision="agree", final_subtypes=[],
                               final_entity="", final_management="", reason="", user=alice)
    assert alice_client.get("/").context["ruleset"] == []


def test_a_later_visit_takes_a_raised_lesion_off_that_list(registry, dana, alice,
                                                          alice_client: Client) -> None:
    reassess("--as", "dana", "--site", "north")
    assert alice_client.get("/").context["ruleset_count"] == 1
    record_follow_up(patient=registry["raised"], on=VISIT + timedelta(days=3),
                     status="present", changes={}, user=alice)
    assert alice_client.get("/").context["ruleset_count"] == 0


def test_another_clinics_raised_lesions_are_not_listed(registry, dana, charlie) -> None:
    reassess("--as", "dana", "--site", "north")
    south = Client()
    south.force_login(charlie)
    assert south.get("/").context["ruleset"] == []


def test_the_worklist_query_count_does_not_grow_with_raised_lesions(
        alice, north, dana, alice_client: Client) -> None:
    def queries() -> int:
        from django.core.cache import cache

        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get("/").status_code == 200
        return len(captured.captured_queries)

    def raise_some(first: int, last: int) -> None:
        for n in range(first, last):
            made = patient(f"UP-{n}", alice, north, URGENT, older_by_days=n)
            make_old(made, management_category="treat", urgent=False)
        reassess("--as", "dana", "--site", "north")

    raise_some(0, 1)
    assert alice_client.get("/").context["ruleset_count"] == 1
    one = queries()
    raise_some(1, 4)
    assert alice_client.get("/").context["ruleset_count"] == 4
    assert queries() == one


# --- Who may -----------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["alice", "victor"])
def test_clinicians_and_viewers_are_refused(registry, who: str, request) -> None:
    request.getfixturevalue(who)
    with pytest.raises(CommandError, match=r"--site: no clinic 'north' that .* may re-assess"):
        reassess("--as", who, "--site", "north")
    with pytest.raises(CommandError, match=r"--all-sites: .* may re-assess no clinic"):
        reassess("--as", who, "--all-sites")
    assert not ReassessmentRun.objects.exists() and current_of("SAME") == []


def test_a_reviewer_may_and_all_sites_means_their_clinics(registry, rita) -> None:
    out = reassess("--as", "rita", "--all-sites")
    assert "of North heel clinic with" in out
    assert current_of("SOUTH") == [] and len(current_of("SAME")) == 1
    assert ReassessmentRun.objects.get().user == rita


def test_a_superuser_may_name_any_clinic(registry) -> None:
    User.objects.create_superuser("root", password="root-pass-1234")
    reassess("--as", "root", "--site", "south")
    assert len(current_of("SOUTH")) == 1 and current_of("SAME") == []


def test_bad_arguments_are_named(registry, dana, tmp_path: Path) -> None:
    for args, field in ((["--batch", "0"], "--batch"), (["--workers", "0"], "--workers"),
                        (["--list", "-1"], "--list"),
                        (["--report", str(tmp_path / "missing" / "x.csv")], "--report")):
        with pytest.raises(CommandError, match=field):
            reassess("--as", "dana", "--site", "north", *args)
    assert not ReassessmentRun.objects.exists()


def test_the_management_change_labels_read_as_words() -> None:
    assert ManagementChange.RAISED.label == "Raised"
