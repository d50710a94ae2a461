"""The registry outcomes page: time to resolution as Kaplan–Meier figures, for reviewers and
data managers (REPORT) of their clinics.

Seed case A is recorded as the demo records it (initial visit, then the 3-month recheck that
found it resolved, 13 weeks later); other lesions come from the other seed cases."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assessment import services
from assessment.demo import (
    CASES_DIR,
    DEMO_CASES,
    DEMO_FOLLOW_UPS,
    record_contract_case,
    record_follow_up,
)
from assessment.engine.knowledge import ENTITIES
from assessment.models import Assessment, CourseStatus, Patient, Role, Site
from assessment.outcomes import registry
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.integration.test_readable_pages import DB_ID, REPR, SNAKE, visible_text

URL = "/registry/outcomes/"
CASE_A, CASE_B, CASE_C = DEMO_CASES
CASE_A_RECHECK = next(f for f in DEMO_FOLLOW_UPS if f.record_number == "DEMO-A")


def case_input(case: object) -> dict:
    return json.loads((CASES_DIR / case.file).read_text(encoding="utf-8"))["input"]


def record(case: object, user: User, site: Site, *, number: str | None = None,
           visit: date | None = None) -> Patient:
    return record_contract_case(data=case_input(case), record_number=number or case.record_number,
                                born=case.born, visit=visit or case.visit, label=case.label,
                                user=user, site=site)


def record_case_a(user: User, site: Site, number: str = "DEMO-A") -> Patient:
    """Seed case A with its 3-month recheck showing full resolution, as load_demo records
    DEMO-A."""
    patient = record(CASE_A, user, site, number=number)
    record_follow_up(patient=patient, on=CASE_A_RECHECK.on, status=CASE_A_RECHECK.status,
                     changes=CASE_A_RECHECK.changes, user=user)
    return patient


def course_of(user: User, patient: Patient, sites: list[Site]) -> registry.LesionCourse:
    lesion = patient.lesions.get()
    return next(c for c in registry.lesion_courses(user, sites=sites)
                if c.lesion_id == lesion.pk)


def group(response: object, label: str) -> dict:
    return next(g for g in response.context["groups"] if g["label"] == label)


@pytest.fixture
def both(north: Site, south: Site) -> User:
    """A data manager of both clinics."""
    return UserFactory(username="dora", first_name="Dora", last_name="Both",
                       roles=[(north, Role.DATA_MANAGER), (south, Role.DATA_MANAGER)])


@pytest.fixture
def sally(south: Site) -> User:
    """A data manager of the South clinic only."""
    return UserFactory(username="sally", roles=[(south, Role.DATA_MANAGER)])


# --- The data: events, censoring, overrides --------------------------------------------------

def test_case_a_resolved_at_the_recheck_is_an_event_after_13_weeks(alice, dana, north) -> None:
    patient = record_case_a(alice, north)
    course = course_of(dana, patient, [north])
    assert course.resolved is True
    assert course.resolved_on == CASE_A_RECHECK.on
    assert course.first_visit == CASE_A.visit
    assert course.weeks == pytest.approx(13, abs=0.01)


def test_an_unresolved_lesion_is_censored_at_its_last_visit(alice, dana, north) -> None:
    patient = record(CASE_C, alice, north)
    recheck = CASE_C.visit + timedelta(weeks=8)
    record_follow_up(patient=patient, on=recheck, status=CourseStatus.SMALLER, changes={},
                     user=alice)
    course = course_of(dana, patient, [north])
    assert course.resolved is False
    assert course.last_visit == recheck
    assert course.weeks == pytest.approx(8)


def test_the_page_counts_case_a_as_resolved_after_13_weeks(alice, north,
                                                          dana_client: Client) -> None:
    patient = record_case_a(alice, north)
    engine_entity = Assessment.objects.get(observation__lesion__patient=patient).leading_entity
    response = dana_client.get(URL)
    assert response.status_code == 200
    figures = group(response, ENTITIES[engine_entity].label)
    assert (figures["lesions"], figures["events"], figures["censored"]) == (1, 1, 0)
    assert figures["median"] == pytest.approx(13)
    assert figures["median_text"]["median"] == "13 weeks"
    # The chart gets the step: 100% until 13 weeks, then 0%.
    assert response.context["chart"]["groups"][0]["curve"] == [[0.0, 1.0], [13.0, 0.0]]


def test_an_override_moves_the_lesion_to_the_clinicians_diagnosis(
        alice, dana, north, dana_client: Client) -> None:
    patient = record(CASE_C, alice, north)
    assessment = Assessment.objects.get(observation__lesion__patient=patient)
    engine_entity = assessment.leading_entity
    chosen = "calcium_extravasation_calcinosis"
    assert engine_entity != chosen
    services.assessment_decide(assessment=assessment, decision="override", final_subtypes=[],
                               final_entity=chosen, final_management="watchful_waiting",
                               reason="Extravasation documented at this site.", user=alice)
    course = course_of(dana, patient, [north])
    assert (course.entity, course.overridden) == (chosen, True)
    assert course.subtype == ENTITIES[chosen].subtype
    labels = [g["label"] for g in dana_client.get(URL).context["groups"]]
    assert labels == [ENTITIES[chosen].label]

    # A later "agree" on the same assessment returns it to the engine's reading, and the
    # cached page follows (a decision changes the cache key).
    services.assessment_decide(assessment=assessment, decision="agree", final_subtypes=[],
                               final_entity="", final_management="", reason="", user=alice)
    assert course_of(dana, patient, [north]).entity == engine_entity
    labels = [g["label"] for g in dana_client.get(URL).context["groups"]]
    assert labels == [ENTITIES[engine_entity].label]


def test_the_cached_page_follows_a_new_visit(alice, north, dana_client: Client) -> None:
    patient = record(CASE_C, alice, north)
    assert dana_client.get(URL).context["figures"]["overall"]["events"] == 0
    record_follow_up(patient=patient, on=CASE_C.visit + timedelta(weeks=10),
                     status=CourseStatus.RESOLVED, changes={}, user=alice)
    overall = dana_client.get(URL).context["figures"]["overall"]
    assert (overall["events"], overall["median"]) == (1, pytest.approx(10))


def test_subtype_and_clinic_groupings(alice, north, dana_client: Client) -> None:
    record_case_a(alice, north)
    record(CASE_C, alice, north)
    subtypes = dana_client.get(URL, {"group": "subtype"}).context["groups"]
    assert sum(g["lesions"] for g in subtypes) == 2
    assert all(g["label"].endswith("calcinosis") or g["label"].startswith("No calcinosis")
               for g in subtypes)
    clinics = dana_client.get(URL, {"group": "clinic"}).context["groups"]
    assert [(g["label"], g["lesions"]) for g in clinics] == [(north.name, 2)]


def test_the_expected_window_of_heel_stick_nodules_is_placed_after_the_first_visit(
        alice, north, dana_client: Client) -> None:
    """Case C: heel-stick nodules seen at 8 months; the knowledge base expects resolution at
    18–30 months of age, so 10–22 months (about 43–96 weeks) after the first visit."""
    record(CASE_C, alice, north)
    response = dana_client.get(URL)
    heel_stick = group(response, ENTITIES["calcified_heel_stick_nodule"].label)
    start, end = heel_stick["window"]
    assert start == pytest.approx(10 * 30.4375 / 7, abs=1)
    assert end == pytest.approx(22 * 30.4375 / 7, abs=1)
    assert "18–30 months of age" in heel_stick["window_text"]
    text = visible_text(response.content.decode())
    assert "18–30 months of age" in text
    assert "Expected (knowledge base)" in text
    assert "Diagnosis: the clinician's where they overrode the engine" in text


def test_a_window_counted_from_onset_uses_the_recorded_onset(alice, north,
                                                             dana_client: Client) -> None:
    """Extravasation calcinosis resolves 0.7–6 months after it appears. Case C was first seen
    at 8 months of age (242 days) with an onset at 6 months, so the window ends about
    (6 − 1.95) months, 17.6 weeks, after the first visit; its start has passed (clipped at 0)."""
    patient = record(CASE_C, alice, north)
    services.assessment_decide(
        assessment=Assessment.objects.get(observation__lesion__patient=patient),
        decision="override", final_subtypes=["iatrogenic"],
        final_entity="calcium_extravasation_calcinosis", final_management="watchful_waiting",
        reason="Extravasation documented at this site.", user=alice)
    response = dana_client.get(URL)
    extravasation = group(response, ENTITIES["calcium_extravasation_calcinosis"].label)
    assert extravasation["window"] == [0.0, pytest.approx((6 * 30.4375 - 59.375) / 7, abs=0.01)]
    assert "months after the lesion appeared" in extravasation["window_text"]


def test_a_diagnosis_without_a_window_says_so(alice, north, dana_client: Client) -> None:
    patient = record_case_a(alice, north)
    entity = Assessment.objects.get(observation__lesion__patient=patient).leading_entity
    assert ENTITIES[entity].window is None
    response = dana_client.get(URL)
    assert group(response, ENTITIES[entity].label)["window"] is None
    assert "No expected window in the knowledge base" in response.content.decode()


# --- Filters ---------------------------------------------------------------------------------

def test_the_date_range_narrows_by_first_visit(alice, north, dana_client: Client) -> None:
    record_case_a(alice, north)  # first visit 10 Aug 2026, resolved 9 Nov 2026
    record(CASE_C, alice, north)  # first visit 1 Oct 2026
    def count(**params: str) -> int:
        return dana_client.get(URL, params).context["figures"]["lesions"]

    assert count() == 2
    assert count(first_from="2026-09-01") == 1
    assert count(first_to="2026-09-01") == 1
    # Selected by the first visit, not by a later one: case A's recheck in November does not
    # bring it into a November range.
    assert count(first_from="2026-11-01") == 0
    assert count(first_from="2026-08-10", first_to="2026-10-01") == 2


def test_the_clinic_filter_narrows_to_one_clinic(alice, charlie, north, south, both) -> None:
    record_case_a(alice, north)
    record(CASE_C, charlie, south, number="SOUTH-C")
    client = client_for(both)
    assert client.get(URL).context["figures"]["lesions"] == 2
    assert client.get(URL, {"clinic": "south"}).context["figures"]["lesions"] == 1
    response = client.get(URL, {"clinic": "north"})
    assert response.context["figures"]["lesions"] == 1
    assert response.context["filters"].problems == []


@pytest.mark.parametrize(("params", "field"), [
    ({"first_from": "2026-02-30"}, "First visit from"),
    ({"first_to": "31/31/2026"}, "First visit to"),
    ({"first_from": "<script>alert(1)</script>"}, "First visit from"),
    ({"first_from": "2026-12-01", "first_to": "2026-01-01"}, "First visit to"),
    ({"clinic": "nowhere"}, "Clinic"),
    ({"clinic": "south"}, "Clinic"),  # a clinic dana may not report on is as unknown
    ({"group": "patients"}, "Group by"),
    ({"first_from": "9" * 300}, "First visit from"),
])
def test_bad_filter_values_are_named_and_the_page_still_answers(
        params: dict, field: str, alice, north, south, dana_client: Client) -> None:
    record_case_a(alice, north)
    response = dana_client.get(URL, params)
    assert response.status_code == 200
    problems = response.context["filters"].problems
    assert len(problems) == 1 and problems[0].startswith(f"{field}:")
    assert problems[0] in html_text(response)
    # The rest of the page still works: the bad value is left out, not the figures.
    assert response.context["figures"]["lesions"] == 1
    assert "<script>alert" not in response.content.decode()


def html_text(response: object) -> str:
    return visible_text(response.content.decode())


# --- Access ----------------------------------------------------------------------------------

def test_viewers_clinicians_and_outsiders_are_refused(
        alice, north, victor_client: Client, alice_client: Client, charlie_client: Client,
        bob_client: Client) -> None:
    record_case_a(alice, north)
    for client in (victor_client, alice_client, charlie_client, bob_client):
        assert client.get(URL).status_code == 403
    response = Client().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_reviewers_and_data_managers_read_it(alice, north, rita_client: Client,
                                             dana_client: Client) -> None:
    record_case_a(alice, north)
    for client in (rita_client, dana_client):
        response = client.get(URL)
        assert response.status_code == 200
        assert response.context["figures"]["lesions"] == 1


def test_another_clinic_sees_none_of_norths_lesions(alice, north, south, sally) -> None:
    record_case_a(alice, north)
    response = client_for(sally).get(URL)
    assert response.status_code == 200
    assert response.context["figures"]["lesions"] == 0
    assert "DEMO-A" not in response.content.decode()
    # Asking for North by code is answered as an unknown clinic, and North's lesions are not
    # read even if a caller passes North's site to the selector.
    response = client_for(sally).get(URL, {"clinic": "north"})
    assert response.context["figures"]["lesions"] == 0
    assert response.context["filters"].problems[0].startswith("Clinic:")
    assert registry.lesion_courses(sally, sites=[north]) == []


def test_the_outcomes_link_shows_only_to_those_who_may_report(
        alice, north, dana_client: Client, alice_client: Client) -> None:
    assert 'href="/registry/outcomes/"' in dana_client.get("/patients/").content.decode()
    assert 'href="/registry/outcomes/"' not in alice_client.get("/patients/").content.decode()


def test_wrong_methods_are_refused(dana_client: Client) -> None:
    assert dana_client.post(URL).status_code == 405


# --- Scale and words -------------------------------------------------------------------------

def _queries(client: Client) -> int:
    from django.core.cache import cache

    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL).status_code == 200
    return len(captured.captured_queries)


def test_the_query_count_does_not_grow_with_the_number_of_lesions(
        alice, north, dana_client: Client) -> None:
    cases = (CASE_A, CASE_B, CASE_C)
    for n in range(3):
        record(cases[n], alice, north, number=f"Q-{n}")
    few = _queries(dana_client)
    for n in range(3, 30):
        record(cases[n % 3], alice, north, number=f"Q-{n}",
               visit=cases[n % 3].visit + timedelta(days=n))
    many = _queries(dana_client)
    assert dana_client.get(URL).context["figures"]["lesions"] == 30
    assert few == many
    # A repeat request is served from the cache: only the cache key's small query (the change
    # counter) is added to the request's own (session, user, roles, clinics).
    with CaptureQueriesContext(connection) as cached:
        dana_client.get(URL)
    assert len(cached.captured_queries) == many - 3  # visits, lesions, decisions


@pytest.mark.parametrize("grouping", ["entity", "subtype", "clinic"])
def test_the_page_is_words(grouping: str, alice, north, dana_client: Client) -> None:
    record_case_a(alice, north)
    record(CASE_B, alice, north)
    patient = record(CASE_C, alice, north)
    services.assessment_decide(
        assessment=Assessment.objects.get(observation__lesion__patient=patient),
        decision="override", final_subtypes=["iatrogenic"],
        final_entity="electrode_paste_calcinosis", final_management="watchful_waiting",
        reason="EEG electrodes at this site.", user=alice)
    response = dana_client.get(URL, {"group": grouping})
    text = html_text(response)
    problems = [(name, match) for name, pattern in (("code", SNAKE), ("repr", REPR),
                                                    ("id", DB_ID))
                for match in pattern.findall(text)]
    assert problems == []
    assert "None" not in text.split()


def test_an_empty_registry_says_so(dana_client: Client) -> None:
    response = dana_client.get(URL)
    assert response.status_code == 200
    assert "No lesion of your clinics" in html_text(response)
    assert 'id="outcomes-data"' not in response.content.decode()
