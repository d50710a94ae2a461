"""Follow-up visits, the lesion timeline, the worklist and photos."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from assessment.demo import load_demo, record_contract_case
from assessment.models import Assessment, Encounter, Lesion, LesionObservation, Patient, Photo
from tests.builders import load_case
from tests.factories import LesionFactory, PatientFactory

CASE_A = load_case("seed_case_a_pearl_like_heel_nodule.json")["input"]


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def case_a(alice, north) -> Patient:
    return record_contract_case(data=CASE_A, record_number="CASE-A", born=date(2025, 8, 10),
                                visit=date(2026, 8, 10), label="right lateral heel nodule",
                                user=alice, site=north)


def follow_up_post(lesion: Lesion, *, visit: str = "2026-11-09", **fields: Any
                   ) -> dict[str, Any]:
    prefix = f"lesion-{lesion.pk}"
    data: dict[str, Any] = {"visit-date": visit, "visit-notes": "",
                            f"{prefix}-include": "on", f"{prefix}-count": "1",
                            "lab-TOTAL_FORMS": "0", "lab-INITIAL_FORMS": "0",
                            "lab-MIN_NUM_FORMS": "0", "lab-MAX_NUM_FORMS": "30"}
    data.update({f"{prefix}-{key}": value for key, value in fields.items()})
    return data


# --- Follow-up visits ----------------------------------------------------------------------------

def test_follow_up_is_prefilled_from_the_last_observation(alice_client: Client,
                                                         case_a: Patient) -> None:
    response = alice_client.get(f"/patients/{case_a.pk}/follow-up/")
    assert response.status_code == 200
    form = response.context["entry"].lesion_forms[0]
    assert form.initial["largest_diameter_mm"] == 2
    assert form.initial["color"] == "white"
    assert b"last seen 10 Aug 2026" in response.content


def test_recording_resolved_closes_the_lesion(alice_client: Client, case_a: Patient) -> None:
    lesion = case_a.lesions.get()
    response = alice_client.post(f"/patients/{case_a.pk}/follow-up/",
                                 follow_up_post(lesion, course_status="resolved"))
    assert response.status_code == 302
    assert response["Location"] == f"/lesions/{lesion.pk}/"
    lesion.refresh_from_db()
    assert lesion.status == "resolved" and lesion.resolved_on == date(2026, 11, 9)
    assert lesion.next_follow_up_due is None
    encounter = Encounter.objects.get(date=date(2026, 11, 9))
    assert encounter.kind == "follow_up"
    assert Assessment.objects.filter(observation__encounter=encounter).count() == 0
    page = alice_client.get(f"/lesions/{lesion.pk}/").content.decode()
    assert "Resolved after 13 weeks, at 15 months of age." in page


def test_a_growing_reddening_lesion_gets_an_atypical_course(alice_client: Client,
                                                           case_a: Patient) -> None:
    lesion = case_a.lesions.get()
    response = alice_client.post(f"/patients/{case_a.pk}/follow-up/", follow_up_post(
        lesion, course_status="larger", largest_diameter_mm="4", color="white",
        consistency="hard", features=["erythema_around"]))
    assert response.status_code == 302
    assessment = Assessment.objects.get(observation__course_status="larger")
    assert {f["id"] for f in assessment.course_flags} >= {"CC-GROWING", "CC-NEW-RED-FLAG"}
    assert assessment.atypical_course
    # The engine re-ran on the latest findings: the new erythema is a review flag there too.
    assert any(f["code"] == "exclude_infection" for f in assessment.output_json["red_flags"])
    assert assessment.input_json["lesion"]["trend"] == "growing"
    lesion.refresh_from_db()
    assert lesion.atypical_course and lesion.next_follow_up_due == assessment.follow_up_due
    page = alice_client.get(f"/assessments/{assessment.pk}/").content.decode()
    assert page.index("Atypical course") < page.index("Red flags")


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"visit": "2026-08-10", "course_status": "smaller"}, "date", "a follow-up must come after"),
    ({"course_status": ""}, "course_status", "Say how the lesion has changed"),
    ({"course_status": "smaller", "largest_diameter_mm": "3",
      "perpendicular_diameter_mm": "5"}, "perpendicular_diameter_mm", "Cannot exceed"),
    ({"course_status": "present", "count": "0"}, "count", "must be from 1 to 500"),
])
def test_bad_follow_up_is_refused_keeps_values_and_saves_nothing(
        alice_client: Client, case_a: Patient, changes: dict[str, Any], field: str,
        words: str) -> None:
    lesion = case_a.lesions.get()
    before = (Encounter.objects.count(), LesionObservation.objects.count())
    response = alice_client.post(f"/patients/{case_a.pk}/follow-up/",
                                 follow_up_post(lesion, **changes))
    assert response.status_code == 400
    entry = response.context["entry"]
    form = entry.encounter_form if field == "date" else entry.lesion_forms[0]
    assert words in " ".join(form.errors[field])
    assert (Encounter.objects.count(), LesionObservation.objects.count()) == before
    lesion.refresh_from_db()
    assert lesion.status == "active"


def test_a_follow_up_needs_a_lesion_ticked(alice_client: Client, case_a: Patient) -> None:
    lesion = case_a.lesions.get()
    post = follow_up_post(lesion, course_status="smaller")
    del post[f"lesion-{lesion.pk}-include"]
    response = alice_client.post(f"/patients/{case_a.pk}/follow-up/", post)
    assert response.status_code == 400
    assert b"Tick at least one lesion" in response.content


def test_no_active_lesion_means_no_follow_up_page(alice_client: Client, alice) -> None:
    patient = PatientFactory(created_by=alice)
    response = alice_client.get(f"/patients/{patient.pk}/follow-up/")
    assert response.status_code == 302 and response["Location"] == f"/patients/{patient.pk}/"


def test_follow_up_refuses_anonymous_wrong_method_and_outsiders(
        alice_client: Client, bob_client: Client, rita_client: Client, case_a: Patient) -> None:
    url = f"/patients/{case_a.pk}/follow-up/"
    assert Client().get(url)["Location"].startswith("/accounts/login/")
    assert alice_client.put(url).status_code == 405
    assert bob_client.get(url).status_code == 404
    assert rita_client.get(url).status_code == 403


# --- Timeline ------------------------------------------------------------------------------------

def test_timeline_shows_every_observation_with_age_and_chart_data(alice_client: Client,
                                                                  alice) -> None:
    load_demo(alice)
    lesion = Lesion.objects.get(patient__record_number="DEMO-D")
    response = alice_client.get(f"/lesions/{lesion.pk}/")
    assert response.status_code == 200
    chart = response.context["view"]["chart"]
    assert [p["largest_mm"] for p in chart["points"]] == [3.0, 6.0]
    assert chart["points"][1]["area_mm2"] == pytest.approx(23.6, abs=0.1)
    assert chart["window"]["from"] == 18 and chart["window"]["to"] == 30
    html = response.content.decode()
    assert "14 months" in html and "17 months" in html
    assert 'id="timeline-data"' in html and "chart.umd.min.js" in html


def test_timeline_query_count_does_not_grow_with_observations(
        alice_client: Client, case_a: Patient, django_assert_max_num_queries) -> None:
    lesion = case_a.lesions.get()
    with django_assert_max_num_queries(20) as baseline:
        alice_client.get(f"/lesions/{lesion.pk}/")
    # Read now: every request resets Django's query log.
    baseline_count = len(baseline.captured_queries)
    for n in range(1, 6):
        alice_client.post(f"/patients/{case_a.pk}/follow-up/", follow_up_post(
            lesion, visit=(date(2026, 8, 10) + timedelta(weeks=2 * n)).isoformat(),
            course_status="present", largest_diameter_mm="2"))
    assert lesion.observations.count() == 6
    with django_assert_max_num_queries(baseline_count):
        alice_client.get(f"/lesions/{lesion.pk}/")


def test_timeline_refuses_anonymous_method_and_outsiders(alice_client: Client,
                                                         bob_client: Client,
                                                         case_a: Patient) -> None:
    url = f"/lesions/{case_a.lesions.get().pk}/"
    assert Client().get(url).status_code == 302
    assert alice_client.post(url).status_code == 405
    assert bob_client.get(url).status_code == 404


# --- Worklist ------------------------------------------------------------------------------------

def test_worklist_sorts_follow_ups_by_due_date_around_today(alice_client: Client,
                                                            alice) -> None:
    today = timezone.localdate()
    patient = PatientFactory(created_by=alice)
    due = {offset: LesionFactory(patient=patient, created_by=alice, label=f"due {offset}",
                                 next_follow_up_due=today + timedelta(days=offset))
           for offset in (-1, 0, 6, 7)}
    LesionFactory(patient=patient, created_by=alice, label="atypical", atypical_course=True)
    LesionFactory(patient=patient, created_by=alice, label="closed", status="resolved",
                  resolved_on=today, next_follow_up_due=today - timedelta(days=3))
    context = alice_client.get("/").context
    assert [row["url"] for row in context["overdue"]] == [f"/lesions/{due[-1].pk}/"]
    assert [row["title"] for row in context["due"]] == ["due 0", "due 6"]
    assert [row["due"] for row in context["due"]] == [today, today + timedelta(days=6)]
    assert [row["title"] for row in context["atypical"]] == ["atypical"]


def test_worklist_lists_visits_awaiting_review_with_links(alice_client: Client, alice) -> None:
    load_demo(alice)
    response = alice_client.get("/")
    assert response.context["review_count"] == 6
    html = response.content.decode()
    encounter = Encounter.objects.filter(patient__record_number="DEMO-B").get()
    assert f'href="/encounters/{encounter.pk}/"' in html
    overdue = response.context["overdue"]
    assert {row["record"] for row in overdue} >= {"DEMO-B", "DEMO-D"}


def test_worklist_query_count_does_not_grow(alice_client: Client, alice,
                                            django_assert_max_num_queries) -> None:
    load_demo(alice)
    with django_assert_max_num_queries(30) as baseline:
        alice_client.get("/")
    today = timezone.localdate()
    for n in range(25):
        patient = PatientFactory(created_by=alice)
        LesionFactory(patient=patient, created_by=alice, atypical_course=n % 2 == 0,
                      next_follow_up_due=today + timedelta(days=n % 9 - 4))
    with django_assert_max_num_queries(len(baseline.captured_queries)):
        alice_client.get("/")


def test_worklist_needs_login_and_shows_only_the_users_clinics(bob_client: Client,
                                                               charlie_client: Client,
                                                               alice) -> None:
    load_demo(alice)
    assert Client().get("/")["Location"].startswith("/accounts/login/")
    assert bob_client.get("/").context["review_count"] == 0
    assert charlie_client.get("/").context["overdue_count"] == 0


# --- Photos --------------------------------------------------------------------------------------

def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (320, 240), (210, 190, 180))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 12.0), 3: "W", 4: (0.0, 7.0, 40.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def upload(client: Client, observation: LesionObservation, name: str, content: bytes,
           content_type: str = "image/jpeg") -> Any:
    return client.post(f"/observations/{observation.pk}/photos/", {
        "image": SimpleUploadedFile(name, content, content_type=content_type),
        "caption": "first visit"})


def test_photo_upload_strips_gps_and_is_served_to_logged_in_users(alice_client: Client,
                                                                  case_a: Patient) -> None:
    observation = LesionObservation.objects.get()
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    response = upload(alice_client, observation, "IMG_0001.jpg", original)
    assert response.status_code == 302
    photo = Photo.objects.get()
    assert "IMG_0001" not in photo.image.name and photo.image.name.startswith("photos/")
    served = alice_client.get(f"/photos/{photo.pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert served["Cache-Control"] == "private, no-store"
    body = b"".join(served.streaming_content)
    image = Image.open(io.BytesIO(body))
    assert dict(image.getexif()) == {}
    assert b"PhoneMaker" not in body and "exif" not in image.info
    timeline = alice_client.get(f"/lesions/{observation.lesion_id}/").content.decode()
    assert f'src="/photos/{photo.pk}/"' in timeline


def test_png_is_accepted(alice_client: Client, case_a: Patient) -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (50, 40), (1, 2, 3, 200)).save(buffer, "PNG")
    response = upload(alice_client, LesionObservation.objects.get(), "x.png", buffer.getvalue(),
                      "image/png")
    assert response.status_code == 302
    assert Photo.objects.get().image_format == "PNG"


@pytest.mark.parametrize(("name", "content", "words"), [
    ("scan.jpg", b"%PDF-1.7 not really an image", "not a readable JPEG or PNG"),
    ("empty.jpg", b"", "empty"),
    ("truncated.jpg", b"", "damaged or truncated"),
    ("animation.gif", b"", "Only JPEG or PNG"),
])
def test_bad_uploads_are_refused_with_a_message(alice_client: Client, case_a: Patient,
                                                name: str, content: bytes, words: str) -> None:
    if name == "truncated.jpg":
        content = jpeg_with_gps()[:400]
    if name == "animation.gif":
        buffer = io.BytesIO()
        Image.new("P", (10, 10)).save(buffer, "GIF")
        content = buffer.getvalue()
    response = upload(alice_client, LesionObservation.objects.get(), name, content)
    assert response.status_code == 400
    errors = " ".join(response.context["photo_form"].errors["image"])
    assert words in errors or (name == "empty.jpg" and "empty" in errors.lower())
    assert not Photo.objects.exists()


def test_an_oversized_photo_is_refused(alice_client: Client, case_a: Patient, settings) -> None:
    settings.PHOTO_MAX_BYTES = 50_000
    noise = Image.frombytes("RGB", (400, 400), bytes(range(256)) * 1875)
    buffer = io.BytesIO()
    noise.save(buffer, "JPEG", quality=95)
    assert len(buffer.getvalue()) > 50_000
    response = upload(alice_client, LesionObservation.objects.get(), "big.jpg",
                      buffer.getvalue())
    assert response.status_code == 400
    assert "the limit is" in " ".join(response.context["photo_form"].errors["image"])
    assert not Photo.objects.exists()


def test_a_decompression_bomb_is_refused(alice_client: Client, case_a: Patient) -> None:
    buffer = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buffer, "PNG")  # 48 megapixels in a few kilobytes
    assert len(buffer.getvalue()) < 100_000
    response = upload(alice_client, LesionObservation.objects.get(), "bomb.png",
                      buffer.getvalue(), "image/png")
    assert response.status_code == 400
    assert "megapixels" in " ".join(response.context["photo_form"].errors["image"])


def test_photos_are_refused_to_anonymous_users_and_outsiders(alice_client: Client,
                                                            bob_client: Client,
                                                            case_a: Patient) -> None:
    upload(alice_client, LesionObservation.objects.get(), "a.jpg", jpeg_with_gps())
    photo = Photo.objects.get()
    anonymous = Client().get(f"/photos/{photo.pk}/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert bob_client.get(f"/photos/{photo.pk}/").status_code == 404
    # The file is not reachable by a public URL either.
    assert alice_client.get(f"/media/{photo.image.name}").status_code == 404
    assert alice_client.get(f"/static/{photo.image.name}").status_code == 404


def test_photo_upload_refuses_anonymous_get_and_readers(rita_client: Client,
                                                        case_a: Patient) -> None:
    url = f"/observations/{LesionObservation.objects.get().pk}/photos/"
    assert Client().post(url).status_code == 302
    assert rita_client.get(url).status_code == 405
    assert rita_client.post(url, {}).status_code == 403


def test_the_worklist_changes_as_soon_as_a_follow_up_is_recorded(alice_client: Client,
                                                                case_a: Patient) -> None:
    lesion = case_a.lesions.get()
    before = alice_client.get("/").context
    assert [row["url"] for row in before["overdue"]] == [f"/lesions/{lesion.pk}/"]
    alice_client.post(f"/patients/{case_a.pk}/follow-up/",
                      follow_up_post(lesion, course_status="resolved"))
    after = alice_client.get("/").context
    assert after["overdue"] == [] and after["overdue_count"] == 0


def test_a_review_in_the_admin_updates_the_worklist(alice_client: Client, rita_client: Client,
                                                   case_a: Patient) -> None:
    assert alice_client.get("/").context["review_count"] == 1
    encounter = Encounter.objects.get(patient=case_a)
    rita_client.post(f"/admin/assessment/encounter/{encounter.pk}/change/", {
        "review_status": "approved", "review_comment": "ok",
        "expected_version": encounter.version,
        **{f"{p}-{k}": v for p in ("observations", "labs", "imaging")
           for k, v in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"), ("MIN_NUM_FORMS", "0"),
                        ("MAX_NUM_FORMS", "1000"))}})
    assert alice_client.get("/").context["review_count"] == 0
