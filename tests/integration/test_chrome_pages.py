"""Site chrome and forms: the error pages (400, 403, 404, 500), the favicon, the collapsing
navigation, the visit and patient forms' layout and labels, and resetting the demo accounts."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.template.loader import get_template, render_to_string
from django.test import Client, RequestFactory
from django.views import defaults

from assessment import services
from assessment.models import Encounter, EncounterKind, Membership, Patient, Role
from tests.factories import PatientFactory
from tests.integration.test_views import encounter_post

STYLESHEET = "vendor/bootstrap-5.3.9/css/bootstrap.min.css"


@pytest.fixture
def patient(alice) -> Patient:
    return PatientFactory(record_number="CH-001", date_of_birth=date(2025, 2, 1), sex="male",
                          created_by=alice)


def text(response_or_html: object) -> str:
    """What a person reads: the page without its tags."""
    html = getattr(response_or_html, "content", response_or_html)
    html = html.decode() if isinstance(html, bytes) else str(html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- Error pages -------------------------------------------------------------------------------

def test_a_missing_page_is_a_styled_404_that_says_what_happened(alice_client: Client) -> None:
    response = alice_client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert STYLESHEET in html and "navbar" in html
    assert "Page not found" in text(response)
    assert "a record you cannot see" in text(response)
    assert 'href="/patients/"' in html and "Log out" in html  # logged in: the navigation too


def test_another_clinics_record_gets_the_same_404_without_the_model_name(
        patient: Patient, charlie_client: Client) -> None:
    response = charlie_client.get(f"/patients/{patient.pk}/")
    assert response.status_code == 404
    assert "Page not found" in text(response)
    assert "matches the given query" not in text(response)


def test_a_viewer_opening_an_edit_page_gets_a_styled_403_in_words(
        patient: Patient, victor_client: Client) -> None:
    response = victor_client.get(f"/patients/{patient.pk}/edit/")
    assert response.status_code == 403
    html = response.content.decode()
    assert STYLESHEET in html and "navbar-toggler" in html
    words = text(response)
    assert "Not allowed" in words
    assert "does not allow you to enter or change records" in words  # PermissionDenied's text
    assert "Nothing was changed" in words
    assert 'href="/"' in html and "Back to the worklist" in words


def test_the_403_says_why_an_archived_record_cannot_be_changed(
        patient: Patient, alice, alice_client: Client) -> None:
    services.patient_archive(patient=patient, user=alice)
    response = alice_client.get(f"/patients/{patient.pk}/edit/")
    assert response.status_code == 403
    assert "archived: it can be read but not changed" in text(response)


@pytest.mark.parametrize("name", ["500.html", "400.html"])
def test_the_500_and_400_pages_render_with_an_empty_context(name: str) -> None:
    """Django renders them with no context and no request: no user, no context processors."""
    html = get_template(name).render()
    assert STYLESHEET in html
    assert "Log out" not in html and "navbar-toggler" not in html
    assert 'href="/"' in html


def test_the_500_handler_answers_with_the_styled_page(db) -> None:
    response = defaults.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert "Something went wrong on our side" in text(response)
    assert "may not have been saved" in text(response)


def test_the_400_handler_answers_with_the_styled_page(db) -> None:
    response = defaults.bad_request(RequestFactory().get("/"), Exception("ignored"))
    assert response.status_code == 400
    assert "Request not understood" in text(response)
    assert "ignored" not in text(response), "the exception is never shown"


def test_the_lockout_page_still_renders(db) -> None:
    html = render_to_string("registration/locked_out.html",
                            {"failure_limit": 5, "username": "alice"})
    assert STYLESHEET in html
    assert "Too many failed logins" in text(html) and "alice" in text(html)


# --- Favicon and navigation --------------------------------------------------------------------

def test_every_page_links_the_favicon(alice_client: Client) -> None:
    html = alice_client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    assert finders.find("favicon.svg") is not None


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_favicon_ico_redirects_to_the_svg_for_everyone(db, alice, logged_in: bool) -> None:
    client = Client()
    if logged_in:
        client.force_login(alice)
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
    assert client.post("/favicon.ico").status_code == 405


def test_the_favicon_is_a_small_svg() -> None:
    with open(finders.find("favicon.svg"), encoding="utf-8") as handle:
        svg = handle.read()
    assert svg.lstrip().startswith("<svg") and len(svg) < 2000
    assert "style=" not in svg and "<script" not in svg


def test_the_navigation_collapses_behind_a_toggler_on_phones(rita_client: Client) -> None:
    html = rita_client.get("/").content.decode()
    toggler = re.search(r'<button class="navbar-toggler"[^>]*>', html)
    assert toggler is not None
    for attribute in ('data-bs-toggle="collapse"', 'data-bs-target="#main-nav"',
                      'aria-controls="main-nav"', 'aria-expanded="false"', "aria-label="):
        assert attribute in toggler.group(0), attribute
    menu = html[html.index('id="main-nav"'):html.index("</nav>")]
    for link in ("Worklist", "Patients", "Exports", "Outcomes", "Review (admin)", "Log out"):
        assert link in menu, link
    assert 'action="/accounts/logout/"' in menu
    assert "onclick" not in html and "<script>" not in html


def test_no_toggler_when_logged_out(db) -> None:
    html = Client().get("/accounts/login/").content.decode()
    assert "navbar-toggler" not in html and "Log out" not in html


# --- Forms -------------------------------------------------------------------------------------

def test_a_one_clinic_clinician_sees_no_blank_column_for_the_hidden_clinic(
        alice_client: Client) -> None:
    html = alice_client.get("/patients/new/").content.decode()
    hidden = re.search(r'<input type="hidden" name="site"[^>]*>', html)
    assert hidden is not None
    before = html[:hidden.start()].rstrip()
    assert not re.search(r'class="col-md[^"]*"\s*>$', before), "the hidden clinic sits in a column"
    child_row = html[html.index("<legend"):html.index("History (unknown")]
    first_column = re.search(r'class="col-md[^"]*"\s*>\s*<div id="div_id_(\w+)"', child_row)
    assert first_column is not None and first_column.group(1) == "record_number"


def test_a_clinician_of_two_clinics_chooses_the_clinic_first(alice, south) -> None:
    Membership.objects.create(user=alice, site=south, role=Role.CLINICIAN)
    client = Client()
    client.force_login(alice)
    html = client.get("/patients/new/").content.decode()
    first_column = re.search(r'class="col-md[^"]*"\s*>\s*<div id="div_id_(\w+)"', html)
    assert first_column is not None and first_column.group(1) == "site"
    assert '<select name="site"' in html and "Clinic" in text(html)


def test_the_first_visit_form_does_not_ask_initial_or_follow_up(
        patient: Patient, alice_client: Client) -> None:
    response = alice_client.get(f"/patients/{patient.pk}/encounters/new/")
    html = response.content.decode()
    assert 'name="visit-kind"' not in html
    assert "Initial visit" not in text(response) and "Follow-up visit" not in text(response)


def test_the_page_sets_the_kind_initial_then_follow_up_for_a_later_new_lesion(
        patient: Patient, alice_client: Client) -> None:
    url = f"/patients/{patient.pk}/encounters/new/"
    first = encounter_post(date="2025-10-01")
    del first["visit-kind"]  # the form no longer has it
    assert alice_client.post(url, first).status_code == 302
    later = encounter_post(date="2025-12-01")  # still sends visit-kind=initial: ignored
    assert alice_client.post(url, later).status_code == 302
    kinds = list(Encounter.objects.filter(patient=patient).order_by("date")
                 .values_list("kind", flat=True))
    assert kinds == [EncounterKind.INITIAL, EncounterKind.FOLLOW_UP]


def test_the_visit_form_uses_readable_british_labels(patient: Patient,
                                                     alice_client: Client) -> None:
    words = text(alice_client.get(f"/patients/{patient.pk}/encounters/new/"))
    for label in ("White-yellow structureless", "Red-black dots", "Colour", "Skin-coloured",
                  "White-yellow"):
        assert label in words, label
    for wrong in ("White yellow", "Red black", "Color ", "colored"):
        assert wrong not in words, wrong


# --- Demo accounts -----------------------------------------------------------------------------

def test_ensure_demo_user_resets_a_changed_password_and_role(db, settings) -> None:
    settings.DEBUG = True
    call_command("ensure_demo_user", stdout=io.StringIO())
    demo = User.objects.get(username="demo")
    demo.set_password("something-else")
    demo.save()
    membership = Membership.objects.get(user=demo)
    membership.role = Role.VIEWER
    membership.save()

    out = io.StringIO()
    call_command("ensure_demo_user", stdout=out)

    demo.refresh_from_db()
    assert demo.check_password("heel-nodule-demo")
    assert Membership.objects.get(user=demo).role == Role.CLINICIAN
    assert "'demo' exists: reset to its published password" in out.getvalue()
    assert "password '" not in out.getvalue(), "the password is printed only at creation"
    assert Client().post("/accounts/login/", {"username": "demo",
                                              "password": "heel-nodule-demo"}).status_code == 302


def test_ensure_demo_user_leaves_a_removed_account_disabled(db, settings) -> None:
    settings.DEBUG = True
    call_command("ensure_demo_user", stdout=io.StringIO())
    call_command("remove_demo_accounts", stdout=io.StringIO())

    out = io.StringIO()
    call_command("ensure_demo_user", stdout=out)

    viewer = User.objects.get(username="viewer")
    assert not viewer.is_active and not viewer.has_usable_password()
    assert not Membership.objects.filter(user=viewer).exists()
    assert "'viewer' was disabled (remove_demo_accounts); left disabled." in out.getvalue()


def test_the_lockout_page_gives_the_wait_in_minutes(db) -> None:
    from datetime import timedelta

    html = render_to_string("registration/locked_out.html", {
        "failure_limit": 5, "username": "", "cooloff_timedelta": timedelta(minutes=15)})
    assert "locked for 15 minutes" in text(html)
    assert "0:15:00" not in html and "“”" not in html


def test_a_form_with_a_stale_csrf_token_gets_a_styled_page_in_words(alice) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/patients/new/", {"record_number": "X-1"})
    assert response.status_code == 403
    html = response.content.decode()
    assert STYLESHEET in html and "Log out" in html
    assert "This form was out of date" in text(response) and "Nothing was saved" in text(response)
    assert "CSRF" not in text(response)
