"""The visit page reuses the markup of its blank parts (templatetags/blank_forms.py): crispy
rendered the blank lesion, the four lab rows, imaging and both empty-form <template>s on every
GET, 86% of the page's server time. Pinned here without timing: what is rendered and built per
request, and that the reused markup is the markup crispy renders."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from crispy_forms.templatetags.crispy_forms_tags import CrispyFormNode
from django import template
from django.test import Client

from assessment import forms as visit_forms
from assessment.models import Patient
from assessment.templatetags import blank_forms
from tests.conftest import client_for
from tests.factories import PatientFactory
from tests.integration.test_views import encounter_post


@pytest.fixture(autouse=True)
def fresh_store() -> None:
    blank_forms.clear()


@pytest.fixture
def patient(alice) -> Patient:
    return PatientFactory(record_number="HX-001", date_of_birth=date(2025, 2, 1), sex="male",
                          created_by=alice)


@pytest.fixture
def crispy_renders(monkeypatch) -> list[str]:
    """The form of every {% crispy %} render, by class name."""
    rendered: list[str] = []
    original = CrispyFormNode.render

    def counting(node: CrispyFormNode, context: template.Context) -> str:
        rendered.append(type(template.Variable(node.form).resolve(context)).__name__)
        return original(node, context)

    monkeypatch.setattr(CrispyFormNode, "render", counting)
    return rendered


@pytest.fixture
def forms_built(monkeypatch) -> list[str]:
    built: list[str] = []
    for form_class in (visit_forms.LesionEntryForm, visit_forms.LabForm):
        original = form_class.__init__

        def counting(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            built.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(form_class, "__init__", counting)
    return built


def lab_template(html: str) -> str:
    return html.split('<template id="lab-empty">')[1].split("</template>")[0]


def without_tokens(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    return re.sub(r'name="visit-submission_token" value="[^"]+"', "TOKEN", html)


def test_a_second_blank_visit_page_renders_no_form_and_builds_no_lesion_or_lab_form(
        alice_client: Client, patient: Patient, crispy_renders: list[str],
        forms_built: list[str]) -> None:
    url = f"/patients/{patient.pk}/encounters/new/"
    first = alice_client.get(url)
    assert first.status_code == 200
    # The first request renders each blank form once: the visit, lesion 1 and the lesion
    # template, four lab rows and the lab template, imaging.
    assert len(crispy_renders) == 9
    crispy_renders.clear()
    forms_built.clear()
    second = alice_client.get(url)
    assert second.status_code == 200
    assert crispy_renders == []
    assert forms_built == []
    assert without_tokens(second.content.decode()) == without_tokens(first.content.decode())


def test_the_reused_markup_is_what_crispy_renders(alice_client: Client, patient: Patient,
                                                 monkeypatch) -> None:
    url = f"/patients/{patient.pk}/encounters/new/"
    alice_client.get(url)
    reused = alice_client.get(url).content.decode()
    monkeypatch.setattr(blank_forms, "_own_key", lambda obj: None)  # render everything
    fresh = alice_client.get(url).content.decode()
    assert without_tokens(reused) == without_tokens(fresh)


def test_the_blank_page_keeps_every_row_label_and_template(alice_client: Client,
                                                          patient: Patient) -> None:
    """Without JavaScript there are four lab rows and one lesion; "Add another" clones the
    <template>s, each once on the page."""
    url = f"/patients/{patient.pk}/encounters/new/"
    alice_client.get(url)
    html = alice_client.get(url).content.decode()
    for row in ("0", "1", "2", "3", "__prefix__"):
        assert html.count(f'id="id_lab-{row}-analyte"') == 1
        assert html.count(f'for="id_lab-{row}-reference_high"') == 1
    assert 'id="id_lab-4-analyte"' not in html
    assert html.count('<template id="lab-empty">') == 1
    assert html.count('<template id="lesion-empty">') == 1
    for prefix in ("0", "__prefix__"):
        assert html.count(f'id="id_lesion-{prefix}-site"') == 1
        assert html.count(f'data-site-picker="lesion-{prefix}"') == 1
    assert 'name="lab-TOTAL_FORMS" value="4"' in html
    assert 'name="lesion-TOTAL_FORMS" value="1"' in html
    assert "Only for lesions on the heel." in html
    # One CSRF token in the visit form (crispy's second one is gone), one submission token.
    form = html.split('id="encounter-form"')[1].split("</form>")[0]
    assert form.count('name="csrfmiddlewaretoken"') == 1
    assert form.count('name="visit-submission_token"') == 1


def test_each_page_gets_its_own_tokens_and_no_token_is_kept(alice_client: Client,
                                                           patient: Patient, alice) -> None:
    url = f"/patients/{patient.pk}/encounters/new/"
    token = re.compile(r'name="visit-submission_token" value="([^"]+)"')
    pages = [alice_client.get(url).content.decode(), client_for(alice).get(url).content.decode()]
    assert token.search(pages[0])[1] != token.search(pages[1])[1]
    assert all("csrfmiddlewaretoken" not in markup and "submission_token" not in markup
               for markup in blank_forms._MARKUP.values())


def test_bad_input_after_a_blank_page_keeps_every_value_and_names_the_fields(
        alice_client: Client, patient: Patient) -> None:
    url = f"/patients/{patient.pk}/encounters/new/"
    blank = alice_client.get(url).content.decode()  # the blank markup is now kept
    post = encounter_post(labs=[{"analyte": "calcium_total", "value": "9.9", "unit": "mg/dL"},
                                {"value": "12"}, {"analyte": "phosphate", "value": "-1",
                                                  "unit": "mg/dL"}])
    post["lesion-0-largest_diameter_mm"] = "0"
    post["lesion-0-label"] = "left heel"
    post["visit-notes"] = "seen with mother"
    response = alice_client.post(url, post)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved." in html
    assert 'value="left heel"' in html and "seen with mother" in html
    assert 'name="lab-1-value" value="12"' in html
    assert 'name="lab-2-value" value="-1"' in html
    entry = response.context["entry"]
    assert entry.lesion_forms[0].errors["largest_diameter_mm"]
    assert entry.labs.forms[1].errors["analyte"] == ["Choose the analyte for this result."]
    assert entry.labs.forms[2].errors["value"]
    for field in ("lesion-0-largest_diameter_mm", "lab-1-analyte", "lab-2-value"):
        assert f'id="error_1_id_{field}"' in html, field
    # The template that "Add a lab row" clones stays blank.
    assert lab_template(html) == lab_template(blank)
    # And the next blank page is blank again.
    again = alice_client.get(url).content.decode()
    assert "left heel" not in again and 'name="lab-1-value" value="12"' not in again


def test_follow_up_lesions_are_rendered_for_each_page(alice_client: Client, north, alice,
                                                      crispy_renders: list[str]) -> None:
    """A follow-up lesion is prefilled from its own last observation: never reused."""
    from assessment.demo import record_contract_case
    from tests.integration.test_follow_up import CASE_A

    patients = [record_contract_case(data=CASE_A, record_number=f"CASE-{n}",
                                     born=date(2025, 8, 10), visit=date(2026, 8, 10),
                                     label=f"nodule {n}", user=alice, site=north)
                for n in (1, 2)]
    for patient in patients:
        alice_client.get(f"/patients/{patient.pk}/follow-up/")
    crispy_renders.clear()
    pages = [alice_client.get(f"/patients/{p.pk}/follow-up/").content.decode()
             for p in patients]
    assert crispy_renders == ["FollowUpLesionForm", "FollowUpLesionForm"]
    assert "nodule 1" in pages[0] and "nodule 2" in pages[1]
