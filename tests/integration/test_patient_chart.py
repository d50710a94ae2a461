"""The patient page as a chart (who the child is, the history answers, each lesion's course,
what happened at each visit) and the lesion timeline (consistent ages, only observed sizes in
the chart, an overdue follow-up marked, one photo form)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from assessment import services
from assessment.demo import record_contract_case, record_follow_up
from assessment.models import (
    PATIENT_HISTORY_FLAGS,
    Encounter,
    EncounterKind,
    Lesion,
    LesionObservation,
    Patient,
)
from assessment.photos import clean_photo
from assessment.presenters import child_age
from tests.builders import load_case
from tests.factories import PatientFactory

CASE_A = load_case("seed_case_a_pearl_like_heel_nodule.json")["input"]
BORN = date(2025, 8, 10)
FIRST_VISIT = date(2026, 8, 10)


def shown(day: date) -> str:
    """A date as the pages print it: "9 Nov 2026"."""
    return f"{day.day} {day:%b %Y}"


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def case_a(alice, north) -> Patient:
    return record_contract_case(data=CASE_A, record_number="CASE-A", born=BORN,
                                visit=FIRST_VISIT, label="right lateral heel nodule",
                                user=alice, site=north)


def on_day(monkeypatch, day: date) -> None:
    """Pages compute ages and overdue days from today: fix today."""
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: day)


def text_of(html: str) -> str:
    """The page as a reader sees it: tags dropped, white space collapsed."""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    return re.sub(r" ([:,.;])", r"\1", text)


def attach_photo(observation: LesionObservation, user) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 180, 170)).save(buffer, "JPEG")
    services.photo_attach(observation=observation, photo=clean_photo(
        io.BytesIO(buffer.getvalue()), size=len(buffer.getvalue())), caption="", user=user)


# --- The child's age ----------------------------------------------------------------------------

@pytest.mark.parametrize(("months", "words"), [
    (0.3, "9 d"), (1.0, "1 mo"), (14.99, "15 mo"), (23.4, "23 mo"), (24.0, "2 y"),
    (40.0, "3 y 4 mo"), (37.0, "3 y 1 mo"),
])
def test_it_writes_ages_in_months_under_two_years_then_years_and_months(months: float,
                                                                       words: str) -> None:
    assert child_age(months) == words


# --- Patient page ---------------------------------------------------------------------------------

def test_the_header_shows_record_current_age_sex_and_clinic(alice_client: Client, case_a: Patient,
                                                            alice, north, monkeypatch) -> None:
    on_day(monkeypatch, date(2026, 12, 10))
    page = text_of(alice_client.get(f"/patients/{case_a.pk}/").content.decode())
    assert "Patient CASE-A" in page
    assert "Age today 16 mo" in page and "Sex Female" in page
    assert "Clinic North heel clinic" in page
    older = PatientFactory(site=north, created_by=alice, record_number="OLD-1", sex="male",
                           date_of_birth=date(2023, 8, 10))
    page = text_of(alice_client.get(f"/patients/{older.pk}/").content.decode())
    assert "Age today 3 y 4 mo" in page and "Sex Male" in page


def test_history_answers_are_grouped_as_yes_no_and_unknown(alice_client: Client,
                                                           case_a: Patient) -> None:
    Patient.objects.filter(pk=case_a.pk).update(renal_disease=True, iv_calcium_received=False,
                                                preterm_birth=None,
                                                gestational_age_weeks=Decimal("33.0"))
    response = alice_client.get(f"/patients/{case_a.pk}/")
    groups = {group["title"]: {row["label"]: row["answer"] for row in group["rows"]}
              for group in response.context["chart"]["history"]}
    assert list(groups) == ["Birth and neonatal", "Renal and metabolic",
                            "Medicines and procedures", "Family and other"]
    assert groups["Renal and metabolic"]["Renal disease"] == "Yes"
    assert groups["Medicines and procedures"]["IV calcium received"] == "No"
    assert groups["Birth and neonatal"]["Preterm birth"] == "Unknown"
    assert groups["Birth and neonatal"]["Gestation"] == "33 weeks"
    # Every history question of the child is shown once, with the model's label.
    labels = [label for rows in groups.values() for label in rows]
    assert len(labels) == len(set(labels)) == len(PATIENT_HISTORY_FLAGS) + 1
    assert "Family history of calcinosis" in labels and "NICU stay" in labels
    html = response.content.decode()
    assert '<dt>Renal disease</dt><dd class="answer-yes">Yes</dd>' in html
    assert '<dt>IV calcium received</dt><dd class="answer-no">No</dd>' in html
    assert "renal_disease" not in text_of(html)


def test_an_active_lesion_card_shows_size_change_and_overdue_follow_up(
        alice_client: Client, case_a: Patient, alice, monkeypatch) -> None:
    record_follow_up(patient=case_a, on=date(2026, 11, 9), status="smaller",
                     changes={"largest_diameter_mm": Decimal("1.5")}, user=alice)
    lesion = case_a.lesions.get()
    assert lesion.next_follow_up_due is not None
    on_day(monkeypatch, lesion.next_follow_up_due + timedelta(days=10))
    response = alice_client.get(f"/patients/{case_a.pk}/")
    card = response.context["chart"]["lesions"][0]
    assert (card["latest_size"], card["change"], card["resolved"]) == ("1.5 mm", "smaller", False)
    assert card["due"]["overdue_days"] == 10
    assert card["leading"]["assessment"].observation.encounter.date == date(2026, 11, 9)
    page = text_of(response.content.decode())
    assert "Active" in page and "Latest size 1.5 mm 9 Nov 2026" in page
    assert "Since previous visit Smaller" in page
    assert f"Next follow-up {shown(lesion.next_follow_up_due)} Overdue 10 days" in page
    # The follow-up visit says what happened to the lesion; the first visit gives its size.
    assert "Right lateral heel nodule: 1.5 mm, smaller" in page
    assert "Right lateral heel nodule: 2 mm" in page
    spark = card["spark"]
    assert spark["label"] == "Largest diameter: 2 mm at 12 months, 1.5 mm at 15 months."
    assert 'aria-label="Largest diameter: 2 mm at 12 months, 1.5 mm at 15 months."' in \
        response.content.decode()


def test_a_resolved_lesion_says_resolved_and_plots_no_zero(alice_client: Client,
                                                           case_a: Patient, alice) -> None:
    record_follow_up(patient=case_a, on=date(2026, 11, 9), status="resolved", changes={},
                     user=alice)
    response = alice_client.get(f"/patients/{case_a.pk}/")
    card = response.context["chart"]["lesions"][0]
    assert card["resolved"] and card["due"] is None
    # The resolved visit copied the last size; it was not measured, so it is not the latest.
    assert (card["latest_size"], card["latest_date"]) == ("2 mm", FIRST_VISIT)
    assert len(card["spark"]["dots"]) == 1 and card["spark"]["resolved_x"] is not None
    assert card["spark"]["label"].endswith("; resolved at 15 months.")
    page = text_of(response.content.decode())
    assert "Resolved on 9 Nov 2026" in page and "Last measured 2 mm" in page
    assert "Right lateral heel nodule: Resolved" in page
    assert "Next follow-up" not in page


def new_lesion_visit(patient: Patient, on: date, user, *, laterality: str, size: str,
                     previous: list[tuple[Lesion, str, str | None]] = ()) -> Encounter:
    """A visit that finds a new lesion (and follows ``previous``: lesion, course, size)."""
    def observation(size: str | None, course: str = "") -> LesionObservation:
        return LesionObservation(
            course_status=course, count=1, distribution="localized",
            largest_diameter_mm=Decimal(size) if size else None, color="white",
            morphology="papule", surface="smooth", consistency="hard", features=[],
            onset_age_months=Decimal(11), duration_weeks=Decimal(4))

    entries = [services.LesionEntry(Lesion(label="", site="heel", laterality=laterality),
                                    observation(size))]
    entries += [services.LesionEntry(lesion, observation(mm, course))
                for lesion, course, mm in previous]
    return services.encounter_record(
        patient=patient, encounter=Encounter(date=on, kind=EncounterKind.FOLLOW_UP),
        entries=entries, labs=[], imaging=[], user=user)


def test_active_lesions_come_before_resolved_ones_and_each_visit_says_what_happened(
        alice_client: Client, case_a: Patient, alice) -> None:
    first = case_a.lesions.get()
    new_lesion_visit(case_a, date(2026, 11, 9), alice, laterality="left", size="3",
                     previous=[(first, "resolved", None)])
    response = alice_client.get(f"/patients/{case_a.pk}/")
    cards = response.context["chart"]["lesions"]
    assert [(card["lesion"].laterality, card["resolved"]) for card in cards] == [
        ("left", False), ("right", True)]
    page = text_of(response.content.decode())
    visit = page[page.index("9 Nov 2026 · Follow-up visit"):page.index("10 Aug 2026 · Initial")]
    assert "Left heel: 3 mm" in visit and "Right lateral heel nodule: Resolved" in visit


def test_an_override_is_shown_as_the_clinicians_reading(alice_client: Client, case_a: Patient,
                                                       alice) -> None:
    assessment = LesionObservation.objects.get().assessments.get()
    services.assessment_decide(assessment=assessment, decision="override", final_subtypes=[],
                               final_entity="dystrophic_calcinosis_post_traumatic",
                               final_management="refer", reason="Trauma history found.",
                               user=alice)
    page = text_of(alice_client.get(f"/patients/{case_a.pk}/").content.decode())
    assert "Dystrophic calcinosis after local injury — Refer Clinician override" in page


def test_the_patient_page_query_count_does_not_grow_with_lesions_visits_and_photos(
        alice_client: Client, case_a: Patient, alice, django_assert_num_queries) -> None:
    url = f"/patients/{case_a.pk}/"
    alice_client.get(url)  # warm the session and caches as on any later page
    with CaptureQueriesContext(connection) as baseline:
        assert alice_client.get(url).status_code == 200
    first = case_a.lesions.get()
    attach_photo(LesionObservation.objects.get(), alice)
    second_visit = new_lesion_visit(case_a, date(2026, 9, 10), alice, laterality="left",
                                    size="3", previous=[(first, "smaller", "1.5")])
    left = Lesion.objects.get(patient=case_a, laterality="left")
    new_lesion_visit(case_a, date(2026, 10, 10), alice, laterality="bilateral", size="2",
                     previous=[(first, "resolved", None), (left, "larger", "4")])
    for observation in second_visit.observations.all():
        attach_photo(observation, alice)
    assert (Lesion.objects.filter(patient=case_a).count(),
            Encounter.objects.filter(patient=case_a).count()) == (3, 3)
    with django_assert_num_queries(len(baseline.captured_queries)):
        response = alice_client.get(url)
    assert len(response.context["chart"]["lesions"]) == 3
    assert len(response.context["chart"]["visits"]) == 3


# --- Lesion timeline ------------------------------------------------------------------------------

def test_timeline_ages_agree_with_the_resolution_sentence(alice_client: Client, case_a: Patient,
                                                         alice) -> None:
    record_follow_up(patient=case_a, on=date(2026, 11, 9), status="resolved", changes={},
                     user=alice)
    response = alice_client.get(f"/lesions/{case_a.lesions.get().pk}/")
    view = response.context["view"]
    assert [row["age_words"] for row in view["rows"]] == ["12 mo", "15 mo"]
    assert view["resolution"] == "Resolved after 13 weeks, at 15 months of age."
    page = text_of(response.content.decode())
    assert "9 Nov 2026 15 mo" in page and "14 months 30 days" not in page


def test_timeline_chart_holds_only_observed_sizes_and_marks_the_resolution(
        alice_client: Client, case_a: Patient, alice) -> None:
    record_follow_up(patient=case_a, on=date(2026, 11, 9), status="resolved", changes={},
                     user=alice)
    response = alice_client.get(f"/lesions/{case_a.lesions.get().pk}/")
    chart = response.context["view"]["chart"]
    # The resolved visit copied the last size (2 mm) and was not measured: no point, no 0 mm.
    assert [p["largest_mm"] for p in chart["points"]] == [2.0, None]
    assert all(p["area_mm2"] is None for p in chart["points"])
    assert chart["events"] == [{"age_months": 14.99, "date": "2026-11-09",
                                "label": "Resolved at 15 mo"}]
    html = response.content.decode()
    assert '"largest_mm": 0' not in html and '"area_mm2": 0' not in html
    assert "2 mm at 12 months; resolved at 15 months" in html  # the chart's text alternative


def test_timeline_marks_an_overdue_follow_up_in_days(alice_client: Client, case_a: Patient,
                                                     monkeypatch) -> None:
    lesion = case_a.lesions.get()
    url = f"/lesions/{lesion.pk}/"
    on_day(monkeypatch, lesion.next_follow_up_due - timedelta(days=3))
    page = text_of(alice_client.get(url).content.decode())
    assert f"Next follow-up due {shown(lesion.next_follow_up_due)}" in page
    assert "Overdue" not in page
    on_day(monkeypatch, lesion.next_follow_up_due + timedelta(days=12))
    response = alice_client.get(url)
    assert response.context["view"]["due"]["overdue_days"] == 12
    assert f"{shown(lesion.next_follow_up_due)} Overdue 12 days" in text_of(
        response.content.decode())


def upload_forms(html: str) -> list[str]:
    return re.findall(r'<form method="post" enctype="multipart/form-data" action="([^"]+)"', html)


def test_timeline_has_one_photo_form_posting_to_the_latest_visit_by_default(
        alice_client: Client, case_a: Patient, alice) -> None:
    record_follow_up(patient=case_a, on=date(2026, 11, 9), status="smaller",
                     changes={"largest_diameter_mm": Decimal("1.5")}, user=alice)
    first, latest = LesionObservation.objects.order_by("encounter__date")
    html = alice_client.get(f"/lesions/{first.lesion_id}/").content.decode()
    assert upload_forms(html) == [f"/observations/{latest.pk}/photos/"]
    options = re.findall(r'<option value="([^"]+)"( selected)?>([^<]+)</option>', html)
    assert options == [
        (f"/observations/{latest.pk}/photos/", " selected", "9 Nov 2026 · 15 mo · Smaller"),
        (f"/observations/{first.pk}/photos/", "", "10 Aug 2026 · 12 mo · First visit")]
    assert "The photo will be attached to the visit of 9 Nov 2026 (15 mo)." in html


def test_a_photo_sent_for_an_earlier_visit_is_shown_under_that_visit(
        alice_client: Client, case_a: Patient, alice) -> None:
    record_follow_up(patient=case_a, on=date(2026, 11, 9), status="smaller",
                     changes={"largest_diameter_mm": Decimal("1.5")}, user=alice)
    first = LesionObservation.objects.order_by("encounter__date").first()
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 180, 170)).save(buffer, "JPEG")
    response = alice_client.post(f"/observations/{first.pk}/photos/", {
        "image": SimpleUploadedFile("heel.jpg", buffer.getvalue(), content_type="image/jpeg"),
        "caption": "first look"})
    assert response.status_code == 302
    view = alice_client.get(f"/lesions/{first.lesion_id}/").context["view"]
    assert [(row["encounter"].date, len(row["photos"])) for row in view["photos_by_visit"]] == [
        (FIRST_VISIT, 1)]


def test_a_refused_photo_keeps_the_chosen_visit(alice_client: Client, case_a: Patient,
                                                alice) -> None:
    record_follow_up(patient=case_a, on=date(2026, 11, 9), status="smaller",
                     changes={"largest_diameter_mm": Decimal("1.5")}, user=alice)
    first = LesionObservation.objects.order_by("encounter__date").first()
    response = alice_client.post(f"/observations/{first.pk}/photos/", {
        "image": SimpleUploadedFile("scan.jpg", b"%PDF-1.7", content_type="image/jpeg")})
    assert response.status_code == 400
    html = response.content.decode()
    assert upload_forms(html) == [f"/observations/{first.pk}/photos/"]
    assert f'<option value="/observations/{first.pk}/photos/" selected>' in html
    assert "not a readable JPEG or PNG" in html


def test_a_viewer_gets_no_photo_form(victor_client: Client, case_a: Patient) -> None:
    html = victor_client.get(f"/lesions/{case_a.lesions.get().pk}/").content.decode()
    assert upload_forms(html) == [] and "Attach a photo" not in html
