"""The clinician's journey in real Chromium: log in, create a patient, enter seed cases B and C
through the one-page visit form, read the assessments, override one with a reason; a reviewer
approves the visit in the admin. Screenshots go to test-output/e2e/; axe-core checks each page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from assessment.models import AssessmentDecision, Encounter, Role
from tests.e2e.conftest import axe_violations
from tests.factories import SiteFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clinician(db) -> User:
    return UserFactory(username="alice", first_name="Alice", last_name="Clinician",
                       roles=[(SiteFactory(), Role.CLINICIAN)], password="alice-pass-1234")


def login(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def no_serious_violations(page, name: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{name}: " + "; ".join(
        f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in violations)


def create_patient(page, record: str, born: str, sex: str, **history: str) -> None:
    page.get_by_role("link", name="New patient").click()
    page.get_by_label("Record number").fill(record)
    page.get_by_label("Date of birth").fill(born)
    page.get_by_label("Sex").select_option(sex)
    for field, answer in history.items():
        page.locator(f"#id_{field}").select_option(answer)
    page.get_by_role("button", name="Save patient").click()
    page.get_by_role("heading", name=f"Patient {record}").wait_for()


def fill_lesion(page, **fields: str) -> None:
    for name, value in fields.items():
        element = page.locator(f"#id_lesion-0-{name}")
        if element.evaluate("e => e.tagName") == "SELECT":
            element.select_option(value)
        else:
            element.fill(value)


def fill_lab(page, row: int, analyte: str, value: str, unit: str, low: str = "",
             high: str = "") -> None:
    page.locator(f"#id_lab-{row}-analyte").select_option(analyte)
    page.locator(f"#id_lab-{row}-value").fill(value)
    page.locator(f"#id_lab-{row}-unit").select_option(unit)
    if low:
        page.locator(f"#id_lab-{row}-reference_low").fill(low)
        page.locator(f"#id_lab-{row}-reference_high").fill(high)


def test_clinician_enters_case_b_and_sees_iatrogenic_and_metastatic(page, clinician,
                                                                    output_dir: Path) -> None:
    login(page, "alice", "alice-pass-1234")
    page.get_by_role("heading", name="Worklist").wait_for()
    page.get_by_role("link", name="Patients", exact=True).click()
    page.wait_for_url("**/patients/")
    no_serious_violations(page, "patient list")

    create_patient(page, "CASE-B", "2025-04-15", "female", renal_disease="true",
                   iv_calcium_received="true", neonatal_heel_sticks="false")
    page.get_by_role("link", name="New visit").click()
    page.locator("#id_visit-date").fill("2026-09-15")
    fill_lesion(page, label="left heel plaque", site="heel", laterality="left", count="1",
                distribution="localized", largest_diameter_mm="22",
                perpendicular_diameter_mm="18", color="erythematous", morphology="plaque",
                surface="ulcerated", onset_age_months="16", duration_weeks="3",
                iv_calcium_at_lesion_site="true")
    for feature in ("swelling", "erythema_around", "chalky_discharge"):
        page.check(f"input[name='lesion-0-features'][value='{feature}']")
    # Units as the seed printed them, with the laboratory's own (adult) limits.
    fill_lab(page, 0, "creatinine", "7.18", "mg/dL", "0.5", "1.2")
    fill_lab(page, 1, "urea", "230", "mg/dL", "15", "50")
    fill_lab(page, 2, "calcium_total", "3.9", "mg/dL", "8.5", "10.5")
    fill_lab(page, 3, "phosphate", "19.8", "mg/dL", "3.8", "6.5")
    page.locator("#id_imaging-xray").select_option("radiopaque")
    page.locator("#id_imaging-ultrasound").select_option("hyperechoic_without_shadowing")
    no_serious_violations(page, "encounter form")
    page.screenshot(path=str(output_dir / "encounter_form_case_b.png"), full_page=True)
    page.get_by_role("button", name="Save and assess").click()

    page.get_by_role("heading", name="Left heel plaque").wait_for()
    # The answer first: the summary card names the urgent flag and sits in the first screen.
    summary = page.locator("#summary")
    assert "Urgent" in summary.inner_text() and "Same day" in summary.inner_text()
    assert summary.bounding_box()["y"] + summary.bounding_box()["height"] <= 900
    classification = page.locator("section[aria-labelledby=class-heading]").inner_text().lower()
    assert "iatrogenic" in classification and "metastatic" in classification
    caxp = page.locator("section[aria-labelledby=labs-heading]").inner_text()
    assert "77.2 mg²/dL²" in caxp and "High" in caxp
    flags = page.locator("section[aria-labelledby=flags-heading]").inner_text()
    assert "Ca×P 77.2" in flags
    first_flag = page.locator("section[aria-labelledby=flags-heading] .alert").first
    assert "Urgent" in first_flag.inner_text()
    no_serious_violations(page, "assessment page")
    page.screenshot(path=str(output_dir / "assessment_case_b.png"), full_page=True)

    # The override guard: a milder management than the urgent flag needs the tick.
    page.get_by_label("Override").check()
    page.get_by_label("Your diagnosis (when overriding)").select_option(
        "calcium_extravasation_calcinosis")
    page.get_by_label("Your management (when overriding)").select_option("refer")
    page.get_by_label("Reason").fill("Repeat calcium was normal; outpatient review agreed.")
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text("tick to confirm you considered it").wait_for()
    assert not AssessmentDecision.objects.exists()
    page.get_by_label("I have considered the urgent red flag", exact=False).check()
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text("Your decision is recorded").wait_for()
    summary = page.locator("#summary").inner_text()
    assert "Refer" in summary and "Engine: Urgent" in summary
    assert "Red flag considered" in summary
    assert AssessmentDecision.objects.get().flag_considered


def test_clinician_enters_case_c_sees_wait_and_watch_and_overrides(page, clinician,
                                                                  output_dir: Path) -> None:
    login(page, "alice", "alice-pass-1234")
    page.get_by_role("heading", name="Worklist").wait_for()
    page.goto("/patients/")
    create_patient(page, "CASE-C", "2026-02-01", "male", preterm_birth="true", nicu_stay="true",
                   neonatal_heel_sticks="true", iv_calcium_received="false",
                   renal_disease="false")
    page.get_by_role("link", name="New visit").click()
    page.locator("#id_visit-date").fill("2026-10-01")
    fill_lesion(page, site="heel", heel_subsite="medial", laterality="bilateral", count="3",
                distribution="grouped", largest_diameter_mm="3", color="white_yellow",
                morphology="papule", surface="smooth", consistency="firm",
                onset_age_months="6", duration_weeks="8", trend="stable")
    fill_lab(page, 0, "calcium_total", "9.9", "mg/dL")
    fill_lab(page, 1, "phosphate", "5.6", "mg/dL")
    page.get_by_role("button", name="Save and assess").click()

    page.locator("#summary").wait_for()
    assert "Calcified heel-stick nodule" in page.locator("#summary").inner_text()
    management = page.locator("section[aria-labelledby=mgmt-heading]").inner_text()
    assert "Management: Watchful waiting" in management
    assert "Expected to resolve between 2027-08 and 2028-08, at 18–30 months of age" in management
    page.screenshot(path=str(output_dir / "assessment_case_c.png"), full_page=True)

    # Override with a reason: first without one, which is refused with the values kept.
    page.get_by_label("Override").check()
    page.get_by_label("Your diagnosis (when overriding)").select_option(
        "subepidermal_calcified_nodule")
    page.get_by_label("Your management (when overriding)").select_option("watchful_waiting")
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text("Give the reason for overriding the assessment.").wait_for()
    assert page.get_by_label("Your diagnosis (when overriding)").input_value() == \
        "subepidermal_calcified_nodule"
    page.get_by_label("Reason").fill("Solitary-looking core on dermoscopy; SCN favoured.")
    page.get_by_role("button", name="Record decision").click()
    page.get_by_text("Your decision is recorded").wait_for()
    decision = page.locator("#decision").inner_text()
    assert "Override by Alice Clinician" in decision and "SCN favoured" in decision
    row = AssessmentDecision.objects.get()
    assert row.decision == "override" and row.final_entity == "subepidermal_calcified_nodule"


def test_reviewer_approves_the_encounter_in_the_admin(page, clinician, output_dir: Path) -> None:
    from assessment.demo import load_demo

    load_demo(clinician)
    UserFactory(username="rita", is_staff=True, roles=[(SiteFactory(), Role.REVIEWER)],
                password="rita-pass-1234")
    login(page, "rita", "rita-pass-1234")
    encounter = Encounter.objects.get(patient__record_number="DEMO-B")
    page.goto("/admin/assessment/encounter/?review_status__exact=pending")
    page.get_by_role("link", name="DEMO-B").click()
    page.get_by_text("Engine assessments").wait_for()
    page.get_by_label("Review status").select_option("approved")
    page.get_by_label("Review comment").fill("Mixed etiology agreed; nephrology informed.")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("was changed successfully").wait_for()
    page.screenshot(path=str(output_dir / "admin_review.png"), full_page=True)
    encounter.refresh_from_db()
    assert encounter.review_status == "approved"
    assert encounter.reviewed_by.username == "rita" and encounter.reviewed_at is not None


def test_login_page_is_accessible_and_wrong_password_keeps_the_username(page, clinician,
                                                                       output_dir: Path) -> None:
    page.goto("/accounts/login/")
    no_serious_violations(page, "login")
    page.screenshot(path=str(output_dir / "login.png"))
    login(page, "alice", "wrong-password")
    assert page.get_by_role("alert").inner_text().startswith("Your username and password")
    assert page.get_by_label("Username").input_value() == "alice"


def test_the_api_from_the_browser_with_a_session_and_csrf(page, clinician) -> None:
    from tests.builders import load_case

    login(page, "alice", "alice-pass-1234")
    page.get_by_role("heading", name="Worklist").wait_for()
    result = page.evaluate(
        """async (body) => {
            const token = document.cookie.split('; ').find(c => c.startsWith('csrftoken='))
                .split('=')[1];
            const response = await fetch('/api/v1/assess', {method: 'POST',
                headers: {'Content-Type': 'application/json', 'X-CSRFToken': token},
                body: JSON.stringify(body)});
            return {status: response.status, json: await response.json()};
        }""", load_case("seed_case_b_extravasation_renal_failure.json")["input"])
    assert result["status"] == 200
    assert result["json"]["calcium_phosphate_product"]["value_mg2_dl2"] == 77.2
