"""The printouts reached from the assessment page: the one-page visit summary for the record and
the parent handout, for each seed case recorded through the services. Content, who may open
them, the patient-view log, and the handout refused for the urgent seed case B."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client

from assessment import services
from assessment.demo import DEMO_CASES, record_contract_case, record_follow_up
from assessment.models import Assessment, CourseStatus, Patient, PatientViewLog, Site
from tests.builders import load_case
from tests.integration.test_readable_pages import DB_ID, REPR, SNAKE, visible_text

CASES = {case.file: case for case in DEMO_CASES}
A, B, C = (case.file for case in DEMO_CASES)
SOURCE_TAG = re.compile(r"\[(?:[MS]|V R\d+[a-z]?)\]")


def record(name: str, user: User, site: Site) -> Assessment:
    case = CASES[name]
    patient = record_contract_case(data=load_case(name)["input"],
                                   record_number=case.record_number, born=case.born,
                                   visit=case.visit, label=case.label, user=user, site=site)
    return Assessment.objects.get(observation__encounter__patient=patient)


def summary_url(assessment: Assessment) -> str:
    return f"/assessments/{assessment.pk}/summary/"


def handout_url(assessment: Assessment) -> str:
    return f"/assessments/{assessment.pk}/handout/"


def words(response) -> str:
    return re.sub(r"\s+", " ", visible_text(response.content.decode()))


def readable_problems(text: str) -> list[str]:
    return [f"{name} {match!r}" for name, pattern in (("code", SNAKE), ("repr", REPR),
                                                     ("id", DB_ID))
            for match in sorted(set(pattern.findall(text)))]


@pytest.fixture
def seeds(alice: User, north: Site) -> dict[str, Assessment]:
    return {name: record(name, alice, north) for name in CASES}


# --- The visit summary --------------------------------------------------------------------------

@pytest.mark.parametrize("name", [A, B, C])
def test_the_visit_summary_renders_each_seed_case(name: str, seeds, alice_client: Client
                                                   ) -> None:
    assessment = seeds[name]
    response = alice_client.get(summary_url(assessment))
    assert response.status_code == 200
    html = response.content.decode()
    text = words(response)
    patient = assessment.observation.encounter.patient
    case = CASES[name]
    for expected in ("North heel clinic", patient.record_number,
                     f"Born {case.born.day} {case.born:%b %Y}",
                     f"Visit {case.visit.day} {case.visit:%b %Y}", "Age at visit",
                     "Clinician Alice Clinician", assessment.output_json["leading_entity"]["label"],
                     f"Ruleset {assessment.ruleset_version}", "printed",
                     "Decision support — the clinician's judgement prevails", "Follow-up:",
                     "Back to the assessment", "Workup still missing"):
        assert expected in text, expected
    assert readable_problems(text) == []
    # A printout of its own: print.css and print.js, no app navigation, strict CSP kept.
    assert "/static/css/print.css" in html and "/static/js/print.js" in html
    assert "navbar" not in html and "Log out" not in html
    assert 'data-print' in html and "onclick" not in html and "style=" not in html
    assert "<script>" not in html


def test_the_urgent_summary_lists_every_flag_urgent_first_with_labs_and_missing_workup(
        seeds, alice_client: Client) -> None:
    text = words(alice_client.get(summary_url(seeds[B])))
    assert "Urgent: Critical value: total calcium 3.9 mg/dL" in text
    flags_part = text.split("Red flags (", 1)[1].split("Laboratory", 1)[0]
    flags = re.findall(r"\b(Urgent|Refer|Review): ", flags_part)
    assert flags[:5] == ["Urgent"] * 5 and flags[5:8] == ["Refer", "Refer", "Review"]
    assert "[V R95]" in text and "[V R2]" in text  # source tags stay for clinicians
    assert "advice left out" in text and "whatever the lesion looks like" not in text
    for lab in ("Creatinine 7.18 mg/dL High", "Calcium (total) 3.9 mg/dL Low",
                "Phosphate (inorganic) 19.8 mg/dL High", "14.7× the upper limit"):
        assert lab in text, lab
    assert "Ca×P 77.2 mg²/dL²" in text
    assert "Parathyroid hormone (PTH) (recommended)" in text
    assert "(4 more in the app)" in text and "(3 more options in the app)" in text
    assert "Follow-up: same day (15 Sep 2026)" in text
    assert "Management Urgent" in text


def test_the_summary_gives_this_childs_resolution_window(seeds, alice_client: Client) -> None:
    # Seed case C, born 1 Feb 2026: 18–30 months of age.
    text = words(alice_client.get(summary_url(seeds[C])))
    assert "Expected to resolve between Aug 2027 and Aug 2028, at 18–30 months of age" in text
    assert "Follow-up: 24 Dec 2026 (in 12 weeks)" in text
    assert "Calcium (total) 9.9 mg/dL Normal" in text


def test_the_summary_shows_an_override_beside_the_engine(seeds, alice: User,
                                                         alice_client: Client) -> None:
    services.assessment_decide(assessment=seeds[A], decision="override", final_subtypes=[],
                               final_entity="calcified_heel_stick_nodule",
                               final_management="watchful_waiting",
                               reason="Heel pricks at birth per the newborn record.", user=alice)
    text = words(alice_client.get(summary_url(seeds[A])))
    assert "Final diagnosis Calcified heel-stick nodule" in text
    assert "(Engine: Subepidermal calcified nodule" in text
    assert "Overridden by Alice Clinician" in text
    assert "“Heel pricks at birth per the newborn record.”" in text
    # The engine's plan is labelled as the engine's once the clinician overrode (clinical review).
    assert "Engine's plan and follow-up (overridden by the clinician" in text
    assert "Engine's follow-up:" in text


def test_the_summary_shows_an_agreement(seeds, alice: User, alice_client: Client) -> None:
    services.assessment_decide(assessment=seeds[C], decision="agree", final_subtypes=[],
                               final_entity="", final_management="", reason="", user=alice)
    text = words(alice_client.get(summary_url(seeds[C])))
    assert "Agreed by Alice Clinician" in text and "Engine:" not in text


# --- The parent handout -------------------------------------------------------------------------

def test_the_heel_stick_handout_has_this_childs_dates_and_next_visit(seeds, alice_client: Client
                                                                     ) -> None:
    response = alice_client.get(handout_url(seeds[C]))
    assert response.status_code == 200
    text = words(response)
    for expected in ("North heel clinic", "Visit on 1 October 2026",
                     "between August 2027 and August 2028 (when your child is 18 to 30 months "
                     "old)", "Next check-up: around Thursday 24 December 2026",
                     "Your child has 3 of these lumps", "Call the clinic for an earlier visit",
                     "Choose shoes and socks that do not rub on it.",
                     "For another doctor: Calcified heel-stick nodule."):
        assert expected in text, expected
    assert not SOURCE_TAG.search(text)
    assert readable_problems(text) == []
    assert "DEMO-C" not in text  # nothing a parent need not read, the title included


def test_the_handout_without_a_window_promises_no_dates(seeds, alice_client: Client) -> None:
    text = words(alice_client.get(handout_url(seeds[A])))
    assert "We cannot say how long it will last. We will check it at each visit." in text
    assert "Next check-up: around Monday 2 November 2026" in text
    assert "For another doctor: Subepidermal calcified nodule." in text


def test_the_urgent_seed_case_gets_no_handout_and_no_link(seeds, alice_client: Client) -> None:
    response = alice_client.get(handout_url(seeds[B]))
    assert response.status_code == 200
    text = words(response)
    assert "A parent handout is not offered" in text
    assert "the clinical summary is the only printout" in text
    assert "Call the clinic for an earlier visit" not in text and "Next check-up" not in text
    assert f'href="{summary_url(seeds[B])}"' in response.content.decode()
    assert "data-print" not in response.content.decode()  # nothing to print but the notice
    page = alice_client.get(f"/assessments/{seeds[B].pk}/").content.decode()
    assert f'href="{summary_url(seeds[B])}"' in page
    assert handout_url(seeds[B]) not in page
    # Nor does the summary offer it.
    assert handout_url(seeds[B]) not in alice_client.get(summary_url(seeds[B])).content.decode()


def test_the_assessment_page_links_both_printouts_when_a_handout_is_offered(
        seeds, alice_client: Client) -> None:
    page = alice_client.get(f"/assessments/{seeds[C].pk}/").content.decode()
    assert f'href="{summary_url(seeds[C])}">Print visit summary' in page
    assert f'href="{handout_url(seeds[C])}">Parent handout' in page


def test_a_clinician_override_to_a_benign_entity_changes_the_handout(
        seeds, alice: User, alice_client: Client) -> None:
    # Seed case A (born 10 Aug 2025): the clinician reads a heel-stick nodule.
    services.assessment_decide(assessment=seeds[A], decision="override", final_subtypes=[],
                               final_entity="calcified_heel_stick_nodule",
                               final_management="watchful_waiting", reason="Heel pricks.",
                               user=alice)
    text = words(alice_client.get(handout_url(seeds[A])))
    assert "heel-prick blood tests" in text
    assert "between February 2027 and February 2028" in text


def test_an_override_away_from_a_benign_entity_withdraws_the_handout(
        seeds, alice: User, alice_client: Client) -> None:
    services.assessment_decide(assessment=seeds[C], decision="override", final_subtypes=[],
                               final_entity="pilomatricoma", final_management="refer",
                               reason="Bluish hue, tent sign.", user=alice)
    text = words(alice_client.get(handout_url(seeds[C])))
    assert "A parent handout is not offered" in text
    assert "Call the clinic for an earlier visit" not in text
    page = alice_client.get(f"/assessments/{seeds[C].pk}/").content.decode()
    assert handout_url(seeds[C]) not in page


def test_an_override_of_the_urgent_case_to_a_benign_entity_still_gets_no_handout(
        seeds, alice: User, alice_client: Client) -> None:
    services.assessment_decide(assessment=seeds[B], decision="override", final_subtypes=[],
                               final_entity="calcium_extravasation_calcinosis",
                               final_management="watchful_waiting",
                               reason="Repeat labs were normal.", user=alice,
                               flag_considered=True)
    text = words(alice_client.get(handout_url(seeds[B])))
    assert "the clinical summary is the only printout" in text


def test_a_later_visit_moves_the_handout_to_the_latest_assessment(
        seeds, alice: User, alice_client: Client) -> None:
    first = seeds[C]
    patient = first.observation.encounter.patient
    record_follow_up(patient=patient, on=date(2026, 12, 24), status=CourseStatus.SMALLER,
                     changes={}, user=alice)
    text = words(alice_client.get(handout_url(first)))
    assert "a later one of this lesion exists" in text
    assert handout_url(first) not in alice_client.get(f"/assessments/{first.pk}/").content.decode()
    latest = Assessment.objects.filter(observation__encounter__patient=patient).first()
    assert latest.pk != first.pk
    assert "Call the clinic for an earlier visit" in words(alice_client.get(handout_url(latest)))


# --- Access, logging, bad input -----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["summary", "handout"])
def test_another_clinic_gets_404_and_a_viewer_reads_it(kind: str, seeds, charlie_client: Client,
                                                       victor_client: Client) -> None:
    url = f"/assessments/{seeds[C].pk}/{kind}/"
    assert charlie_client.get(url).status_code == 404
    assert victor_client.get(url).status_code == 200
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert victor_client.post(url).status_code == 405


@pytest.mark.parametrize("kind", ["summary", "handout"])
def test_opening_a_printout_is_logged_as_a_patient_view(kind: str, seeds, victor: User,
                                                        victor_client: Client) -> None:
    assessment = seeds[B]
    url = f"/assessments/{assessment.pk}/{kind}/"
    victor_client.get(url)
    patient = Patient.objects.get(record_number="DEMO-B")
    assert PatientViewLog.objects.filter(user=victor, patient=patient, path=url).count() == 1


@pytest.mark.parametrize("kind", ["summary", "handout"])
def test_a_missing_assessment_is_a_404_not_a_500(kind: str, alice_client: Client) -> None:
    assert alice_client.get(f"/assessments/987654/{kind}/").status_code == 404
