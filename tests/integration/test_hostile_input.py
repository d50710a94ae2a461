"""Property-based tests: random and hostile values posted to every form and the API.

Whatever arrives: no 500; what is stored is rendered escaped, never as markup; a refused post
leaves no record behind, and an accepted one leaves a complete one.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment.demo import record_contract_case
from assessment.models import (
    Assessment,
    AssessmentDecision,
    Encounter,
    LabResult,
    Lesion,
    LesionObservation,
    Patient,
)
from tests.builders import load_case

MARKUP = "<script>alert('x')</script>"
HOSTILE = st.one_of(
    st.text(max_size=200),
    st.sampled_from([
        MARKUP, "\"><img src=x onerror=alert(1)>", "' OR '1'='1'; DROP TABLE assessment;--",
        "Robert'); --", "😀" * 40, "A" * 6000, "\u202eevil", "\x00", "", " ", "-1", "0",
        "1e308", "-1e308", "NaN", "Infinity", "99999999999999999999999", "3.14159265358979",
        "2026-02-30", "0000-00-00", "9999-12-31", "1900-01-01", "2026-13-01", "yes", "true",
        "null", "[]", "{}", "%s%s%s", "../../etc/passwd", "=cmd|' /C calc'!A0",
    ]),
)
PROFILE = settings(max_examples=40, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow])
COUNTED = (Patient, Encounter, Lesion, LesionObservation, LabResult, Assessment,
           AssessmentDecision)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def assert_escaped(html: str, values: list[str]) -> None:
    for value in values:
        if "<" in value and len(value) > 3:
            assert value not in html, f"unescaped markup rendered: {value!r}"


@pytest.fixture
def patient(alice, north) -> Patient:
    return record_contract_case(
        data=load_case("seed_case_a_pearl_like_heel_nodule.json")["input"],
        record_number="HOST-1", born=date(2025, 8, 10), visit=date(2026, 8, 10),
        label="heel", user=alice, site=north)


@PROFILE
@given(record=HOSTILE, born=HOSTILE, sex=HOSTILE, gestation=HOSTILE, flag=HOSTILE)
def test_patient_form(alice_client: Client, record: str, born: str, sex: str, gestation: str,
                      flag: str) -> None:
    before = counts()
    response = alice_client.post("/patients/new/", {
        "record_number": record, "date_of_birth": born, "sex": sex,
        "gestational_age_weeks": gestation, "renal_disease": flag})
    assert response.status_code in (302, 400)
    after = counts()
    expected = dict(before, Patient=before["Patient"] + (response.status_code == 302))
    assert after == expected
    assert_escaped(response.content.decode(), [record, born, gestation])


@PROFILE
@given(visit=HOSTILE, notes=HOSTILE, label=HOSTILE, site=HOSTILE, count=HOSTILE, size=HOSTILE,
       analyte=HOSTILE, value=HOSTILE, unit=HOSTILE, feature=HOSTILE)
def test_encounter_form(alice_client: Client, patient: Patient, visit: str, notes: str,
                        label: str, site: str, count: str, size: str, analyte: str, value: str,
                        unit: str, feature: str) -> None:
    before = counts()
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/", {
        "visit-date": visit, "visit-kind": "initial", "visit-notes": notes,
        "lesion-TOTAL_FORMS": "1", "lesion-INITIAL_FORMS": "0", "lesion-MIN_NUM_FORMS": "1",
        "lesion-MAX_NUM_FORMS": "10", "lesion-0-label": label, "lesion-0-site": site,
        "lesion-0-count": count, "lesion-0-largest_diameter_mm": size,
        "lesion-0-features": feature,
        "lab-TOTAL_FORMS": "1", "lab-INITIAL_FORMS": "0", "lab-MIN_NUM_FORMS": "0",
        "lab-MAX_NUM_FORMS": "30", "lab-0-analyte": analyte, "lab-0-value": value,
        "lab-0-unit": unit})
    assert response.status_code in (302, 400)
    after = counts()
    if response.status_code == 400:
        assert after == before
        assert_escaped(response.content.decode(), [notes, label, visit, count, size, value])
    else:
        assert after["Encounter"] == before["Encounter"] + 1
        assert after["Assessment"] == before["Assessment"] + 1
        encounter = Encounter.objects.latest("id")
        page = alice_client.get(f"/encounters/{encounter.pk}/").content.decode()
        assert_escaped(page, [notes, label])


@PROFILE
@given(decision=HOSTILE, entity=HOSTILE, management=HOSTILE, reason=HOSTILE)
def test_decision_form(alice_client: Client, patient: Patient, decision: str, entity: str,
                       management: str, reason: str) -> None:
    assessment = Assessment.objects.filter(observation__lesion__patient=patient).first()
    before = counts()
    response = alice_client.post(f"/assessments/{assessment.pk}/decision/", {
        "decision": decision, "final_entity": entity, "final_management": management,
        "reason": reason})
    assert response.status_code in (302, 400)
    grew = counts()["AssessmentDecision"] - before["AssessmentDecision"]
    assert grew == (1 if response.status_code == 302 else 0)
    page = alice_client.get(f"/assessments/{assessment.pk}/").content.decode()
    assert_escaped(page, [reason])


@PROFILE
@given(status=HOSTILE, size=HOSTILE, visit=HOSTILE, count=HOSTILE)
def test_follow_up_form(alice_client: Client, patient: Patient, status: str, size: str,
                        visit: str, count: str) -> None:
    lesion = patient.lesions.first()
    before = counts()
    response = alice_client.post(f"/patients/{patient.pk}/follow-up/", {
        "visit-date": visit, f"lesion-{lesion.pk}-include": "on",
        f"lesion-{lesion.pk}-course_status": status, f"lesion-{lesion.pk}-count": count,
        f"lesion-{lesion.pk}-largest_diameter_mm": size,
        "lab-TOTAL_FORMS": "0", "lab-INITIAL_FORMS": "0", "lab-MIN_NUM_FORMS": "0",
        "lab-MAX_NUM_FORMS": "30"})
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert counts() == before


@PROFILE
@given(count=HOSTILE, size=HOSTILE, version=HOSTILE, surface=HOSTILE)
def test_observation_edit_form(alice_client: Client, patient: Patient, count: str, size: str,
                               version: str, surface: str) -> None:
    observation = LesionObservation.objects.filter(lesion__patient=patient).first()
    before = counts()
    response = alice_client.post(f"/observations/{observation.pk}/edit/", {
        "count": count, "largest_diameter_mm": size, "version": version, "surface": surface})
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert counts() == before


@PROFILE
@given(caption=HOSTILE, content=st.binary(max_size=2000))
def test_photo_form(alice_client: Client, patient: Patient, caption: str, content: bytes,
                    tmp_path_factory: pytest.TempPathFactory) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import override_settings

    observation = LesionObservation.objects.filter(lesion__patient=patient).first()
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        response = alice_client.post(f"/observations/{observation.pk}/photos/", {
            "image": SimpleUploadedFile("x.jpg", content, "image/jpeg"), "caption": caption})
    assert response.status_code == 400  # random bytes are never a valid image
    assert_escaped(response.content.decode(), [caption])


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              HOSTILE),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(HOSTILE, children, max_size=4)),
    max_leaves=20,
)


@PROFILE
@given(body=st.one_of(JSON_VALUES, st.fixed_dictionaries({
    "patient": st.dictionaries(st.sampled_from(["age_months", "sex", "history", "x"]),
                               JSON_VALUES),
    "lesion": st.dictionaries(st.sampled_from(["site", "count", "features", "color"]),
                              JSON_VALUES),
    "labs": JSON_VALUES})))
def test_api(alice_client: Client, body: Any) -> None:
    before = counts()
    response = alice_client.post("/api/v1/assess", json.dumps(body),
                                 content_type="application/json")
    assert response.status_code in (200, 400, 413)
    payload = response.json()
    if response.status_code == 400:
        assert payload["errors"] and all(e["field"] and e["message"] for e in payload["errors"])
    assert counts() == before  # the API stores nothing


@PROFILE
@given(raw=st.binary(max_size=300))
def test_api_with_raw_bytes(alice_client: Client, raw: bytes) -> None:
    response = alice_client.post("/api/v1/assess", raw, content_type="application/json")
    # An empty body travels without a content type, hence 415 for it.
    assert response.status_code in (200, 400) or (raw == b"" and response.status_code == 415)
    if response.status_code != 200:
        assert response.json()["errors"]
