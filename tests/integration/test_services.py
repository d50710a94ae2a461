"""Writes are atomic, stale edits are refused, demo data is idempotent, ages are calendar-true."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError

from assessment import services
from assessment.clinical import add_months, age_in_months, date_at_age
from assessment.demo import load_demo
from assessment.demo_accounts import DEMO_ACCOUNTS
from assessment.models import (
    Assessment,
    Encounter,
    LabResult,
    Lesion,
    LesionObservation,
    Patient,
)
from tests.factories import LesionFactory, PatientFactory


@pytest.mark.parametrize(("born", "on", "months"), [
    (date(2025, 8, 10), date(2026, 8, 10), 12.0),
    (date(2025, 8, 10), date(2026, 8, 9), 11.99),
    (date(2024, 1, 31), date(2024, 2, 29), 1.0),  # month-end birthday
    (date(2024, 1, 31), date(2024, 3, 31), 2.0),
    (date(2026, 1, 1), date(2026, 1, 1), 0.0),
])
def test_age_in_months_counts_calendar_months(born: date, on: date, months: float) -> None:
    assert age_in_months(born, on) == months


def test_age_before_birth_is_refused() -> None:
    with pytest.raises(ValueError):
        age_in_months(date(2026, 1, 2), date(2026, 1, 1))


def test_month_arithmetic_clamps_to_month_end() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert date_at_age(date(2025, 2, 1), 18) == date(2026, 8, 1)


def test_a_failure_midway_leaves_no_half_saved_visit(alice) -> None:
    """A real failure (the same lesion observed twice in one visit breaks the uniqueness
    rule) after the encounter, labs, first observation and its assessment were written."""
    patient = PatientFactory(created_by=alice)
    lesion = LesionFactory(patient=patient, created_by=alice)
    entries = [services.LesionEntry(lesion, LesionObservation(count=1)),
               services.LesionEntry(lesion, LesionObservation(count=2))]
    with pytest.raises((IntegrityError, ValidationError)):
        services.encounter_record(
            patient=patient, encounter=Encounter(date=date(2026, 1, 1)), entries=entries,
            labs=[LabResult(analyte="phosphate", value=5, unit="mg/dL")], imaging=[],
            user=alice)
    assert not Encounter.objects.exists()
    assert not LabResult.objects.exists()
    assert not LesionObservation.objects.exists()
    assert not Assessment.objects.exists()


def test_stale_patient_update_is_refused(alice, bob) -> None:
    patient = PatientFactory(created_by=alice)
    mine = Patient.objects.get(pk=patient.pk)
    theirs = Patient.objects.get(pk=patient.pk)
    theirs.renal_disease = True
    services.patient_update(patient=theirs, expected_version=1, user=bob,
                            fields=["renal_disease"])
    mine.renal_disease = False
    with pytest.raises(services.StaleEdit) as stale:
        services.patient_update(patient=mine, expected_version=1, user=alice,
                                fields=["renal_disease"])
    assert stale.value.current.updated_by == bob
    assert Patient.objects.get(pk=patient.pk).renal_disease is True


def test_load_demo_is_idempotent_and_matches_the_seed_cases(alice) -> None:
    assert load_demo(alice) == ["DEMO-A", "DEMO-B", "DEMO-C", "DEMO-D",
                                "DEMO-A follow-up 2026-11-09", "DEMO-D follow-up 2026-08-03"]
    assert load_demo(alice) == []
    readings = {a.observation.encounter.patient.record_number: a for a in
                Assessment.objects.filter(observation__encounter__kind="initial")
                .select_related("observation__encounter__patient")}
    assert readings["DEMO-A"].leading_entity == "subepidermal_calcified_nodule"
    assert readings["DEMO-B"].output_json["calcium_phosphate_product"]["value_mg2_dl2"] == 77.2
    assert readings["DEMO-C"].leading_entity == "calcified_heel_stick_nodule"
    assert float(readings["DEMO-B"].age_months) == 17.0
    assert Lesion.objects.count() == 4
    resolved = Lesion.objects.get(patient__record_number="DEMO-A")
    assert resolved.status == "resolved" and str(resolved.resolved_on) == "2026-11-09"
    assert Lesion.objects.get(patient__record_number="DEMO-D").atypical_course


def test_load_demo_command(db) -> None:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "DEMO-A, DEMO-B, DEMO-C, DEMO-D" in out.getvalue()
    call_command("load_demo", stdout=out)
    assert "nothing to do" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("load_demo", "--as", "nobody")


def test_demo_accounts_are_refused_with_debug_off(db) -> None:
    with pytest.raises(CommandError):
        call_command("ensure_demo_user")


def test_demo_accounts_with_debug_on(db, settings) -> None:
    settings.DEBUG = True
    out = io.StringIO()
    call_command("ensure_demo_user", stdout=out)
    assert "user 'demo'" in out.getvalue() and "user 'reviewer'" in out.getvalue()
    assert "user 'viewer'" in out.getvalue()
    call_command("ensure_demo_user", stdout=out)
    assert out.getvalue().count("password '") == len(DEMO_ACCOUNTS), (
        "credentials are printed once")


@pytest.mark.parametrize(("months", "words"), [
    (0.5, "15 days"), (12.0, "12 months"), (14.99, "14 months 30 days"), (1.0, "1 month"),
    (1.2, "1 month 6 days"), (48.0, "4 years"), (49.0, "4 years 1 month"),
    (40.2, "3 years 4 months"),
])
def test_age_words(months: float, words: str) -> None:
    from assessment.clinical import age_words

    assert age_words(months) == words
