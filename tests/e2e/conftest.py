"""Browser tests: real Debian Chromium driven by Playwright against pytest-django's live server.

Playwright's sync API runs an event loop in this thread, so Django's async-safety check would
refuse ORM calls made by the test itself; the test settings module keeps HTTPS redirects off
because the live server reads them at start.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output" / "e2e"
AXE_URL = "/static/vendor/axe-core-4.14.1/axe.min.js"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test`, which installs it.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def opened_page(browser, base_url: str, width: int = 1280, height: int = 900
                ) -> Iterator[tuple[object, list[str], list[str]]]:
    """A page in a fresh context at this viewport, with the console errors and the
    Content-Security-Policy messages it logs (the caller asserts on them)."""
    context = browser.new_context(base_url=base_url, viewport={"width": width,
                                                               "height": height})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    blocked: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    try:
        yield page, errors, blocked
    finally:
        context.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    """A page that fails the test if the Content-Security-Policy blocked anything."""
    with opened_page(browser, live_server.url) as (page, _, blocked):
        yield page
    assert blocked == [], f"CSP violations: {blocked}"


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run the vendored axe-core on the page; return violations of the given impacts.

    axe is loaded from the app's own static files: the Content-Security-Policy allows scripts
    from this origin only, and the tests do not weaken it."""
    page.add_script_tag(url=AXE_URL)
    # preload off: axe would re-fetch stylesheets, and the @import in Django admin's forms.css
    # is then reported by the browser as a CSP violation of axe's own making.
    result = page.evaluate("async () => await axe.run(document, {preload: false})")
    return [v for v in result["violations"] if v.get("impact") in impacts]
