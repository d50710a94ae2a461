"""The foot diagram on the first-visit form in real Chromium: a click or a key on a region fills
in the lesion's site, heel subsite and laterality selects; changing the selects highlights the
region; each added lesion form gets its own diagram; no serious axe finding, no horizontal
overflow on a phone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from assessment.models import Lesion, Patient, Role
from tests.e2e.conftest import axe_violations, opened_page
from tests.factories import PatientFactory, SiteFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FIELDS = ("site", "heel_subsite", "laterality")


@pytest.fixture
def clinician(db) -> User:
    return UserFactory(username="alice", first_name="Alice", last_name="Clinician",
                       roles=[(SiteFactory(), Role.CLINICIAN)], password="alice-pass-1234")


@pytest.fixture
def patient(clinician: User) -> Patient:
    return PatientFactory(record_number="PICK-1", date_of_birth=date(2025, 2, 1),
                          created_by=clinician)


def open_form(page, patient: Patient) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-pass-1234")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Worklist").wait_for()
    page.goto(f"/patients/{patient.pk}/encounters/new/")
    page.get_by_role("heading", name="New visit for PICK-1").wait_for()


def chosen(page, prefix: str = "lesion-0") -> tuple[str, ...]:
    return tuple(page.locator(f"#id_{prefix}-{name}").input_value() for name in FIELDS)


def pressed(page, prefix: str = "lesion-0") -> list[str]:
    picker = page.locator(f"[data-site-picker='{prefix}']")
    return picker.locator(".site-region.is-selected").evaluate_all(
        "regions => regions.map(r => r.getAttribute('aria-label'))")


def test_clicking_a_heel_region_fills_in_the_selects_and_saves(page, patient: Patient) -> None:
    open_form(page, patient)
    region = page.get_by_role("button", name="Left heel, medial side")
    region.click()
    assert chosen(page) == ("heel", "medial", "left")
    assert region.get_attribute("aria-pressed") == "true"
    assert pressed(page) == ["Left heel, medial side"]
    assert page.locator("[data-site-picker='lesion-0'] [role=status]").inner_text() == \
        "Chosen: Heel, medial, left."

    page.locator("#id_lesion-0-count").fill("1")
    page.get_by_role("button", name="Save and assess").click()
    page.wait_for_url("**/assessments/*/")
    lesion = Lesion.objects.get()
    assert (lesion.site, lesion.heel_subsite, lesion.laterality) == ("heel", "medial", "left")


def test_the_keyboard_chooses_a_region(page, patient: Patient) -> None:
    open_form(page, patient)
    page.get_by_role("button", name="Right heel, posterior part (back of the heel)").focus()
    page.keyboard.press("Enter")
    assert chosen(page) == ("heel", "posterior", "right")
    # Another site clears the heel subsite, which belongs to the heel only.
    for _ in range(4):  # back over the right heel's other parts, drawn left to right
        page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Right sole"
    scrolled = page.evaluate("window.scrollY")
    page.keyboard.press("Space")
    assert chosen(page) == ("sole", "", "right")
    assert page.evaluate("window.scrollY") == scrolled  # Space chose; it did not scroll
    page.get_by_role("button", name="Dorsum of the left foot (top)").press("Enter")
    assert chosen(page) == ("foot_dorsum", "", "left")


def test_changing_the_selects_highlights_the_region(page, patient: Patient) -> None:
    open_form(page, patient)
    assert pressed(page) == []
    page.locator("#id_lesion-0-site").select_option("heel")
    page.locator("#id_lesion-0-heel_subsite").select_option("lateral")
    page.locator("#id_lesion-0-laterality").select_option("right")
    assert pressed(page) == ["Right heel, lateral side"]
    page.locator("#id_lesion-0-laterality").select_option("bilateral")
    assert sorted(pressed(page)) == ["Left heel, lateral side", "Right heel, lateral side"]
    page.locator("#id_lesion-0-site").select_option("knee")  # not on the diagram
    assert pressed(page) == []


def test_an_added_lesion_form_has_its_own_diagram(page, patient: Patient) -> None:
    open_form(page, patient)
    page.get_by_role("button", name="Left toes").click()
    page.get_by_role("button", name="Add another lesion").click()
    second = page.locator("[data-site-picker='lesion-1']")
    second.get_by_role("button", name="Right heel, central plantar part").click()
    assert chosen(page, "lesion-1") == ("heel", "central_plantar", "right")
    assert chosen(page) == ("toe", "", "left")


def test_the_form_with_the_diagram_has_no_serious_accessibility_finding(
        page, patient: Patient, output_dir: Path) -> None:
    open_form(page, patient)
    page.get_by_role("button", name="Left heel, medial side").click()
    violations = axe_violations(page)
    assert violations == [], "; ".join(f"{v['id']}: {v['help']} ({len(v['nodes'])})"
                                       for v in violations)
    page.locator("[data-site-picker='lesion-0']").screenshot(
        path=str(output_dir / "site_picker_1280.png"))


def test_the_diagram_fits_a_phone(browser, live_server, patient: Patient,
                                  output_dir: Path) -> None:
    with opened_page(browser, live_server.url, 390, 844) as (page, _, blocked):
        open_form(page, patient)
        picker = page.locator("[data-site-picker='lesion-0']")
        assert picker.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        diagram = picker.locator("svg").bounding_box()
        card = page.locator("#lesion-forms .card-body").first.bounding_box()
        assert diagram and card
        assert diagram["x"] >= card["x"]
        assert diagram["x"] + diagram["width"] <= card["x"] + card["width"]
        page.get_by_role("button", name="Right heel, medial side").click()
        assert chosen(page) == ("heel", "medial", "right")
        picker.screenshot(path=str(output_dir / "site_picker_390.png"))
    assert blocked == [], f"CSP violations: {blocked}"
