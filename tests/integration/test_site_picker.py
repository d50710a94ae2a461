"""The foot diagram on the first-visit form: one per lesion form, every region focusable and
labelled, its codes taken from the engine's vocabulary, and the selects still the only fields
(the form is saved without the diagram). The follow-up form has no diagram."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

import pytest
from django.test import Client

from assessment.engine import vocab
from assessment.models import Lesion, Patient
from tests.factories import PatientFactory
from tests.integration.test_views import encounter_post

pytestmark = pytest.mark.django_db

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class PickerParser(HTMLParser):
    """Collects each diagram (by its form prefix), its regions and any field inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.pickers: dict[str, dict[str, str | None]] = {}
        self.regions: dict[str, list[dict[str, str | None]]] = {}
        self.fields_inside: list[str] = []
        self.selects: set[str] = set()
        self._open: list[str | None] = []  # the picker prefix each open tag sits in
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, dict(attrs))
        if tag not in VOID:
            self._open.append(self._inside)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, dict(attrs))  # <path ... />: nothing to close later

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self._open:
            self._open.pop()

    def _element(self, tag: str, attributes: dict[str, str | None]) -> None:
        self._inside = self._open[-1] if self._open else None
        if "data-site-picker" in attributes:
            self._inside = attributes["data-site-picker"] or ""
            self.pickers[self._inside] = attributes
            self.regions[self._inside] = []
        if tag == "select" and attributes.get("id"):
            self.selects.add(attributes["id"] or "")
        if self._inside is not None:
            if "data-site" in attributes:
                self.regions[self._inside].append(attributes)
            if tag in ("input", "select", "textarea", "button") or "name" in attributes:
                self.fields_inside.append(tag)


def parse(client: Client, url: str) -> PickerParser:
    response = client.get(url)
    assert response.status_code == 200
    parser = PickerParser()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def patient(alice) -> Patient:
    # Born before encounter_post's visit date (2025-10-01).
    return PatientFactory(record_number="HX-001", date_of_birth=date(2025, 2, 1),
                          created_by=alice)


def test_it_shows_a_diagram_for_the_lesion_form_and_one_for_added_forms(
        alice_client: Client, patient: Patient) -> None:
    page = parse(alice_client, f"/patients/{patient.pk}/encounters/new/")
    assert set(page.pickers) == {"lesion-0", "lesion-__prefix__"}
    # Hidden until the script has wired it to the selects: no dead buttons without it.
    assert all("hidden" in attributes for attributes in page.pickers.values())
    for select in ("site", "heel_subsite", "laterality"):
        assert f"id_lesion-0-{select}" in page.selects


def test_every_region_is_a_labelled_focusable_button(alice_client: Client,
                                                     patient: Patient) -> None:
    page = parse(alice_client, f"/patients/{patient.pk}/encounters/new/")
    regions = page.regions["lesion-0"]
    for region in regions:
        assert region["role"] == "button"
        assert region["tabindex"] == "0"
        assert region["aria-pressed"] == "false"
        assert region["aria-label"]
        assert "_" not in (region["aria-label"] or "")
    labels = {region["aria-label"] for region in regions}
    assert len(labels) == len(regions)
    for side in ("Left", "Right"):
        assert {f"{side} heel, medial side", f"{side} heel, lateral side",
                f"{side} heel, central plantar part", f"{side} sole", f"{side} toes",
                f"{side} heel, posterior part (back of the heel)",
                f"Dorsum of the {side.lower()} foot (top)"} <= labels


def test_the_regions_carry_the_engine_codes(alice_client: Client, patient: Patient) -> None:
    page = parse(alice_client, f"/patients/{patient.pk}/encounters/new/")
    regions = page.regions["lesion-0"]
    assert {r["data-site"] for r in regions} == {"heel", "sole", "toe", "foot_dorsum"}
    assert {r["data-site"] for r in regions} <= set(vocab.SITES)
    assert {r["data-laterality"] for r in regions} == {"left", "right"}
    for side in ("left", "right"):
        heel = {r.get("data-subsite") for r in regions
                if r["data-site"] == "heel" and r["data-laterality"] == side}
        assert heel == set(vocab.HEEL_SUBSITES)
    assert all("data-subsite" not in r for r in regions if r["data-site"] != "heel")


def test_the_diagram_posts_nothing(alice_client: Client, patient: Patient) -> None:
    page = parse(alice_client, f"/patients/{patient.pk}/encounters/new/")
    assert page.fields_inside == []


def test_posting_the_selects_alone_records_the_site(alice_client: Client,
                                                   patient: Patient) -> None:
    post = encounter_post(lesions=[{"site": "heel", "heel_subsite": "medial",
                                    "laterality": "left", "count": "1"}])
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/", post)
    assert response.status_code == 302
    lesion = Lesion.objects.get()
    assert (lesion.site, lesion.heel_subsite, lesion.laterality) == ("heel", "medial", "left")


def test_a_form_sent_back_with_errors_keeps_its_diagram(alice_client: Client,
                                                       patient: Patient) -> None:
    post = encounter_post(lesions=[{"site": "sole", "heel_subsite": "medial",
                                    "laterality": "left", "count": "1"}])
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/", post)
    assert response.status_code == 400
    assert b'data-site-picker="lesion-0"' in response.content
    assert not Lesion.objects.exists()


def test_the_follow_up_form_has_no_diagram(alice_client: Client, patient: Patient) -> None:
    alice_client.post(f"/patients/{patient.pk}/encounters/new/", encounter_post())
    lesion = Lesion.objects.get()
    page = parse(alice_client, f"/patients/{patient.pk}/follow-up/")
    assert page.pickers == {}
    assert f"id_lesion-{lesion.pk}-course_status" in page.selects
