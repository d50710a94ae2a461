"""Following seed case A to resolution in real Chromium: the 3-month recheck recorded as
resolved closes the lesion, the timeline shows the time to resolution and the chart, a photo
is attached and shown; the worklist shows an overdue follow-up."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from PIL import Image

from assessment.demo import record_contract_case
from assessment.models import Lesion, Photo, Role
from tests.builders import load_case
from tests.e2e.conftest import axe_violations
from tests.factories import SiteFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clinician(db, settings, tmp_path) -> User:
    settings.MEDIA_ROOT = tmp_path / "media"
    return UserFactory(username="alice", first_name="Alice", last_name="Clinician",
                       roles=[(SiteFactory(), Role.CLINICIAN)], password="alice-pass-1234")


def record_case_a(user: User) -> None:
    record_contract_case(data=load_case("seed_case_a_pearl_like_heel_nodule.json")["input"],
                         record_number="CASE-A", born=date(2025, 8, 10), visit=date(2026, 8, 10),
                         label="right lateral heel nodule", user=user, site=SiteFactory())


def login(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Worklist").wait_for()


def test_case_a_is_followed_to_resolution_with_chart_and_photo(page, clinician,
                                                               output_dir: Path,
                                                               tmp_path: Path) -> None:
    record_case_a(clinician)
    login(page, "alice", "alice-pass-1234")

    # The first visit's follow-up (12 weeks after 2026-08-10) is overdue today.
    overdue = page.locator("section[aria-labelledby=overdue-heading]")
    assert "CASE-A · right lateral heel nodule" in overdue.inner_text()
    assert axe_violations(page) == []
    page.screenshot(path=str(output_dir / "worklist.png"), full_page=True)

    overdue.get_by_role("link", name="CASE-A · right lateral heel nodule").click()
    page.get_by_role("link", name="Record follow-up").click()
    page.locator("#id_visit-date").fill("2026-11-09")
    lesion = Lesion.objects.get()
    prefix = f"#id_lesion-{lesion.pk}"
    assert page.locator(f"{prefix}-largest_diameter_mm").input_value() == "2.0"  # prefilled
    page.locator(f"{prefix}-course_status").select_option("resolved")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Save follow-up").click()

    page.get_by_text("Follow-up recorded.").wait_for()
    assert page.locator("#resolution").inner_text() == \
        "Resolved after 13 weeks, at 15 months of age."
    assert "Resolved 9 Nov 2026" in page.locator("main").inner_text()
    lesion.refresh_from_db()
    assert lesion.status == "resolved"

    points = page.evaluate("""() => {
        const chart = Chart.getChart(document.getElementById('size-chart'));
        return chart.data.datasets[0].data.map(p => [p.x, p.y]);
    }""")
    # Observed sizes only: the resolution is a marked event, not a measured 0 mm.
    assert points == [[12, 2]]
    assert page.locator("canvas#size-chart").bounding_box()["height"] > 100

    # Attach a photo to the first visit and see it on the timeline.
    image = io.BytesIO()
    Image.new("RGB", (300, 200), (222, 200, 190)).save(image, "JPEG")
    photo_file = tmp_path / "heel.jpg"
    photo_file.write_bytes(image.getvalue())
    # One upload form for the lesion; the visit is chosen from a list (the first visit here).
    first_visit = page.locator("#photo-visit option", has_text="10 Aug 2026")
    page.locator("#photo-visit").select_option(first_visit.get_attribute("value"))
    page.get_by_label("Photo (JPEG or PNG)").set_input_files(str(photo_file))
    page.get_by_label("Caption").fill("first visit, right heel")
    page.get_by_role("button", name="Attach photo").click()
    page.get_by_text("Photo attached").wait_for()
    photo = Photo.objects.get()
    assert photo.observation == lesion.observations.order_by("encounter__date").first()
    img = page.locator(f"img[src='/photos/{photo.pk}/']")
    img.wait_for()
    assert page.evaluate("(el) => el.complete && el.naturalWidth", img.element_handle()) == 300
    assert axe_violations(page) == []
    page.screenshot(path=str(output_dir / "timeline_case_a.png"), full_page=True)


def test_a_bad_upload_is_refused_in_the_browser(page, clinician, tmp_path: Path) -> None:
    record_case_a(clinician)
    login(page, "alice", "alice-pass-1234")
    page.goto(f"/lesions/{Lesion.objects.get().pk}/")
    fake = tmp_path / "report.jpg"
    fake.write_bytes(b"%PDF-1.7 this is a document")
    page.get_by_label("Photo (JPEG or PNG)").set_input_files(str(fake))
    page.get_by_role("button", name="Attach photo").click()
    page.get_by_text("not a readable JPEG or PNG image").wait_for()
    assert not Photo.objects.exists()
