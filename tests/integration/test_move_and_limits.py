"""Moving a child's record to another clinic takes every clinic copy along; posted form counts
cannot make the server build thousands of forms."""

from __future__ import annotations

from datetime import date

import pytest
from django.apps import apps
from django.db import models
from django.test import Client

from assessment.demo import record_contract_case
from assessment.models import (
    Encounter,
    Lesion,
    LesionObservation,
    Membership,
    Patient,
    Role,
    Site,
)
from tests.builders import load_case
from tests.conftest import client_for
from tests.factories import UserFactory

CASE_C = load_case("seed_case_c_heel_stick_nodules.json")["input"]


@pytest.fixture
def patient(alice, north) -> Patient:
    return record_contract_case(data=CASE_C, record_number="MOVE-1", born=date(2026, 2, 1),
                                visit=date(2026, 10, 1), label="heel", user=alice, site=north)


def edit_form(patient: Patient, **changes: str) -> dict[str, str]:
    data = {"site": str(patient.site_id), "record_number": patient.record_number,
            "date_of_birth": patient.date_of_birth.isoformat(), "sex": patient.sex,
            "version": str(patient.version)}
    data.update(changes)
    return data


def records_of(patient: Patient) -> list[models.Model]:
    """Every row that carries a clinic (a foreign key to Site) and belongs to this child. A new
    model with a clinic fails here until the move (and this test) know it."""
    rows: list[models.Model] = [patient]
    for model in apps.get_models():
        carries = [f for f in model._meta.concrete_fields
                   if f.is_relation and f.related_model is Site]
        if not carries or model in (Patient, Membership) or model._meta.app_label != "assessment":
            continue
        if model.__name__.startswith("Historical"):
            continue
        assert any(f.name == "patient" for f in model._meta.concrete_fields), (
            f"{model.__name__} carries a clinic: teach services._patient_move to move it")
        rows += list(model.objects.filter(patient=patient))
    return rows


def test_moving_a_patient_moves_every_clinic_copy_and_the_access(alice, north, south,
                                                                 victor_client: Client,
                                                                 patient) -> None:
    Membership.objects.create(user=alice, site=south, role=Role.CLINICIAN)
    client = client_for(alice)
    response = client.post(f"/patients/{patient.pk}/edit/", edit_form(patient,
                                                                      site=str(south.pk)))
    assert response.status_code == 302, response.context["form"].errors
    for row in records_of(patient):
        row.refresh_from_db()
        clinic = row.site_id if isinstance(row, Patient) else row.clinic_id
        assert clinic == south.pk, row

    south_viewer = client_for(UserFactory(username="sv", roles=[(south, Role.VIEWER)]))
    lesion = Lesion.objects.get(patient=patient)
    encounter = Encounter.objects.get(patient=patient)
    observation = LesionObservation.objects.get(lesion=lesion)
    assessment = observation.assessments.get()
    urls = [f"/patients/{patient.pk}/", f"/lesions/{lesion.pk}/",
            f"/encounters/{encounter.pk}/", f"/assessments/{assessment.pk}/",
            f"/patients/{patient.pk}/history/"]
    for url in urls:
        assert victor_client.get(url).status_code == 404, url  # North's viewer: gone
        assert south_viewer.get(url).status_code == 200, url  # South's viewer: there
    assert b"MOVE-1" not in victor_client.get("/").content

    # The move is in the audit trail: the patient's clinic and each copy.
    assert [h.site_id for h in patient.history.order_by("history_id")][-2:] == [north.pk,
                                                                               south.pk]
    assert lesion.history.latest("history_id").clinic_id == south.pk
    assert encounter.history.latest("history_id").clinic_id == south.pk


def test_the_admin_follows_the_move(alice, north, south, rita_client: Client, patient) -> None:
    Membership.objects.create(user=alice, site=south, role=Role.CLINICIAN)
    client_for(alice).post(f"/patients/{patient.pk}/edit/", edit_form(patient,
                                                                      site=str(south.pk)))
    encounter = Encounter.objects.get(patient=patient)
    for url in (f"/admin/assessment/patient/{patient.pk}/change/",
                f"/admin/assessment/encounter/{encounter.pk}/change/",
                f"/admin/assessment/lesion/{Lesion.objects.get(patient=patient).pk}/change/"):
        assert rita_client.get(url).status_code == 404, url


def test_a_clinician_cannot_move_a_record_to_a_clinic_where_they_only_read(
        alice, north, south, patient) -> None:
    Membership.objects.create(user=alice, site=south, role=Role.VIEWER)
    response = client_for(alice).post(f"/patients/{patient.pk}/edit/",
                                      edit_form(patient, site=str(south.pk)))
    assert response.status_code == 400
    assert "site" in response.context["form"].errors
    patient.refresh_from_db()
    assert patient.site_id == north.pk
    assert set(Encounter.objects.filter(patient=patient).values_list("clinic", flat=True)) == {
        north.pk}


def test_a_forged_lesion_count_builds_no_more_forms_than_a_visit_holds(
        alice_client: Client, patient) -> None:
    data = {"visit-date": "2026-10-20", "visit-kind": "initial",
            "lesion-TOTAL_FORMS": "1000", "lesion-INITIAL_FORMS": "0",
            "lesion-MIN_NUM_FORMS": "0", "lesion-MAX_NUM_FORMS": "1000",
            "lab-TOTAL_FORMS": "100000", "lab-INITIAL_FORMS": "0",
            "lab-MIN_NUM_FORMS": "0", "lab-MAX_NUM_FORMS": "100000"}
    before = Encounter.objects.count()
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/", data)
    assert response.status_code == 400
    entry = response.context["entry"]
    assert len(entry.lesions.forms) <= 10 and len(entry.labs.forms) <= 30
    html = response.content.decode()
    assert "a visit records at most 10 lesions" in html
    assert "at most 30 results per visit" in html
    assert len(response.content) < 1_000_000
    assert Encounter.objects.count() == before


def test_a_forged_inline_count_in_the_admin_is_bounded(rita_client: Client, patient) -> None:
    encounter = Encounter.objects.get(patient=patient)
    data = {"review_status": "approved", "review_comment": "",
            "expected_version": str(encounter.version)}
    for prefix in ("observations", "labs", "imaging"):
        data.update({f"{prefix}-TOTAL_FORMS": "1000000", f"{prefix}-INITIAL_FORMS": "0",
                     f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000000"})
    response = rita_client.post(f"/admin/assessment/encounter/{encounter.pk}/change/", data)
    assert response.status_code == 200  # the form again, with the formset error
    assert all(len(formset.forms) <= 200 for formset in response.context["inline_admin_formsets"]
               for formset in [formset.formset])
    encounter.refresh_from_db()
    assert encounter.review_status == "pending"
