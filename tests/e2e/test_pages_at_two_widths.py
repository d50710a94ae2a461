"""Every page a clinician or reviewer reads, in real Chromium at desktop (1366x900) and phone
(390x844) width: no horizontal overflow, the assessment's summary card inside the first
viewport, no serious or critical axe-core finding, no console error and no CSP violation (the
``page`` fixture fails on those). Screenshots go to test-output/e2e/pages-*.png.

One test walks all pages so that the browser part runs once per database.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import User

from assessment.demo import load_demo
from assessment.models import Assessment, Encounter, Lesion, Patient, Role
from tests.e2e.conftest import axe_violations, opened_page
from tests.factories import SiteFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.fixture
def people(db) -> dict[str, User]:
    site = SiteFactory(name="North clinic")
    alice = UserFactory(username="alice", first_name="Alice", last_name="Clinician",
                        roles=[(site, Role.CLINICIAN)], password="alice-pass-1234")
    rita = UserFactory(username="rita", first_name="Rita", last_name="Reviewer", is_staff=True,
                       roles=[(site, Role.REVIEWER)], password="rita-pass-1234")
    load_demo(alice)
    return {"alice": alice, "rita": rita}


def _pages() -> dict[str, list[tuple[str, str]]]:
    b = Patient.objects.get(record_number="DEMO-B")
    a = Patient.objects.get(record_number="DEMO-A")
    urgent = Assessment.objects.filter(observation__encounter__patient=b).first()
    resolved = Lesion.objects.filter(patient=a).first()
    follow_up = Encounter.objects.filter(patient=a).order_by("-date").first()
    return {
        "alice": [
            ("worklist", "/"), ("patients", "/patients/"),
            ("patient", f"/patients/{b.pk}/"), ("history", f"/patients/{a.pk}/history/"),
            ("visit-form", f"/patients/{b.pk}/encounters/new/"),
            ("assessment-urgent", f"/assessments/{urgent.pk}/"),
            ("timeline", f"/lesions/{resolved.pk}/"),
            ("visit-summary", f"/assessments/{urgent.pk}/summary/"),
            ("exports", "/export/"),
        ],
        "rita": [
            ("outcomes", "/registry/outcomes/"),
            ("admin-encounters", "/admin/assessment/encounter/"),
            ("admin-encounter", f"/admin/assessment/encounter/{follow_up.pk}/change/"),
        ],
    }


def _login(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def _check(page, name: str, path: str, where: str, height: int, shot: Path) -> list[str]:
    """What is wrong with one page at one size (nothing: an empty list)."""
    response = page.goto(path)
    page.wait_for_load_state()
    if response is None or response.status != 200:
        return [f"{where}: status {response and response.status}"]
    page.screenshot(path=str(shot), full_page=True)
    problems = []
    scroll = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    if scroll > inner:
        problems.append(f"{where}: {scroll} px wide in a {inner} px window")
    if name.startswith("assessment"):
        bottom = page.evaluate("document.getElementById('summary').getBoundingClientRect().bottom")
        if bottom > height:
            problems.append(f"{where}: summary card ends at {bottom:.0f} px, below the first "
                            f"{height} px")
    problems += [f"{where}: axe {v['id']}: {v['help']} "
                 f"({', '.join(str(node['target']) for node in v['nodes'])})"
                 for v in axe_violations(page)]
    return problems


def test_pages_fit_read_first_and_pass_axe(browser, live_server, people, output_dir: Path
                                           ) -> None:
    pages = _pages()
    problems: list[str] = []
    for size, (width, height) in VIEWPORTS.items():
        for username, paths in pages.items():
            with opened_page(browser, live_server.url, width, height) as (page, console, _):
                _login(page, username, f"{username}-pass-1234")
                for name, path in paths:
                    problems += _check(page, name, path, f"{name} at {size}", height,
                                       output_dir / f"pages-{name}-{size}.png")
            # CSP refusals are console errors too.
            problems.extend(f"console error ({username}, {size}): {text}" for text in console)
    assert problems == [], "\n".join(problems)
