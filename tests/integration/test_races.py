"""Writes to one child's record that race: several people submit at the same moment.

Every write re-checks its preconditions inside its transaction, after locking the patient's row
(then the lesion rows), so requests that race must end as if they had come one after the
other: one wins, every other is refused with a message saying why, nothing is saved twice, and
the record equals what the same requests sent one after another leave.

How a race is staged:
- each thread has its own Client and its own database connection (closed at the end), and a
  barrier makes the requests start together;
- on the app's pages a second barrier (``writes_meet``) holds each request just before the
  service's write until every request has arrived there. All of them have then passed the
  page's own checks, which run without a lock, so what refuses the losers is the check made
  under the row lock: the code under test. Without it, a request that happens to start after
  the winner has committed is refused by the page's checks instead; that is the sequential
  case, which has its own tests here.

Runs on both databases: on PostgreSQL the losers wait on the patient's row lock and then read
the winner's commit; on SQLite writers queue on the database lock (IMMEDIATE transactions).
"""

from __future__ import annotations

import functools
import html
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone

from assessment import services
from assessment.models import (
    Assessment,
    Encounter,
    LabResult,
    Lesion,
    LesionObservation,
    LesionStatus,
    Patient,
    ReviewStatus,
    Role,
    Site,
)
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The issue reported these races with 20 requests; 8 show the same and keep the file fast.
THREADS = 8
# Bound for every barrier wait and thread join: a request that hangs fails the test instead of
# hanging the suite.
WAIT_SECONDS = 60

# Dates relative to today: the forms refuse visits in the future, so fixed dates would expire.
BORN_DAYS_AGO = 240
FIRST_VISIT_DAYS_AGO = 60
FOLLOW_UP_DAYS_AGO = 10

INLINE_MANAGEMENT = {f"{prefix}-{key}": value for prefix in ("observations", "labs", "imaging")
                     for key, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"),
                                        ("MIN_NUM_FORMS", "0"), ("MAX_NUM_FORMS", "1000"))}


@pytest.fixture(autouse=True)
def sqlite_commits_without_fsync() -> Iterator[None]:
    """On SQLite, commit without waiting for the disk (PRAGMA synchronous=OFF), on every
    connection this file's threads open: each commit's fsync (~15 ms on the test machine) made
    this file take a minute. Durability is not under test; the locking that serialises writers
    (IMMEDIATE transactions) is unchanged."""
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.signals import connection_created

    def no_fsync(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous = OFF")

    connection_created.connect(no_fsync)
    connection.close()  # reopened on first use, through the signal
    yield
    connection_created.disconnect(no_fsync)
    if connection.vendor == "sqlite" and connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = FULL")  # as other test files expect


def days_ago(days: int) -> date:
    return timezone.localdate() - timedelta(days=days)


# --- People --------------------------------------------------------------------------------------

def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clinicians(alice: User, north: Site) -> list[User]:
    """alice and colleagues at North: one person per request, as in the reported issue."""
    return [alice] + [UserFactory(username=f"clinician{i}", roles=[(north, Role.CLINICIAN)])
                      for i in range(1, THREADS)]


@pytest.fixture
def reviewers(rita: User, north: Site) -> list[User]:
    """rita and other North reviewers with admin access."""
    return [rita] + [UserFactory(username=f"reviewer{i}", is_staff=True,
                                 roles=[(north, Role.REVIEWER)]) for i in range(1, THREADS)]


# --- Records and form data ---------------------------------------------------------------------

def first_visit_post(*, lesions: int = 1, token: str | None = None) -> dict[str, Any]:
    """The first-visit page as a browser posts it: one heel lesion per row, no labs."""
    data: dict[str, Any] = {
        "visit-date": days_ago(FIRST_VISIT_DAYS_AGO).isoformat(), "visit-kind": "initial",
        "visit-notes": "", "visit-fever": "unknown",
        "lesion-TOTAL_FORMS": str(lesions), "lesion-INITIAL_FORMS": "0",
        "lesion-MIN_NUM_FORMS": "1", "lesion-MAX_NUM_FORMS": "10",
        "lab-TOTAL_FORMS": "0", "lab-INITIAL_FORMS": "0", "lab-MIN_NUM_FORMS": "0",
        "lab-MAX_NUM_FORMS": "30"}
    if token is not None:
        data["visit-submission_token"] = token
    for index in range(lesions):
        data.update({f"lesion-{index}-{key}": value for key, value in {
            "label": f"lesion {index + 1}", "site": "heel", "heel_subsite": "medial",
            "laterality": "left", "count": "1", "distribution": "localized",
            "largest_diameter_mm": "3", "color": "white_yellow", "morphology": "papule",
            "surface": "smooth", "consistency": "firm", "onset_age_months": "5",
            "duration_weeks": "4", "trend": "stable"}.items()})
    return data


def follow_up_post(lesion: Lesion, *, on: date, token: str | None = None,
                   **fields: Any) -> dict[str, Any]:
    """The follow-up page with only ``lesion`` ticked (``lesion-<pk>-...`` fields)."""
    prefix = f"lesion-{lesion.pk}"
    data: dict[str, Any] = {"visit-date": on.isoformat(), "visit-notes": "",
                            f"{prefix}-include": "on", f"{prefix}-count": "1",
                            "lab-TOTAL_FORMS": "0", "lab-INITIAL_FORMS": "0",
                            "lab-MIN_NUM_FORMS": "0", "lab-MAX_NUM_FORMS": "30"}
    if token is not None:
        data["visit-submission_token"] = token
    data.update({f"{prefix}-{key}": value for key, value in fields.items()})
    return data


def open_record(author: User, site: Site, record_number: str, *, lesions: int = 1) -> Patient:
    """A child with a first visit entered through the page, ``lesions`` heel lesions."""
    patient = PatientFactory(site=site, record_number=record_number, created_by=author,
                             date_of_birth=days_ago(BORN_DAYS_AGO), preterm_birth=True,
                             nicu_stay=True, neonatal_heel_sticks=True)
    response = client_for(author).post(f"/patients/{patient.pk}/encounters/new/",
                                       first_visit_post(lesions=lesions))
    assert response.status_code == 302, visible_text(response)[:2000]
    return patient


def snapshot(patient: Patient) -> dict[str, Any]:
    """What the record holds, without ids or timestamps: the same requests applied in the same
    order to two records leave equal snapshots."""
    patient.refresh_from_db()
    lesions = [{
        "label": lesion.label, "status": lesion.status, "resolved_on": lesion.resolved_on,
        "next_follow_up_due": lesion.next_follow_up_due,
        "atypical_course": lesion.atypical_course,
        "observations": list(LesionObservation.objects.filter(lesion=lesion).order_by(
            "encounter__date", "pk").values_list("encounter__date", "course_status",
                                                 "largest_diameter_mm")),
        "assessments": Assessment.objects.filter(observation__lesion=lesion).count(),
    } for lesion in Lesion.objects.filter(patient=patient).order_by("label", "pk")]
    return {
        "archived": patient.archived_at is not None,
        "visits": list(Encounter.objects.filter(patient=patient).order_by("date", "pk")
                       .values_list("date", "kind", "review_status")),
        "labs": LabResult.objects.filter(encounter__patient=patient).count(),
        "lesions": lesions,
    }


# --- Sending requests ----------------------------------------------------------------------------

@dataclass
class Reply:
    index: int
    status: int
    location: str
    shown: str  # the page's text and the flashed messages: what the person reads

    def excerpt(self) -> str:
        """A short account for assertion messages."""
        found = re.search(r"(Nothing was saved|already|archived|resolved|after you opened it|"
                          r"must come after|no active lesion).{0,160}", self.shown)
        return f"#{self.index} {self.status} {self.location} {found[0] if found else ''}"


Request = Callable[[Client], HttpResponse]
Job = tuple[User, Request]


def visible_text(response: HttpResponse) -> str:
    """The page without markup, and the messages it flashed for the next page."""
    page = re.sub(r"<[^>]+>", " ", response.content.decode(errors="replace"))
    flashed = " ".join(str(message) for message in get_messages(response.wsgi_request))
    return re.sub(r"\s+", " ", html.unescape(f"{page} {flashed}"))


def reply_of(index: int, response: HttpResponse) -> Reply:
    return Reply(index=index, status=response.status_code,
                 location=response.get("Location", ""), shown=visible_text(response))


def post(url: str, data: dict[str, Any]) -> Request:
    return lambda client: client.post(url, data)


def send_together(jobs: list[Job]) -> list[Reply]:
    """Send each job from its own thread, all released at once; replies in job order."""
    start = threading.Barrier(len(jobs))
    replies: dict[int, Reply | str] = {}

    def run(index: int, user: User, request: Request) -> None:
        try:
            client = client_for(user)
            start.wait(timeout=WAIT_SECONDS)
            replies[index] = reply_of(index, request(client))
        except Exception as error:  # reported below: a thread's exception would be lost
            replies[index] = f"#{index} raised {type(error).__name__}: {error}"
        finally:
            # The thread's own connection: left open it would hold locks past the test and
            # block the database's teardown.
            connection.close()

    threads = [threading.Thread(target=run, args=(index, user, request), daemon=True)
               for index, (user, request) in enumerate(jobs)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "a request did not finish"
    failures = [reply for reply in replies.values() if isinstance(reply, str)]
    assert not failures, failures
    return [replies[index] for index in range(len(jobs))]  # type: ignore[misc]


def send_in_turn(jobs: list[Job], order: list[int] | None = None) -> list[Reply]:
    """The same jobs one after the other (in ``order``, by default as listed), each from a
    fresh client: the sequential case. Replies in job order."""
    replies = {}
    for index in range(len(jobs)) if order is None else order:
        user, request = jobs[index]
        replies[index] = reply_of(index, request(client_for(user)))
    return [replies[index] for index in sorted(replies)]


@contextmanager
def writes_meet(parties: int, *names: str) -> Iterator[None]:
    """Hold every call of the named service functions until ``parties`` calls have arrived.

    The wait is before the function's transaction begins (on SQLite a transaction takes the
    database lock when it begins, and a waiting holder would block the others' arrival).
    """
    meeting = threading.Barrier(parties)
    originals = {name: getattr(services, name) for name in names}

    def held(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def call(*args: Any, **kwargs: Any) -> Any:
            meeting.wait(timeout=WAIT_SECONDS)
            return original(*args, **kwargs)
        return call

    try:
        for name, original in originals.items():
            setattr(services, name, held(original))
        yield
    finally:
        for name, original in originals.items():
            setattr(services, name, original)


def split(replies: list[Reply], *, won: Callable[[Reply], bool]) -> tuple[Reply, list[Reply]]:
    """The one winner and the others; fails unless exactly one request won."""
    winners = [reply for reply in replies if won(reply)]
    assert len(winners) == 1, [reply.excerpt() for reply in replies]
    return winners[0], [reply for reply in replies if reply is not winners[0]]


def winner_first(winner: Reply) -> list[int]:
    """The order the race was decided in, as far as the record can tell: the winner, then the
    others (who changed nothing)."""
    return [winner.index] + [index for index in range(THREADS) if index != winner.index]


def saved(reply: Reply) -> bool:
    return reply.status == 302


# --- 1. Follow-ups of one lesion on one date ---------------------------------------------------

def same_day_follow_ups(patient: Patient, clinicians: list[User]) -> list[Job]:
    """Each clinician's own opened form: a token of its own, or none (an older form); sizes
    differ so the stored visit shows whose it is."""
    lesion = patient.lesions.get()
    on = days_ago(FOLLOW_UP_DAYS_AGO)
    return [(user, post(f"/patients/{patient.pk}/follow-up/", follow_up_post(
        lesion, on=on, token=str(uuid.uuid4()) if index % 2 else None,
        course_status="smaller", largest_diameter_mm=f"{1 + index / 10:.1f}")))
        for index, user in enumerate(clinicians)]


def assert_one_follow_up_saved(patient: Patient, winner: Reply) -> None:
    lesion = patient.lesions.get()
    assert winner.location == f"/lesions/{lesion.pk}/"
    assert Encounter.objects.filter(patient=patient).count() == 2, "first visit + one follow-up"
    assert LesionObservation.objects.filter(lesion=lesion).count() == 2
    assert Assessment.objects.filter(observation__lesion=lesion).count() == 2
    follow_up = LesionObservation.objects.get(lesion=lesion, course_status="smaller")
    assert float(follow_up.largest_diameter_mm) == 1 + winner.index / 10, "the winner's visit"


def test_follow_ups_of_one_lesion_on_one_date_sent_together_save_one_visit(
        north: Site, clinicians: list[User]) -> None:
    patient = open_record(clinicians[0], north, "RACE-1")
    jobs = same_day_follow_ups(patient, clinicians)
    with writes_meet(THREADS, "encounter_record"):
        replies = send_together(jobs)

    winner, losers = split(replies, won=saved)
    on = days_ago(FOLLOW_UP_DAYS_AGO)
    for reply in losers:
        assert reply.status == 409, reply.excerpt()
        assert f"already has a visit on {on:%Y-%m-%d}" in reply.shown, reply.excerpt()
        assert "Nothing was saved" in reply.shown
    assert_one_follow_up_saved(patient, winner)

    # The same requests one after the other, winner first, on a twin record: the same record.
    twin = open_record(clinicians[0], north, "RACE-1-TWIN")
    send_in_turn(same_day_follow_ups(twin, clinicians), winner_first(winner))
    assert snapshot(patient) == snapshot(twin)


def test_follow_ups_of_one_lesion_on_one_date_sent_in_turn_save_one_visit(
        north: Site, clinicians: list[User]) -> None:
    patient = open_record(clinicians[0], north, "SEQ-1")
    replies = send_in_turn(same_day_follow_ups(patient, clinicians))

    winner, losers = split(replies, won=saved)
    assert winner.index == 0
    on = days_ago(FOLLOW_UP_DAYS_AGO)
    for reply in losers:
        # Here the page's own date check refuses first (400, "last seen on ..."), before the
        # service's check under the lock (409, "already has a visit on ...") is reached; both
        # keep what was typed and say why.
        assert reply.status in (400, 409), reply.excerpt()
        assert f"{on:%Y-%m-%d}" in reply.shown and "a follow-up must come after it" in \
            reply.shown, reply.excerpt()
    assert_one_follow_up_saved(patient, winner)


# --- 2. "Resolved" follow-ups of one lesion ----------------------------------------------------

def resolving_follow_ups(patient: Patient, clinicians: list[User], *,
                         same_date: bool) -> list[Job]:
    """Everyone records the lesion as resolved: on one date, or each on its own date after
    the last visit."""
    lesion = patient.lesions.get()
    return [(user, post(f"/patients/{patient.pk}/follow-up/", follow_up_post(
        lesion, on=days_ago(FOLLOW_UP_DAYS_AGO if same_date else FOLLOW_UP_DAYS_AGO - index),
        token=str(uuid.uuid4()), course_status="resolved")))
        for index, user in enumerate(clinicians)]


def assert_resolved_once(patient: Patient, winner: Reply, *, same_date: bool) -> None:
    lesion = patient.lesions.get()
    assert lesion.status == LesionStatus.RESOLVED
    expected = FOLLOW_UP_DAYS_AGO if same_date else FOLLOW_UP_DAYS_AGO - winner.index
    assert lesion.resolved_on == days_ago(expected), "resolved on the winner's date"
    assert lesion.next_follow_up_due is None and not lesion.atypical_course
    assert Encounter.objects.filter(patient=patient).count() == 2
    assert list(LesionObservation.objects.filter(lesion=lesion).values_list(
        "course_status", flat=True).order_by("encounter__date")) == ["", "resolved"]


@pytest.mark.parametrize("same_date", [True, False], ids=["same date", "different dates"])
def test_resolving_follow_ups_sent_together_resolve_the_lesion_once(
        north: Site, clinicians: list[User], same_date: bool) -> None:
    patient = open_record(clinicians[0], north, "RACE-2")
    jobs = resolving_follow_ups(patient, clinicians, same_date=same_date)
    with writes_meet(THREADS, "encounter_record"):
        replies = send_together(jobs)

    winner, losers = split(replies, won=saved)
    resolved_on = patient.lesions.get().resolved_on
    for reply in losers:
        assert reply.status == 409, reply.excerpt()
        assert f"was recorded as resolved on {resolved_on:%Y-%m-%d}" in reply.shown, \
            reply.excerpt()
    assert_resolved_once(patient, winner, same_date=same_date)

    twin = open_record(clinicians[0], north, "RACE-2-TWIN")
    send_in_turn(resolving_follow_ups(twin, clinicians, same_date=same_date),
                 winner_first(winner))
    assert snapshot(patient) == snapshot(twin)


@pytest.mark.parametrize("same_date", [True, False], ids=["same date", "different dates"])
def test_resolving_follow_ups_sent_in_turn_resolve_the_lesion_once(
        north: Site, clinicians: list[User], same_date: bool) -> None:
    patient = open_record(clinicians[0], north, "SEQ-2")
    replies = send_in_turn(resolving_follow_ups(patient, clinicians, same_date=same_date))

    first, later = replies[0], replies[1:]
    assert saved(first), first.excerpt()
    assert_resolved_once(patient, first, same_date=same_date)
    resolved_on = patient.lesions.get().resolved_on
    for reply in later:
        # Each later form was opened while the lesion was active: the person must learn that
        # their visit was not saved and why, as in the race (409 with the form kept).
        assert reply.status == 409, reply.excerpt()
        assert f"resolved on {resolved_on:%Y-%m-%d}" in reply.shown, reply.excerpt()
        assert "Nothing was saved" in reply.shown, reply.excerpt()


def test_a_follow_up_naming_a_lesion_resolved_meanwhile_is_refused_not_saved_in_part(
        north: Site, clinicians: list[User]) -> None:
    patient = open_record(clinicians[0], north, "SEQ-2-PART", lesions=2)
    first, second = patient.lesions.order_by("label")
    on = days_ago(FOLLOW_UP_DAYS_AGO)
    # Both forms are opened while both lesions are active; alice records the first lesion as
    # resolved, then a colleague submits a visit of both lesions.
    both = follow_up_post(first, on=on, token=str(uuid.uuid4()), course_status="smaller",
                          largest_diameter_mm="2")
    both.update({key.replace(f"lesion-{first.pk}-", f"lesion-{second.pk}-"): value
                 for key, value in both.items() if key.startswith(f"lesion-{first.pk}-")})
    replies = send_in_turn([
        (clinicians[0], post(f"/patients/{patient.pk}/follow-up/", follow_up_post(
            first, on=on, token=str(uuid.uuid4()), course_status="resolved"))),
        (clinicians[1], post(f"/patients/{patient.pk}/follow-up/", both))])

    assert saved(replies[0]), replies[0].excerpt()
    refused = replies[1]
    # Saving the visit without the resolved lesion's part would drop what was typed for it
    # without a word; in the race the check under the lock refuses the whole visit (409).
    assert refused.status == 409, refused.excerpt()
    assert "resolved on" in refused.shown and "Nothing was saved" in refused.shown
    assert Encounter.objects.filter(patient=patient).count() == 2, "first visit + resolving"
    assert not LesionObservation.objects.filter(lesion=second, course_status="smaller").exists()


# --- 3. Archiving while visits are being saved -------------------------------------------------

ARCHIVER = 0  # the job that archives; every other job saves a follow-up of its own lesion


def archive_and_follow_ups(patient: Patient, clinicians: list[User]) -> list[Job]:
    """alice archives while each colleague saves a follow-up of a different lesion (so the
    follow-ups do not refuse each other); each would make its lesion atypical and due."""
    lesions = list(patient.lesions.order_by("label"))
    on = days_ago(FOLLOW_UP_DAYS_AGO)
    jobs: list[Job] = [(clinicians[ARCHIVER], post(f"/patients/{patient.pk}/archive/", {}))]
    for user, lesion in zip(clinicians[1:], lesions, strict=True):
        jobs.append((user, post(f"/patients/{patient.pk}/follow-up/", follow_up_post(
            lesion, on=on, token=str(uuid.uuid4()), course_status="larger",
            largest_diameter_mm="5", color="white", consistency="hard",
            features=["erythema_around"]))))
    return jobs


def assert_archived_and_off_the_worklist(patient: Patient, viewer: User) -> None:
    patient.refresh_from_db()
    assert patient.archived_at is not None
    followed = Lesion.objects.filter(patient=patient)
    assert not followed.filter(next_follow_up_due__isnull=False).exists()
    assert not followed.filter(atypical_course=True).exists()
    worklist = client_for(viewer).get("/")
    assert worklist.status_code == 200
    assert patient.record_number not in visible_text(worklist)


def assert_archive_refusals(patient: Patient, replies: list[Reply]) -> set[int]:
    """Every follow-up was saved before the archive or refused with the archive message;
    returns the indexes of those saved."""
    archive = replies[ARCHIVER]
    assert archive.status == 302 and "archived" in archive.shown, archive.excerpt()
    saved_visits: set[int] = set()
    for reply in replies[1:]:
        if saved(reply):
            saved_visits.add(reply.index)
        else:
            assert reply.status == 409, reply.excerpt()
            assert "This record was archived on" in reply.shown, reply.excerpt()
            assert "Nothing was saved" in reply.shown
    follow_ups = Encounter.objects.filter(patient=patient, kind="follow_up")
    assert follow_ups.count() == len(saved_visits), "one visit per accepted request"
    return saved_visits


def test_archiving_while_follow_ups_are_saved_closes_the_record(
        north: Site, clinicians: list[User]) -> None:
    patient = open_record(clinicians[0], north, "RACE-3", lesions=THREADS - 1)
    # Listed before (its first visit awaits review), so the check afterwards can fail.
    assert patient.record_number in visible_text(client_for(clinicians[0]).get("/"))
    jobs = archive_and_follow_ups(patient, clinicians)
    with writes_meet(THREADS, "encounter_record", "patient_archive"):
        replies = send_together(jobs)

    saved_visits = assert_archive_refusals(patient, replies)
    assert_archived_and_off_the_worklist(patient, clinicians[0])
    # Serial order: every visit accepted was saved before the archive took the record.
    patient.refresh_from_db()
    assert all(created <= patient.archived_at for created in Encounter.objects.filter(
        patient=patient, kind="follow_up").values_list("created_at", flat=True))

    # In turn on a twin: the accepted follow-ups, the archive, then the refused ones.
    twin = open_record(clinicians[0], north, "RACE-3-TWIN", lesions=THREADS - 1)
    order = [i for i in range(1, THREADS) if i in saved_visits] + [ARCHIVER] + [
        i for i in range(1, THREADS) if i not in saved_visits]
    send_in_turn(archive_and_follow_ups(twin, clinicians), order)
    assert snapshot(patient) == snapshot(twin)


def test_archiving_between_follow_ups_sent_in_turn_closes_the_record(
        north: Site, clinicians: list[User]) -> None:
    patient = open_record(clinicians[0], north, "SEQ-3", lesions=THREADS - 1)
    jobs = archive_and_follow_ups(patient, clinicians)
    # Three visits are saved, then the record is archived while the others still have their
    # forms open; they submit afterwards.
    replies = send_in_turn(jobs, order=[1, 2, 3, ARCHIVER, 4, 5, 6, 7])

    saved_visits = assert_archive_refusals(patient, replies)
    assert saved_visits == {1, 2, 3}
    assert_archived_and_off_the_worklist(patient, clinicians[0])


# --- 4. One first-visit form submitted several times at once -----------------------------------

def test_one_first_visit_form_sent_many_times_at_once_saves_one_visit(
        north: Site, alice: User) -> None:
    patient = PatientFactory(site=north, record_number="RACE-4", created_by=alice,
                             date_of_birth=days_ago(BORN_DAYS_AGO))
    # One opened form (one token) submitted again and again: double clicks, resent requests.
    data = first_visit_post(token=str(uuid.uuid4()))
    url = f"/patients/{patient.pk}/encounters/new/"

    with writes_meet(THREADS, "encounter_record"):
        replies = send_together([(alice, post(url, data))] * THREADS)

    winner, losers = split(replies, won=lambda r: r.location.startswith("/assessments/"))
    encounter = Encounter.objects.get(patient=patient)
    assert Lesion.objects.filter(patient=patient).count() == 1
    assert LesionObservation.objects.filter(encounter=encounter).count() == 1
    assessment = Assessment.objects.get(observation__encounter=encounter)  # exactly one
    assert winner.location == f"/assessments/{assessment.pk}/"
    for reply in losers:
        # Sent to the visit saved the first time, with a message shown there.
        assert reply.status == 302 and reply.location == f"/encounters/{encounter.pk}/", \
            reply.excerpt()
        assert "This visit form was already submitted" in reply.shown, reply.excerpt()
    page = client_for(alice).get(f"/encounters/{encounter.pk}/")
    assert page.status_code == 200

    twin = PatientFactory(site=north, record_number="RACE-4-TWIN", created_by=alice,
                          date_of_birth=days_ago(BORN_DAYS_AGO))
    twin_data = first_visit_post(token=str(uuid.uuid4()))
    send_in_turn([(alice, post(f"/patients/{twin.pk}/encounters/new/", twin_data))] * THREADS)
    assert snapshot(patient) == snapshot(twin)


# --- 5. Reviewers reviewing one visit in the admin ---------------------------------------------

def review_post(status: str, comment: str, version: int) -> dict[str, Any]:
    return {"review_status": status, "review_comment": comment, "expected_version": version,
            **INLINE_MANAGEMENT}


def test_reviewers_saving_one_visit_at_once_keep_one_review(
        north: Site, alice: User, reviewers: list[User]) -> None:
    patient = open_record(alice, north, "RACE-5")
    encounter = Encounter.objects.get(patient=patient)
    opened = encounter.version  # every reviewer opened this version
    history_before = encounter.history.count()
    url = f"/admin/assessment/encounter/{encounter.pk}/change/"
    # Verdicts alternate, so an overwrite would change the status as well as the comment.
    verdicts = [(ReviewStatus.APPROVED, f"Agree ({user.username}).") if index % 2 == 0 else
                (ReviewStatus.CHANGES, f"Re-measure the nodule ({user.username}).")
                for index, user in enumerate(reviewers)]
    # No meeting point here: the admin's check runs inside the admin's own transaction, under
    # the visit's row lock, whenever the request arrives.
    replies = send_together([(user, post(url, review_post(status, comment, opened)))
                             for user, (status, comment) in zip(reviewers, verdicts,
                                                                strict=True)])

    winner, losers = split(replies, won=saved)
    for reply in losers:
        assert reply.status == 200, reply.excerpt()
        assert "after you opened it" in reply.shown, reply.excerpt()
        assert "Nothing was saved and nothing was overwritten" in reply.shown
    encounter.refresh_from_db()
    status, comment = verdicts[winner.index]
    assert (encounter.review_status, encounter.review_comment) == (status, comment)
    assert encounter.reviewed_by == reviewers[winner.index]
    assert encounter.version == opened + 1, "one review saved"
    assert encounter.history.count() == history_before + 1


def test_a_review_from_an_outdated_form_does_not_overwrite_a_requested_change(
        north: Site, alice: User, reviewers: list[User]) -> None:
    patient = open_record(alice, north, "SEQ-5")
    encounter = Encounter.objects.get(patient=patient)
    url = f"/admin/assessment/encounter/{encounter.pk}/change/"
    rita, other = client_for(reviewers[0]), client_for(reviewers[1])
    # Both open the visit before either saves.
    opened_a = rita.get(url).context["adminform"].form["expected_version"].value()
    opened_b = other.get(url).context["adminform"].form["expected_version"].value()
    assert opened_a == opened_b == encounter.version

    first = rita.post(url, review_post(ReviewStatus.CHANGES, "Add the calcium result.",
                                       opened_a))
    assert first.status_code == 302
    second = other.post(url, review_post(ReviewStatus.APPROVED, "", opened_b))

    assert second.status_code == 200
    assert "after you opened it" in visible_text(second)
    encounter.refresh_from_db()
    assert encounter.review_status == ReviewStatus.CHANGES
    assert encounter.review_comment == "Add the calcium result."
    assert encounter.reviewed_by == reviewers[0]
