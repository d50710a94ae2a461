"""The assessment page answers first (summary card), shows what was entered in words, and
guards an override that goes against an urgent or refer red flag."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from django.test import Client

from assessment import services
from assessment.models import Assessment, AssessmentDecision, Patient
from tests.factories import PatientFactory
from tests.integration.test_views import encounter_post

CRITICAL_LABS = [{"analyte": "calcium_total", "value": "3.9", "unit": "mg/dL"},
                 {"analyte": "phosphate", "value": "5.6", "unit": "mg/dL"}]


@pytest.fixture
def patient(alice) -> Patient:
    return PatientFactory(record_number="AP-001", date_of_birth=date(2025, 2, 1), sex="female",
                          neonatal_heel_sticks=True, created_by=alice)


def _record(client: Client, patient: Patient, labs: list[dict[str, Any]] | None = None
            ) -> Assessment:
    response = client.post(f"/patients/{patient.pk}/encounters/new/",
                           encounter_post(labs=labs))
    assert response.status_code == 302, response.content[:2000]
    return Assessment.objects.get()


def _override(**fields: Any) -> dict[str, Any]:
    data = {"decision": "override", "final_entity": "calcified_heel_stick_nodule",
            "final_management": "watchful_waiting", "reason": "Lab error: haemolysed sample."}
    data.update(fields)
    return data


def _text(html: str) -> str:
    """Visible text, roughly: tags and attribute values removed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_summary_card_comes_first_with_the_answer(alice_client: Client, patient: Patient) -> None:
    assessment = _record(alice_client, patient, CRITICAL_LABS)
    html = alice_client.get(f"/assessments/{assessment.pk}/").content.decode()
    card = html.split('id="summary"')[1].split("</section>")[0]
    assert assessment.output_json["leading_entity"]["label"] in card
    assert "Urgent" in card and "Critical value" in card  # the most severe flag
    assert "Same day" in card
    assert "Not yet recorded" in card
    assert html.index('id="summary"') < html.index("Findings entered") < html.index("Red flags")
    assert "Ruleset" not in html.split('id="summary"')[0]  # the version is in the footer


def test_findings_entered_are_words_not_codes(alice_client: Client, patient: Patient) -> None:
    assessment = _record(alice_client, patient)
    html = alice_client.get(f"/assessments/{assessment.pk}/").content.decode()
    findings = _text(html.split('id="findings-heading"')[1].split("</section>")[0])
    assert "Medial heel" in findings or "medial heel" in findings
    assert "White-yellow" in findings
    assert "Neonatal heel sticks" in findings
    assert "Calcium (total)" in findings and "9.9 mg/dL" in findings
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", findings)


def test_page_text_has_no_codes_reprs_or_float_noise(alice_client: Client,
                                                     patient: Patient) -> None:
    assessment = _record(alice_client, patient, CRITICAL_LABS)
    text = _text(alice_client.get(f"/assessments/{assessment.pk}/").content.decode())
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)
    assert "{'" not in text and "['" not in text
    assert "3.9 mg/dL" in text and "3.90" not in text


def test_override_milder_than_an_urgent_flag_needs_the_tick(alice_client: Client,
                                                            patient: Patient) -> None:
    assessment = _record(alice_client, patient, CRITICAL_LABS)
    response = alice_client.post(f"/assessments/{assessment.pk}/decision/", _override())
    assert response.status_code == 400
    assert "tick to confirm you considered it" in response.content.decode()
    assert AssessmentDecision.objects.count() == 0
    # What was typed is kept.
    assert "Lab error: haemolysed sample." in response.content.decode()


def test_override_with_the_tick_and_reason_shows_both(alice_client: Client,
                                                      patient: Patient) -> None:
    assessment = _record(alice_client, patient, CRITICAL_LABS)
    response = alice_client.post(f"/assessments/{assessment.pk}/decision/",
                                 _override(flag_considered="on"))
    assert response.status_code == 302
    decision = AssessmentDecision.objects.get()
    assert decision.flag_considered is True
    html = alice_client.get(f"/assessments/{assessment.pk}/").content.decode()
    card = html.split('id="summary"')[1].split("</section>")[0]
    assert "Watchful waiting" in card and "Engine: Urgent" in card  # final answer, engine beside
    assert "Your diagnosis" in card
    assert "Red flag considered" in card and "haemolysed" in card
    # The form opens on the recorded override, not on "Agree".
    form = html.split('id="decision"')[1]
    assert re.search(r'value="override"[^>]*checked', form)
    assert not re.search(r'value="agree"[^>]*checked', form)


def test_override_to_the_same_or_a_stricter_category_needs_no_tick(alice_client: Client,
                                                                   patient: Patient) -> None:
    assessment = _record(alice_client, patient, CRITICAL_LABS)
    response = alice_client.post(f"/assessments/{assessment.pk}/decision/",
                                 _override(final_management="urgent"))
    assert response.status_code == 302
    assert AssessmentDecision.objects.get().flag_considered is False


def test_no_guard_without_an_urgent_or_refer_flag(alice_client: Client, patient: Patient) -> None:
    assessment = _record(alice_client, patient)
    assert not any(f["action"] in ("urgent", "refer")
                   for f in assessment.output_json["red_flags"])
    html = alice_client.get(f"/assessments/{assessment.pk}/").content.decode()
    assert "flag_considered" not in html
    response = alice_client.post(f"/assessments/{assessment.pk}/decision/",
                                 _override(final_management="treat"))
    assert response.status_code == 302


def test_the_service_refuses_the_override_without_the_tick(alice, alice_client: Client,
                                                           patient: Patient) -> None:
    """Every door: a caller that skips the form meets the same guard, under the lock."""
    assessment = _record(alice_client, patient, CRITICAL_LABS)
    with pytest.raises(services.Conflict, match="milder than the urgent red flag"):
        services.assessment_decide(assessment=assessment, decision="override",
                                   final_subtypes=[], final_entity="milia",
                                   final_management="treat", reason="Because.", user=alice)
    assert AssessmentDecision.objects.count() == 0


def test_a_viewer_sees_no_empty_decision_card(alice_client: Client, victor_client: Client,
                                              patient: Patient) -> None:
    assessment = _record(alice_client, patient)
    html = victor_client.get(f"/assessments/{assessment.pk}/").content.decode()
    assert 'id="decision"' not in html
    assert "Not yet recorded" in html  # the summary still says so


def test_agree_is_still_one_click(alice_client: Client, patient: Patient) -> None:
    assessment = _record(alice_client, patient, CRITICAL_LABS)
    response = alice_client.post(f"/assessments/{assessment.pk}/decision/",
                                 {"decision": "agree"})
    assert response.status_code == 302
    decision = AssessmentDecision.objects.get()
    assert decision.final_management == "urgent" and decision.flag_considered is False
