"""The printouts in real Chromium: the visit summary of each seed case prints on exactly one A4
(and one Letter) page, and the parent handout of a benign case carries the child's own dates and
next visit with no source tag. PDFs and print-media screenshots go to
test-output/e2e/print-*.{pdf,png}.

One test, one browser context: the live server and the login are paid for once.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from pypdf import PdfReader

from assessment.demo import load_demo
from assessment.models import Assessment, Role
from tests.e2e.conftest import opened_page
from tests.e2e.test_pages_at_two_widths import _login
from tests.factories import SiteFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SOURCE_TAG = re.compile(r"\[(?:[MS]|V ?R\s?\d+[a-z]?)\]")
# 210 × 297 mm less 12 mm margins each side, at 96 px per inch.
A4_PRINTABLE_PX = {"width": 703, "height": 1032}


@pytest.fixture
def alice(db) -> User:
    site = SiteFactory(name="North clinic")
    alice = UserFactory(username="alice", first_name="Alice", last_name="Clinician",
                        roles=[(site, Role.CLINICIAN)], password="alice-pass-1234")
    load_demo(alice)
    return alice


def _first_assessment(record_number: str) -> Assessment:
    return Assessment.objects.filter(
        observation__encounter__patient__record_number=record_number).order_by("created_at",
                                                                               "id").first()


def _print(page, shot: Path) -> tuple[PdfReader, int]:
    """The page printed on A4 as the browser prints it (saved with a print-media screenshot
    beside it), and how many Letter pages it takes."""
    page.emulate_media(media="print")
    # The screenshot is as wide as A4 less its 12 mm margins, so its lines break as on paper.
    viewport = page.viewport_size
    page.set_viewport_size(A4_PRINTABLE_PX)
    page.screenshot(path=str(shot.with_suffix(".png")), full_page=True)
    page.set_viewport_size(viewport)
    pdf = page.pdf(format="A4", print_background=True)
    letter = len(PdfReader(io.BytesIO(page.pdf(format="Letter", print_background=True))).pages)
    page.emulate_media(media="screen")
    shot.with_suffix(".pdf").write_bytes(pdf)
    return PdfReader(io.BytesIO(pdf)), letter


def _text(reader: PdfReader) -> str:
    return re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))


def test_printouts_fit_and_say_the_right_things(browser, live_server, alice: User,
                                               output_dir: Path) -> None:
    problems: list[str] = []
    with opened_page(browser, live_server.url, 1280, 900) as (page, console, blocked):
        _login(page, "alice", "alice-pass-1234")
        for record in ("DEMO-A", "DEMO-B", "DEMO-C"):
            assessment = _first_assessment(record)
            page.goto(f"/assessments/{assessment.pk}/")
            page.get_by_role("link", name="Print visit summary").click()
            page.wait_for_load_state()
            assert page.url.endswith(f"/assessments/{assessment.pk}/summary/")
            # print.js shows the button and wires it to window.print().
            button = page.get_by_role("button", name="Print")
            assert button.is_visible()
            page.evaluate("window.print = () => { window.printed = true; }")
            button.click()
            assert page.evaluate("window.printed") is True
            reader, letter_pages = _print(page, output_dir / f"print-summary-{record}")
            if len(reader.pages) != 1:
                problems.append(f"{record}: summary prints on {len(reader.pages)} A4 pages")
            if letter_pages != 1:
                problems.append(f"{record}: summary prints on {letter_pages} Letter pages")
            text = _text(reader)
            for expected in (record, "red flags", "follow-up",
                             "the clinician's judgement prevails"):
                if expected.lower() not in text.lower():
                    problems.append(f"{record}: summary PDF lacks {expected!r}")
            for hidden in ("Back to the assessment", "Print"):
                if re.search(rf"\b{hidden}\b", text):
                    problems.append(f"{record}: {hidden!r} printed")

        # Seed case C (born 1 Feb 2026, seen 1 Oct 2026): the parent handout.
        benign = _first_assessment("DEMO-C")
        page.goto(f"/assessments/{benign.pk}/")
        page.get_by_role("link", name="Parent handout").click()
        page.wait_for_load_state()
        reader, _ = _print(page, output_dir / "print-handout-DEMO-C")
        text = _text(reader)
        if len(reader.pages) != 1:
            problems.append(f"handout prints on {len(reader.pages)} pages")
        for expected in ("August 2027", "August 2028", "18 to 30 months old",
                         "Thursday 24 December 2026", "Call the clinic for an earlier visit",
                         "Visit on 1 October 2026"):
            if expected not in text:
                problems.append(f"handout PDF lacks {expected!r}")
        if SOURCE_TAG.search(text) or "[" in text:
            problems.append(f"handout PDF shows a source tag: {SOURCE_TAG.search(text)}")

        # Seed case B is urgent: no link, and its handout page prints only the notice.
        urgent = _first_assessment("DEMO-B")
        page.goto(f"/assessments/{urgent.pk}/")
        assert page.get_by_role("link", name="Parent handout").count() == 0
        page.goto(f"/assessments/{urgent.pk}/handout/")
        text = _text(_print(page, output_dir / "print-handout-refused-DEMO-B")[0])
        if "clinical summary is the only printout" not in text or "Come back" in text:
            problems.append("urgent case: handout notice wrong")
    problems += [f"console error: {message}" for message in console]
    problems += [f"CSP: {message}" for message in blocked]
    assert problems == [], "\n".join(problems)
