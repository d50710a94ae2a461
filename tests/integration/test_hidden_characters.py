"""Invisible control and text-direction characters are refused in every free-text field.

A right-to-left override makes the caption ``abc\\u202egnp.exe`` display as ``abcexe.png``. Such
characters are refused (never silently stripped) with a message naming the field and the
character; the form comes back with what was typed, and nothing is stored.
"""

from __future__ import annotations

import inspect
import io
from datetime import date
from typing import Any

import pytest
from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.test import Client
from PIL import Image

from assessment import admin as assessment_admin
from assessment import forms as assessment_forms
from assessment.demo import record_contract_case
from assessment.models import (
    Assessment,
    AssessmentDecision,
    Encounter,
    LabResult,
    Lesion,
    LesionObservation,
    Patient,
    Photo,
    ReviewStatus,
)
from assessment.text import (
    HiddenCharactersRefused,
    find_hidden_character,
    hidden_character_message,
    refuse_hidden_characters,
)
from tests.builders import load_case

# The character, and how the message must name it (controls have no Unicode name).
HIDDEN = [
    pytest.param("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE", id="rlo"),
    pytest.param("\u200b", "U+200B ZERO WIDTH SPACE", id="zwsp"),
    pytest.param("\x00", "U+0000", id="nul"),
    pytest.param("\x07", "U+0007", id="bell"),
    pytest.param("\u2028", "U+2028 LINE SEPARATOR", id="line-separator"),
]


def spoof(char: str) -> str:
    """The defect's example: the hidden character at position 4."""
    return f"abc{char}gnp.exe"


def refusal(label: str, named: str, position: int = 4) -> str:
    return (f"{label} contains an invisible control or text-direction character ({named}) "
            f"at position {position}; remove it.")


COUNTED = (Patient, Encounter, Lesion, LesionObservation, LabResult, Assessment,
           AssessmentDecision, Photo)


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def patient(alice, north) -> Patient:
    return record_contract_case(
        data=load_case("seed_case_a_pearl_like_heel_nodule.json")["input"],
        record_number="TEXT-1", born=date(2025, 8, 10), visit=date(2026, 8, 10),
        label="right heel", user=alice, site=north)


# --- (a) Every form uses the mechanism ----------------------------------------------------------

def defined_forms() -> list[type[forms.BaseForm]]:
    return [cls for module in (assessment_forms, assessment_admin)
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__]


def test_the_form_classes_are_found() -> None:
    names = {cls.__name__ for cls in defined_forms()}
    assert names >= {"PatientForm", "PatientSearchForm", "EncounterForm", "LesionEntryForm",
                     "FollowUpLesionForm", "LabForm", "ImagingForm", "DecisionForm",
                     "PhotoForm", "ObservationEditForm", "EncounterReviewForm"}


@pytest.mark.parametrize("form_class", defined_forms(), ids=lambda cls: cls.__name__)
def test_every_form_refuses_hidden_characters(form_class: type[forms.BaseForm]) -> None:
    mro = form_class.__mro__
    assert HiddenCharactersRefused in mro, (
        f"{form_class.__name__}: put HiddenCharactersRefused first in its bases")
    # Before Django's form classes, or Django's full_clean would run instead of the mixin's.
    assert mro.index(HiddenCharactersRefused) < mro.index(forms.BaseForm)


def test_every_free_text_model_field_refuses_hidden_characters() -> None:
    """Generated too: a text field added later must refuse them or be listed here with why."""
    written_by_the_app = {
        ("Site", "code"),  # a slug: its own validator allows letters, digits, - and _ only
        ("LabResult", "unit"),  # chosen from the analyte's units
        ("Assessment", "ruleset_version"), ("Assessment", "leading_entity"),  # engine output
        ("AssessmentDecision", "final_entity"),  # chosen from the entity list
        ("PatientViewLog", "path"),  # a resolved URL of the app
        ("ApiToken", "prefix"), ("ApiToken", "key_hash"),  # generated secrets
        ("ChangeCounter", "name"),  # constants in the code
        # manage.py reassess: the ruleset of the code, engine output, the engine's refusal
        ("ReassessmentRun", "ruleset_version"), ("ReassessmentChange", "ruleset_version"),
        ("ReassessmentChange", "previous_entity"), ("ReassessmentChange", "entity"),
        ("ReassessmentChange", "problem"),
    }
    missing = [
        f"{model.__name__}.{field.name}"
        for model in apps.get_app_config("assessment").get_models()
        if not model.__name__.startswith("Historical")
        for field in model._meta.get_fields()
        if isinstance(field, models.CharField | models.TextField) and not field.choices
        and (model.__name__, field.name) not in written_by_the_app
        and refuse_hidden_characters not in field.validators]
    assert not missing


@pytest.mark.parametrize(("model", "field", "value"), [
    (Patient, "record_number", "HX\u202e200"), (Encounter, "notes", spoof("\u202e")),
    (Encounter, "review_comment", spoof("\u202e")), (Lesion, "label", spoof("\u202e")),
    (AssessmentDecision, "reason", spoof("\u202e")), (Photo, "caption", spoof("\u202e")),
])
def test_model_validation_refuses_them_too(model: type[models.Model], field: str,
                                           value: str) -> None:
    """Defence in depth: services call full_clean, which runs the model-field validator."""
    with pytest.raises(ValidationError) as refused:
        model._meta.get_field(field).clean(value, model())
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in str(refused.value)


# --- (b) Through the app, with real POSTs -------------------------------------------------------

def visit_post(*, notes: str = "", label: str = "left heel") -> dict[str, Any]:
    return {
        "visit-date": "2026-09-10", "visit-kind": "initial", "visit-notes": notes,
        "visit-fever": "false",
        "lesion-TOTAL_FORMS": "1", "lesion-INITIAL_FORMS": "0", "lesion-MIN_NUM_FORMS": "1",
        "lesion-MAX_NUM_FORMS": "10", "lesion-0-label": label, "lesion-0-site": "heel",
        "lesion-0-count": "3", "lesion-0-largest_diameter_mm": "2.5",
        "lab-TOTAL_FORMS": "1", "lab-INITIAL_FORMS": "0", "lab-MIN_NUM_FORMS": "0",
        "lab-MAX_NUM_FORMS": "30", "lab-0-analyte": "phosphate", "lab-0-value": "5.6",
        "lab-0-unit": "mg/dL"}


def assert_kept(html: str, *fragments: str) -> None:
    for fragment in fragments:
        assert fragment in html, f"not kept on the page: {fragment}"


def test_a_clean_visit_is_still_recorded(alice_client: Client, patient: Patient) -> None:
    """The control: the same post without the hidden character saves (so the refusals below
    are the character's doing)."""
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/",
                                 visit_post(notes="Seen with mother.\r\nNo fever."))
    assert response.status_code == 302
    assert Encounter.objects.latest("id").notes == "Seen with mother.\r\nNo fever."


@pytest.mark.parametrize(("char", "named"), HIDDEN)
def test_visit_notes(alice_client: Client, patient: Patient, char: str, named: str) -> None:
    before = counts()
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/",
                                 visit_post(notes=spoof(char)))
    assert response.status_code == 400
    form = response.context["entry"].encounter_form
    assert refusal("Notes", named) in form.errors["notes"]
    html = response.content.decode()
    assert refusal("Notes", named) in html
    assert counts() == before
    assert_kept(html, 'value="2026-09-10"', 'value="left heel"', 'value="2.5"', 'value="5.6"')
    assert form["notes"].value() == spoof(char)  # what was typed, to correct


@pytest.mark.parametrize(("char", "named"), HIDDEN)
def test_lesion_label(alice_client: Client, patient: Patient, char: str, named: str) -> None:
    before = counts()
    response = alice_client.post(f"/patients/{patient.pk}/encounters/new/",
                                 visit_post(notes="Seen with mother.", label=spoof(char)))
    assert response.status_code == 400
    form = response.context["entry"].lesions.forms[0]
    assert refusal("Label", named) in form.errors["label"]
    html = response.content.decode()
    assert refusal("Label", named) in html
    assert counts() == before
    assert_kept(html, "Seen with mother.", 'value="2026-09-10"', 'value="2.5"', 'value="5.6"')
    assert form["label"].value() == spoof(char)


@pytest.mark.parametrize(("char", "named"), HIDDEN)
def test_decision_reason(alice_client: Client, patient: Patient, char: str, named: str) -> None:
    assessment = Assessment.objects.get(observation__lesion__patient=patient)
    before = counts()
    response = alice_client.post(f"/assessments/{assessment.pk}/decision/", {
        "decision": "override", "final_entity": "verruca_plantaris",
        "final_management": "treat", "reason": spoof(char)})
    assert response.status_code == 400
    form = response.context["decision_form"]
    assert refusal("Reason", named) in form.errors["reason"]
    html = response.content.decode()
    assert refusal("Reason", named) in html
    assert counts() == before
    assert_kept(html, 'value="verruca_plantaris" selected', 'value="treat" selected')
    assert form["reason"].value() == spoof(char)


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (210, 190, 180)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(("char", "named"), HIDDEN)
def test_photo_caption(alice_client: Client, patient: Patient, settings, char: str,
                       named: str) -> None:
    observation = LesionObservation.objects.get(lesion__patient=patient)
    before = counts()
    response = alice_client.post(f"/observations/{observation.pk}/photos/", {
        "image": SimpleUploadedFile("heel.jpg", jpeg(), "image/jpeg"), "caption": spoof(char)})
    assert response.status_code == 400
    form = response.context["photo_form"]
    assert refusal("Caption", named) in form.errors["caption"]
    assert refusal("Caption", named) in response.content.decode()
    assert counts() == before
    assert not list(settings.MEDIA_ROOT.rglob("*.*"))  # no file written either
    # The caption is kept; a browser never refills a file input, so the photo is chosen again.
    assert form["caption"].value() == spoof(char)


@pytest.mark.parametrize(("char", "named"), HIDDEN)
def test_admin_review_comment(rita_client: Client, patient: Patient, char: str,
                              named: str) -> None:
    encounter = Encounter.objects.get(patient=patient)
    before = (encounter.version, encounter.review_status, encounter.review_comment,
              encounter.history.count())
    response = rita_client.post(f"/admin/assessment/encounter/{encounter.pk}/change/", {
        "review_status": ReviewStatus.CHANGES, "review_comment": spoof(char),
        "expected_version": encounter.version,
        **{f"{prefix}-{key}": value for prefix in ("observations", "labs", "imaging")
           for key, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"),
                              ("MIN_NUM_FORMS", "0"), ("MAX_NUM_FORMS", "1000"))}})
    assert response.status_code == 200  # the admin re-renders its form
    form = response.context["adminform"].form
    assert refusal("Review comment", named) in form.errors["review_comment"]
    html = response.content.decode()
    assert refusal("Review comment", named) in html
    encounter.refresh_from_db()
    assert (encounter.version, encounter.review_status, encounter.review_comment,
            encounter.history.count()) == before
    assert_kept(html, '<option value="changes_requested" selected>')
    assert form["review_comment"].value() == spoof(char)


def patient_post(**changes: str) -> dict[str, str]:
    data = {"record_number": "HX-100", "date_of_birth": "2025-02-01", "sex": "male",
            "gestational_age_weeks": "30", "preterm_birth": "true", "version": ""}
    data.update(changes)
    return data


@pytest.mark.parametrize(("char", "named"), HIDDEN)
def test_patient_record_number_on_create(alice_client: Client, patient: Patient, char: str,
                                         named: str) -> None:
    before = counts()
    response = alice_client.post("/patients/new/", patient_post(record_number=f"HX{char}200"))
    assert response.status_code == 400
    form = response.context["form"]
    assert refusal("Record number", named, position=3) in form.errors["record_number"]
    html = response.content.decode()
    assert refusal("Record number", named, position=3) in html
    assert counts() == before
    assert_kept(html, 'value="2025-02-01"', 'value="30"', 'value="true" selected')
    assert form["record_number"].value() == f"HX{char}200"


@pytest.mark.parametrize(("char", "named"), HIDDEN)
def test_patient_record_number_on_edit(alice_client: Client, patient: Patient, char: str,
                                       named: str) -> None:
    response = alice_client.post(f"/patients/{patient.pk}/edit/", patient_post(
        record_number=f"TEXT{char}1", date_of_birth="2025-08-10", sex=patient.sex,
        gestational_age_weeks="", preterm_birth="unknown", version=str(patient.version)))
    assert response.status_code == 400
    assert refusal("Record number", named, position=5) in response.context["form"].errors[
        "record_number"]
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.record_number, stored.version) == ("TEXT-1", patient.version)


def test_patient_search_names_the_field(alice_client: Client, patient: Patient) -> None:
    response = alice_client.get("/patients/", {"q": "TEXT\u202e"})
    assert response.status_code == 200
    assert refusal("Record number", "U+202E RIGHT-TO-LEFT OVERRIDE", position=5) in \
        response.context["search"].errors["q"]


# --- (c) The validator -------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Knötchen an der Ferse, résolu à 18 mois; çà et là",  # accents
    "Crying 😀, thumbs up 👍🏽, flag 🇬🇧",  # emoji, a skin tone, a flag
    "足跟结节，已好转。踵の結節",  # CJK
    "line one\nline two\r\nthen\ta tab",  # how multi-line notes are typed
    "مرحبا שלום",  # right-to-left scripts themselves are fine; overriding direction is not
    "", "plain ASCII <b>&amp;</b>",
])
def test_ordinary_text_is_accepted(text: str) -> None:
    refuse_hidden_characters(text)
    assert find_hidden_character(text) is None


@pytest.mark.parametrize(("char", "category"), [
    # Cc: controls other than tab, newline and carriage return
    ("\x00", "Cc"), ("\x07", "Cc"), ("\x08", "Cc"), ("\x0b", "Cc"), ("\x0c", "Cc"),
    ("\x1b", "Cc"), ("\x7f", "Cc"), ("\x85", "Cc"), ("\x9f", "Cc"),
    # Cf: bidi embeddings, overrides, isolates, marks; zero-width characters; BOM; soft hyphen
    *[(chr(code), "Cf") for code in range(0x202A, 0x202F)],
    *[(chr(code), "Cf") for code in range(0x2066, 0x206A)],
    ("\u200e", "Cf"), ("\u200f", "Cf"), ("\u061c", "Cf"), ("\u200b", "Cf"), ("\u200c", "Cf"),
    ("\u200d", "Cf"), ("\u2060", "Cf"), ("\ufeff", "Cf"), ("\u00ad", "Cf"),
    ("\U000e0041", "Cf"),  # a tag character
    # Zl, Zp
    ("\u2028", "Zl"), ("\u2029", "Zp"),
    # Cs: a lone surrogate (cannot arrive over HTTP, but can through code)
    ("\ud800", "Cs"), ("\udfff", "Cs"),
    # Noncharacters
    ("\ufdd0", "Cn"), ("\ufdef", "Cn"), ("\ufffe", "Cn"), ("\uffff", "Cn"),
    ("\U0001fffe", "Cn"), ("\U0010ffff", "Cn"),
])
def test_each_refused_category(char: str, category: str) -> None:
    import unicodedata

    assert unicodedata.category(char) == category
    text = f"ok {char} ok"
    assert find_hidden_character(text) == (4, char)
    with pytest.raises(ValidationError) as refused:
        refuse_hidden_characters(text)
    message = refused.value.messages[0]
    assert f"U+{ord(char):04X}" in message and "at position 4" in message
    assert refused.value.error_list[0].code == "hidden_character"


def test_the_message_names_the_character_and_where() -> None:
    assert hidden_character_message("Caption", 4, "\u202e") == (
        "Caption contains an invisible control or text-direction character (U+202E "
        "RIGHT-TO-LEFT OVERRIDE) at position 4; remove it.")
    with pytest.raises(ValidationError, match=r"^\['This text contains .*U\+0007\) at "
                                              r"position 2; remove it\.'\]$"):
        refuse_hidden_characters("a\x07b")
    assert str(hidden_character_message("X", 1, "\U0010ffff")).count("U+10FFFF") == 1


def test_the_mixin_covers_fields_added_after_construction() -> None:
    """The reason the check is added in full_clean, not __init__: fields added by a subclass's
    __init__ after super().__init__(), or by the caller afterwards, are covered too."""

    class Late(HiddenCharactersRefused, forms.Form):
        declared = forms.CharField(required=False)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.fields["added_in_init"] = forms.CharField(required=False, label="In init")

    form = Late({"declared": "a\u202e", "added_in_init": "b\u202e", "added_later": "c\u202e",
                 "number": "1"})
    form.fields["added_later"] = forms.CharField(required=False)
    form.fields["number"] = forms.IntegerField(required=False)
    assert not form.is_valid()
    assert set(form.errors) == {"declared", "added_in_init", "added_later"}
    assert form.errors["declared"][0].startswith("Declared contains")
    assert form.errors["added_in_init"][0].startswith("In init contains")
    assert form.errors["added_later"][0].startswith("Added later contains")
    # Validating again does not stack the validator (or its message).
    form.full_clean()
    assert len(form.errors["declared"]) == 1
    # Other instances of the form are untouched until they validate.
    assert not any(type(v).__name__ == "LabelledHiddenCharacterValidator"
                   for v in Late().fields["declared"].validators)
