"""Forms. The encounter page is one form made of parts (visit, lesions, labs, imaging); the
engine's own validation runs on the assembled contract input before anything is saved, and its
field errors are shown on the form fields they name."""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from crispy_forms.bootstrap import InlineCheckboxes
from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Div, Field, Fieldset, Layout, Row
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone

from . import engine
from .clinical import age_in_months, contract_input, overridden_flag
from .engine import vocab
from .engine.labs import ANALYTE_CODES, ANALYTES
from .models import (
    IMAGING_CODES,
    LESION_HISTORY_FLAGS,
    PATIENT_HISTORY_FLAGS,
    VISIT_HISTORY_FLAGS,
    CourseStatus,
    Decision,
    Encounter,
    EncounterKind,
    ImagingFinding,
    LabResult,
    Lesion,
    LesionObservation,
    ManagementCategory,
    Patient,
    code_choices,
)
from .services import LesionEntry

# Every form class here starts its bases with HiddenCharactersRefused (checked by a test that
# walks this module): its CharFields refuse invisible control and text-direction characters.
from .text import HiddenCharactersRefused

TRI_STATE_CHOICES = [("unknown", "Unknown"), ("true", "Yes"), ("false", "No")]
EARLIEST_DATE = date(1900, 1, 1)


class TriStateSelect(forms.NullBooleanSelect):
    """Unknown / Yes / No, with 'Unknown' first: unknown is never silently 'No'."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = TRI_STATE_CHOICES


def tri_state_field(model_field: Any) -> forms.NullBooleanField:
    return forms.NullBooleanField(required=False, widget=TriStateSelect,
                                  label=model_field.verbose_name,
                                  help_text=model_field.help_text)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


def _check_date(value: date | None, label: str) -> date | None:
    if value is None:
        return value
    if value < EARLIEST_DATE:
        raise forms.ValidationError(f"{label} {value:%Y-%m-%d} is not a plausible date.")
    if value > timezone.localdate():
        raise forms.ValidationError(f"{label} cannot be in the future.")
    return value


# --- Patient -------------------------------------------------------------------------------

class PatientForm(HiddenCharactersRefused, forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Patient
        fields = ["site", "record_number", "date_of_birth", "sex", "gestational_age_weeks",
                  *PATIENT_HISTORY_FLAGS]
        widgets = {"date_of_birth": DateInput}
        labels = {"gestational_age_weeks": "Gestational age at birth (weeks)",
                  "site": "Clinic"}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from . import access
        from .models import Site

        writable = access.site_ids(user, access.WRITE)
        sites = Site.objects.all() if writable is None else Site.objects.filter(pk__in=writable)
        self.fields["site"].queryset = sites
        # A clinician of one clinic is not asked which clinic.
        self.only_site = sites[0] if len(sites) == 1 else None
        if self.only_site is not None:
            self.fields["site"].required = False
            self.fields["site"].widget = forms.HiddenInput()
            self.initial.setdefault("site", self.only_site.pk)
        for name in PATIENT_HISTORY_FLAGS:
            self.fields[name] = tri_state_field(Patient._meta.get_field(name))
        # Range on the form field too, so it is checked before the preterm cross-check.
        self.fields["gestational_age_weeks"].validators.extend(
            [MinValueValidator(Decimal(22)), MaxValueValidator(Decimal(44))])
        if self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version
        self.helper = FormHelper()
        self.helper.form_tag = False
        # A hidden clinic stays outside the row: in a column it would leave a blank gap.
        child = ["record_number", "date_of_birth", "sex", "gestational_age_weeks"]
        if self.only_site is None:
            child.insert(0, "site")
        self.helper.layout = Layout(
            Fieldset("Child", Row(*[Column(name) for name in child]),
                     *(["site"] if self.only_site is not None else []), "version"),
            Fieldset("History (unknown unless recorded)",
                     Row(*[Column(name, css_class="col-md-4") for name in PATIENT_HISTORY_FLAGS])),
        )

    def clean_site(self) -> Any:
        site = self.cleaned_data.get("site") or self.only_site
        if site is None:
            raise forms.ValidationError("Choose the clinic.")
        return site

    def clean_date_of_birth(self) -> date | None:
        born = _check_date(self.cleaned_data.get("date_of_birth"), "Date of birth")
        if born is not None and self.instance.pk:
            first = self.instance.encounters.order_by("date").values_list("date", flat=True)
            first_visit = first.first()
            if first_visit is not None and born > first_visit:
                raise forms.ValidationError(f"The first visit was on {first_visit:%Y-%m-%d}; the "
                                            "date of birth cannot be after it.")
        return born

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        gestation, preterm = cleaned.get("gestational_age_weeks"), cleaned.get("preterm_birth")
        if gestation is not None and preterm is True and gestation >= 37:
            self.add_error("gestational_age_weeks", f"{gestation} weeks is term, but preterm "
                                                    "birth is 'Yes' (preterm is under 37 weeks).")
        if gestation is not None and preterm is False and gestation < 37:
            self.add_error("gestational_age_weeks", f"{gestation} weeks is preterm, but preterm "
                                                    "birth is 'No'.")
        return cleaned


class PatientSearchForm(HiddenCharactersRefused, forms.Form):
    q = forms.CharField(required=False, max_length=32, label="Record number",
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": "Search record number"}))


# --- Encounter entry ---------------------------------------------------------------------------

class BlankMarkupCached:
    """A form whose blank markup depends only on its prefix: ``{% crispy_blank %}``
    (templatetags/blank_forms.py) renders it once per process and reuses it, which made the
    visit page's GET several times faster. Keep its choices, labels and attributes free of
    database or request data, and its helper's ``disable_csrf`` on (markup that holds a CSRF
    token is never reused)."""

    is_bound: bool
    initial: dict[str, Any]

    def blank_markup_key(self) -> tuple[Any, ...] | None:
        return None if self.is_bound or self.initial else ()


class EncounterForm(HiddenCharactersRefused, forms.ModelForm):
    # One token per opened form, kept through re-renders: the service saves one visit per token,
    # so a double click or a resent POST does not record the visit twice.
    submission_token = forms.UUIDField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Encounter
        # No "kind": the page decides it (EncounterEntry.is_valid), the clinician is not asked.
        fields = ["date", "notes", *VISIT_HISTORY_FLAGS]
        widgets = {"date": DateInput, "notes": forms.Textarea(attrs={"rows": 2})}
        labels = {"date": "Visit date"}

    def __init__(self, *args: Any, patient: Patient, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        for name in VISIT_HISTORY_FLAGS:
            self.fields[name] = tri_state_field(Encounter._meta.get_field(name))
        if not self.is_bound:
            self.initial.setdefault("date", timezone.localdate())
            self.initial.setdefault("submission_token", uuid.uuid4())
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True  # the page's form has its token
        # No submission_token: the template renders it, so that the rest of a new visit's
        # markup is the same all day and is rendered once (blank_markup_key).
        self.helper.layout = Layout(
            Row(Column("date"), *[Column(n) for n in VISIT_HISTORY_FLAGS]),
            "notes",
        )

    def blank_markup_key(self) -> tuple[Any, ...] | None:
        """As BlankMarkupCached's, for a new visit opened today: the date's default is the
        only initial value crispy renders."""
        if self.is_bound or set(self.initial) - {"date", "submission_token"}:
            return None
        return (self.initial.get("date"),)

    def clean_date(self) -> date | None:
        visit = _check_date(self.cleaned_data.get("date"), "Visit date")
        if visit is None:
            return visit
        born = self.patient.date_of_birth
        if visit < born:
            raise forms.ValidationError(f"The visit cannot be before the date of birth "
                                        f"({born:%Y-%m-%d}).")
        if age_in_months(born, visit) > 216:
            raise forms.ValidationError("The child would be over 18 years old at this visit.")
        return visit


LESION_FIELDS = ["label", "site", "heel_subsite", "laterality"]
OBSERVATION_FIELDS = ["count", "distribution", "largest_diameter_mm",
                      "perpendicular_diameter_mm", "color", "morphology", "surface",
                      "consistency", "onset_age_months", "duration_weeks", "trend"]
SIZE_VALIDATORS = [MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal(300))]


def _add_observation_fields(form: forms.Form) -> None:
    """How a lesion looks at one visit: the contract's lesion fields, with units in labels."""
    form.fields.update(forms.fields_for_model(LesionObservation, fields=OBSERVATION_FIELDS))
    form.fields["features"] = forms.MultipleChoiceField(
        required=False, choices=code_choices(vocab.FEATURES), widget=forms.CheckboxSelectMultiple)
    for name in ("largest_diameter_mm", "perpendicular_diameter_mm"):
        form.fields[name].validators.extend(SIZE_VALIDATORS)
    form.fields["color"].label = "Colour"  # British spelling, as in "Skin-coloured"
    form.fields["largest_diameter_mm"].label = "Largest diameter (mm)"
    form.fields["perpendicular_diameter_mm"].label = "Perpendicular diameter (mm)"
    form.fields["onset_age_months"].label = "Age when first noticed (months)"
    form.fields["duration_weeks"].label = "Duration (weeks)"
    form.fields["onset_age_months"].validators.append(MaxValueValidator(Decimal(216)))
    for name in ("onset_age_months", "duration_weeks"):
        form.fields[name].validators.append(MinValueValidator(Decimal(0)))
    for name, field in form.fields.items():
        if isinstance(field, forms.TypedChoiceField) and name != "site":
            field.choices = [("", "Not recorded"), *[c for c in field.choices if c[0]]]


def _check_sizes(form: forms.Form, cleaned: dict[str, Any]) -> None:
    largest = cleaned.get("largest_diameter_mm")
    perpendicular = cleaned.get("perpendicular_diameter_mm")
    if perpendicular is not None and largest is None:
        form.add_error("largest_diameter_mm", "Give the largest diameter as well.")
    if largest is not None and perpendicular is not None and perpendicular > largest:
        form.add_error("perpendicular_diameter_mm",
                       f"Cannot exceed the largest diameter ({largest} mm).")


def _observation(data: dict[str, Any], **extra: Any) -> LesionObservation:
    observation = LesionObservation(**{name: data.get(name) for name in OBSERVATION_FIELDS},
                                    features=sorted(data.get("features") or []), **extra)
    for name in ("distribution", "color", "morphology", "surface", "consistency", "trend"):
        setattr(observation, name, data.get(name) or "")
    return observation


class LesionEntryForm(HiddenCharactersRefused, BlankMarkupCached, forms.Form):
    """One lesion seen at this visit: where it is (the lesion) and how it looks (observation)."""

    # base_fields: assigned below the class, built once (_lesion_entry_fields).

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Row(Column("label", css_class="col-md-3"), Column("site"), Column("heel_subsite"),
                Column("laterality")),
            Row(Column("count"), Column("distribution"), Column("largest_diameter_mm"),
                Column("perpendicular_diameter_mm")),
            Row(Column("color"), Column("morphology"), Column("surface"), Column("consistency")),
            Row(Column("onset_age_months"), Column("duration_weeks"), Column("trend")),
            InlineCheckboxes("features"),
            Fieldset("About this site (unknown unless recorded)",
                     Row(*[Column(n, css_class="col-md-4") for n in LESION_HISTORY_FLAGS])),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("heel_subsite") and cleaned.get("site") not in (None, "heel"):
            self.add_error("heel_subsite", "Heel subsite is only used when the site is the heel.")
        _check_sizes(self, cleaned)
        return cleaned

    def instances(self) -> LesionEntry:
        data = self.cleaned_data
        lesion = Lesion(**{name: data.get(name) or "" for name in LESION_FIELDS},
                        **{name: data.get(name) for name in LESION_HISTORY_FLAGS})
        return LesionEntry(lesion=lesion, observation=_observation(data))


def _lesion_entry_fields() -> dict[str, forms.Field]:
    """LesionEntryForm's fields. Built once, as a class's declared fields are: every form
    deep-copies them (BaseForm.__init__), and building them per form (two model forms' worth
    of fields, choices normalised one by one) was most of the cost of an empty lesion form."""
    form = forms.Form()
    form.fields.update(forms.fields_for_model(Lesion, fields=LESION_FIELDS))
    for name in LESION_HISTORY_FLAGS:
        form.fields[name] = tri_state_field(Lesion._meta.get_field(name))
    _add_observation_fields(form)
    form.fields["heel_subsite"].help_text = "Only for lesions on the heel."
    form.fields["site"].choices = [("", "Choose the site"), *code_choices(vocab.SITES)]
    form.fields["heel_subsite"].choices = [("", "Not recorded"),
                                           *code_choices(vocab.HEEL_SUBSITES)]
    form.fields["laterality"].choices = [("", "Not recorded"),
                                         *code_choices(vocab.LATERALITIES)]
    return form.fields


LesionEntryForm.base_fields = _lesion_entry_fields()


COURSE_TREND = {"larger": "growing", "smaller": "shrinking", "present": "stable"}


class FollowUpLesionForm(HiddenCharactersRefused, forms.Form):
    """An existing lesion at a follow-up visit, prefilled from its last observation."""

    def __init__(self, *args: Any, lesion: Lesion, last: LesionObservation | None,
                 selected: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lesion, self.last = lesion, last
        self.fields["include"] = forms.BooleanField(
            required=False, initial=selected, label=f"Seen at this visit: {lesion}")
        self.fields["course_status"] = forms.ChoiceField(
            required=False, label="Since the last visit",
            choices=[("", "Choose"), *CourseStatus.choices])
        _add_observation_fields(self)
        if last is not None and not self.is_bound:
            self.initial.update({name: getattr(last, name) for name in OBSERVATION_FIELDS})
            self.initial["features"] = list(last.features or [])
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Row(Column("include", css_class="col-md-6"), Column("course_status")),
            Div(Row(Column("count"), Column("distribution"), Column("largest_diameter_mm"),
                    Column("perpendicular_diameter_mm")),
                Row(Column("color"), Column("morphology"), Column("surface"),
                    Column("consistency")),
                Row(Column("onset_age_months"), Column("duration_weeks"), Column("trend")),
                InlineCheckboxes("features"), css_class="followup-details"),
        )

    @property
    def included(self) -> bool:
        return bool(self.cleaned_data.get("include"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("include"):
            self._errors = type(self._errors)()  # nothing about an unseen lesion is checked
            return cleaned
        status = cleaned.get("course_status")
        if not status:
            self.add_error("course_status", "Say how the lesion has changed (or that it has "
                                            "resolved).")
        elif status != CourseStatus.RESOLVED:
            _check_sizes(self, cleaned)
        return cleaned

    def instances(self) -> LesionEntry:
        data = dict(self.cleaned_data)
        status = data["course_status"]
        if status == CourseStatus.RESOLVED:
            observation = LesionObservation(count=self.last.count if self.last else 1,
                                            course_status=status)
        else:
            data["trend"] = data.get("trend") or COURSE_TREND[status]
            observation = _observation(data, course_status=status)
        return LesionEntry(lesion=self.lesion, observation=observation)


class RequiredFirstFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": "Lesions: a visit records at most %(num)d lesions; record further "
                          "lesions at another visit.",
    }

    def clean(self) -> None:
        if any(self.errors):
            return
        if not any(form.has_changed() for form in self.forms):
            raise forms.ValidationError("Describe at least one lesion.")


# absolute_max: Django would otherwise build up to 1,000 forms from the TOTAL_FORMS a client
# sends (one small POST cost a minute of CPU); no more forms than a visit can hold are built.
MAX_LESIONS_PER_VISIT = 10
LesionEntryFormSet = forms.formset_factory(
    LesionEntryForm, formset=RequiredFirstFormSet, extra=0, min_num=1,
    max_num=MAX_LESIONS_PER_VISIT, absolute_max=MAX_LESIONS_PER_VISIT, validate_max=True)

ALL_UNITS = list(dict.fromkeys(unit for a in ANALYTES.values() for unit in a.units))


class LabForm(HiddenCharactersRefused, BlankMarkupCached, forms.Form):
    # data-units: which units each analyte is reported in, for static/js/app.js.
    analyte = forms.ChoiceField(required=False, choices=[("", "—")] + [
        (code, ANALYTES[code].label) for code in ANALYTE_CODES], widget=forms.Select(attrs={
            "data-units": "|".join(f"{code}:{','.join(ANALYTES[code].units)}"
                                   for code in ANALYTE_CODES)}))
    value = forms.DecimalField(required=False, max_digits=12, decimal_places=4,
                               min_value=Decimal(0))
    unit = forms.ChoiceField(required=False, choices=[("", "—")] + [(u, u) for u in ALL_UNITS])
    reference_low = forms.DecimalField(required=False, max_digits=12, decimal_places=4,
                                       min_value=Decimal(0), label="Lab's low limit")
    reference_high = forms.DecimalField(required=False, max_digits=12, decimal_places=4,
                                        min_value=Decimal(0), label="Lab's high limit")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(Row(
            Column("analyte", css_class="col-md-3"), Column("value"), Column("unit"),
            Column("reference_low"), Column("reference_high"), css_class="lab-row"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        analyte = cleaned.get("analyte")
        if not analyte:
            if any(cleaned.get(f) not in (None, "") for f in ("value", "unit", "reference_low",
                                                             "reference_high")):
                self.add_error("analyte", "Choose the analyte for this result.")
            return cleaned
        if cleaned.get("value") is None and "value" not in self.errors:
            self.add_error("value", "Enter the result.")
        unit = cleaned.get("unit")
        accepted = ANALYTES[analyte].units
        if not unit:
            self.add_error("unit", f"Choose the unit ({', '.join(accepted)}).")
        elif unit not in accepted:
            self.add_error("unit", f"{ANALYTES[analyte].label} is not reported in {unit}; "
                                   f"use {' or '.join(accepted)}.")
        low, high = cleaned.get("reference_low"), cleaned.get("reference_high")
        if low is not None and high is not None and low >= high:
            self.add_error("reference_high", "Must be greater than the low limit.")
        return cleaned

    def instance(self) -> LabResult | None:
        data = self.cleaned_data
        if not data.get("analyte"):
            return None
        return LabResult(analyte=data["analyte"], value=data["value"], unit=data["unit"],
                         reference_low=data.get("reference_low"),
                         reference_high=data.get("reference_high"))


class LabFormSetBase(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": "Labs: at most %(num)d results per visit.",
    }

    def clean(self) -> None:
        if any(self.errors):
            return
        seen: dict[str, int] = {}
        for index, form in enumerate(self.forms):
            analyte = form.cleaned_data.get("analyte")
            if not analyte:
                continue
            if analyte in seen:
                form.add_error("analyte", f"{ANALYTES[analyte].label} is already in row "
                                          f"{seen[analyte] + 1}; one result per analyte.")
            seen.setdefault(analyte, index)


MAX_LABS_PER_VISIT = 30
LabFormSet = forms.formset_factory(LabForm, formset=LabFormSetBase, extra=4,
                                   max_num=MAX_LABS_PER_VISIT, absolute_max=MAX_LABS_PER_VISIT,
                                   validate_max=True)


class ImagingForm(HiddenCharactersRefused, BlankMarkupCached, forms.Form):
    xray = forms.ChoiceField(required=False, label="X-ray",
                             choices=[("", "Not done"), *code_choices(vocab.XRAY)])
    ultrasound = forms.ChoiceField(required=False,
                                   choices=[("", "Not done"), *code_choices(vocab.ULTRASOUND)])
    histology = forms.ChoiceField(required=False,
                                  choices=[("", "Not done"), *code_choices(vocab.HISTOLOGY)])
    dermoscopy = forms.MultipleChoiceField(required=False, choices=code_choices(vocab.DERMOSCOPY),
                                           widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(Row(Column("xray"), Column("ultrasound"),
                                        Column("histology")), InlineCheckboxes("dermoscopy"))

    def instances(self) -> list[ImagingFinding]:
        data = self.cleaned_data
        found = [ImagingFinding(modality=m, finding=data[m])
                 for m in ("xray", "ultrasound", "histology") if data.get(m)]
        found += [ImagingFinding(modality="dermoscopy", finding=code)
                  for code in sorted(data.get("dermoscopy") or [])]
        for item in found:
            if item.finding not in IMAGING_CODES[item.modality]:
                raise forms.ValidationError("Unknown imaging finding.")
        return found


_ENGINE_PATH = re.compile(r"^(?P<root>patient|lesion|labs|imaging)(?:\[(?P<index>\d+)\])?"
                          r"(?:\.(?P<rest>.+))?$")


class EncounterEntry:
    """The encounter page: visit, lesions, labs and imaging, validated as one.

    ``is_valid`` is true only when every part is valid and the engine accepts the contract input
    of every lesion; engine errors land on the fields they name, so the clinician sees them where
    they typed.
    """

    def __init__(self, data: Any = None, *, patient: Patient,
                 follow_up: list[tuple[Lesion, LesionObservation | None, bool]] | None = None
                 ) -> None:
        """``follow_up``: existing lesions with their last observation and whether to tick
        them; without it the page records a first visit with new lesions."""
        self.patient = patient
        self.is_follow_up = follow_up is not None
        self.encounter_form = EncounterForm(data, patient=patient, prefix="visit")
        self.follow_up_forms: list[Any] = []
        if self.is_follow_up:
            self.lesions = None
            self.follow_up_forms = [
                FollowUpLesionForm(data, lesion=lesion, last=last, selected=selected,
                                   prefix=f"lesion-{lesion.pk}")
                for lesion, last, selected in follow_up]
        else:
            self.lesions = LesionEntryFormSet(data, prefix="lesion")
        self.labs = LabFormSet(data, prefix="lab")
        self.imaging = ImagingForm(data, prefix="imaging")
        self.page_errors: list[str] = []
        self.validated: list[tuple[dict[str, Any], engine.Findings]] = []

    @property
    def lesion_forms(self) -> list[Any]:
        # The formset builds its forms when first asked: not at all on a page whose lesion
        # part is reused (blank_markup_key).
        return self.lesions.forms if self.lesions is not None else self.follow_up_forms

    def blank_markup_key(self) -> tuple[Any, ...] | None:
        """The lesion, lab and imaging parts of a page not yet submitted are the same for every
        patient: the template reuses their markup ({% blank_section %}, templatetags/
        blank_forms.py) and their forms are never built."""
        return None if self.encounter_form.is_bound else ()

    @property
    def parts(self) -> list[Any]:
        return [self.encounter_form, *([self.lesions] if self.lesions is not None else
                                       self.lesion_forms), self.labs, self.imaging]

    def is_valid(self) -> bool:
        if not all(part.is_valid() for part in self.parts):
            return False
        self.encounter = self.encounter_form.save(commit=False)
        if self.is_follow_up:
            self.encounter.kind = EncounterKind.FOLLOW_UP
            self.entry_forms = [form for form in self.lesion_forms if form.included]
            if not self.entry_forms:
                self.page_errors.append("Tick at least one lesion seen at this visit.")
                return False
            self._check_follow_up_dates()
        else:
            self.entry_forms = [form for form in self.lesion_forms if form.has_changed()]
            # New lesions at the child's first visit, or at a later one (a new lesion of a
            # child already seen is recorded on this page too).
            earlier = self.patient.encounters.filter(date__lt=self.encounter.date).exists()
            self.encounter.kind = EncounterKind.FOLLOW_UP if earlier else EncounterKind.INITIAL
        self.entries = [form.instances() for form in self.entry_forms]
        self.lab_rows = [(i, lab) for i, form in enumerate(self.labs.forms)
                         if (lab := form.instance()) is not None]
        self.imaging_items = self.imaging.instances()
        # Each contract input checked here with its findings: the service assesses these
        # findings instead of validating again when it rebuilds the same input after saving.
        self.validated = []
        for index, entry in enumerate(self.entries):
            if entry.observation.course_status == CourseStatus.RESOLVED:
                continue  # nothing left to assess
            data = contract_input(patient=self.patient, encounter=self.encounter,
                                  lesion=entry.lesion, observation=entry.observation,
                                  labs=[lab for _, lab in self.lab_rows],
                                  imaging=self.imaging_items)
            try:
                self.validated.append((data, engine.validate(data)))
            except engine.InvalidInput as error:
                for item in error.errors:
                    self._place(item.field, item.message, index)
        return not self.page_errors and all(not part.errors for part in
                                            [self.encounter_form, self.imaging]) and all(
            not form.errors for form in [*self.lesion_forms, *self.labs.forms])

    @property
    def lesion_errors(self) -> bool:
        return any(form.errors for form in self.lesion_forms)

    def _check_follow_up_dates(self) -> None:
        visit = self.encounter.date
        for form in self.entry_forms:
            if form.last is not None and visit <= form.last.encounter.date:
                self.encounter_form.add_error(
                    "date", f"{form.lesion} was last seen on {form.last.encounter.date:%Y-%m-%d};"
                            " a follow-up must come after it.")

    def _place(self, path: str, message: str, lesion_index: int) -> None:
        match = _ENGINE_PATH.match(path)
        root = match["root"] if match else ""
        rest = (match["rest"] or "") if match else ""
        target: forms.Form | None = None
        field: str | None = None
        if root == "lesion":
            target, field = self.entry_forms[lesion_index], rest
        elif root == "labs" and match and match["index"] is not None:
            form_index = self.lab_rows[int(match["index"])][0]
            target, field = self.labs.forms[form_index], rest
        elif root == "imaging":
            target, field = self.imaging, rest.split("[")[0]
        elif root == "patient":
            name = rest.split(".")[-1]
            if name in VISIT_HISTORY_FLAGS:
                target, field = self.encounter_form, name
            elif name in LESION_HISTORY_FLAGS:
                target, field = self.entry_forms[lesion_index], name
            elif name == "age_months":
                target, field = self.encounter_form, "date"
        field = field.split("[")[0] if field else field
        if target is not None and field in target.fields:
            if message not in target.errors.get(field, []):
                target.add_error(field, message)
        else:
            text = f"{path}: {message}"
            if root == "patient":
                text += " (correct it on the patient's record)"
            if text not in self.page_errors:
                self.page_errors.append(text)


# --- Decision ---------------------------------------------------------------------------------

class DecisionForm(HiddenCharactersRefused, forms.Form):
    """Agree with the engine or override it. Opens on the clinician's current decision, so a
    recorded override is never shown under "Agree"; overriding to a management milder than an
    urgent or refer red flag needs ``flag_considered`` ticked and a reason (the override
    guard)."""

    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.RadioSelect,
                                 initial=Decision.AGREE)
    final_entity = forms.ChoiceField(required=False, label="Your diagnosis (when overriding)")
    final_subtypes = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                               choices=code_choices(vocab.SUBTYPES),
                                               label="Your subtypes (when overriding)")
    final_management = forms.ChoiceField(required=False, label="Your management (when "
                                                               "overriding)",
                                         choices=[("", "—"), *ManagementCategory.choices])
    flag_considered = forms.BooleanField(required=False)
    reason = forms.CharField(required=False, max_length=5000,
                             widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Required when you override the assessment.")

    def __init__(self, *args: Any, output: dict[str, Any] | None = None,
                 current: Any = None, **kwargs: Any) -> None:
        if current is not None and not args and "initial" not in kwargs:
            kwargs["initial"] = {"decision": current.decision,
                                 "final_entity": current.final_entity,
                                 "final_management": current.final_management,
                                 "final_subtypes": current.final_subtypes,
                                 "flag_considered": current.flag_considered}
        super().__init__(*args, **kwargs)
        from .engine.knowledge import ENTITY_LIST

        self.output = output or {}
        self.fields["final_entity"].choices = [("", "—")] + [(e.code, e.label)
                                                            for e in ENTITY_LIST]
        # The most severe flag any milder management would go against ("watchful waiting"
        # is the mildest category).
        self.guard_flag = overridden_flag(self.output, "watchful_waiting")
        layout: list[Any] = [
            Field("decision"),
            Div(Row(Column("final_entity", css_class="col-md-6"), Column("final_management")),
                "final_subtypes", css_class="override-fields"),
        ]
        if self.guard_flag is None:
            del self.fields["flag_considered"]
        else:
            flag = self.guard_flag
            self.fields["flag_considered"].label = (
                f"I have considered the {flag['action']} red flag and still choose a milder "
                f"management: {flag['message']}")
            self.fields["flag_considered"].help_text = (
                "Required when your management is milder than "
                f"{'urgent' if flag['action'] == 'urgent' else 'refer'}.")
            layout.append(Div("flag_considered", css_class="override-guard"))
        layout.append("reason")
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(*layout)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("decision") == Decision.OVERRIDE:
            if not (cleaned.get("reason") or "").strip():
                self.add_error("reason", "Give the reason for overriding the assessment.")
            if not cleaned.get("final_entity"):
                self.add_error("final_entity", "Choose your diagnosis.")
            if not cleaned.get("final_management"):
                self.add_error("final_management", "Choose your management.")
            flag = overridden_flag(self.output, cleaned.get("final_management") or "")
            if flag is not None and not cleaned.get("flag_considered"):
                self.add_error("flag_considered",
                               f"Your management is milder than the {flag['action']} red flag: "
                               "tick to confirm you considered it, and give your reason.")
            if not cleaned.get("final_subtypes") and cleaned.get("final_entity"):
                from .engine.knowledge import ENTITIES

                entity = ENTITIES[cleaned["final_entity"]]
                cleaned["final_subtypes"] = [entity.subtype] if entity.subtype and \
                    entity.calcinosis != "no" else []
        return cleaned


class PhotoForm(HiddenCharactersRefused, forms.Form):
    image = forms.FileField(label="Photo (JPEG or PNG)", widget=forms.ClearableFileInput(
        attrs={"accept": "image/jpeg,image/png"}))
    caption = forms.CharField(required=False, max_length=200)

    def clean_image(self) -> Any:
        from .photos import PhotoRejected, clean_photo

        upload = self.cleaned_data["image"]
        try:
            self.cleaned_photo = clean_photo(upload, size=upload.size)
        except PhotoRejected as error:
            raise forms.ValidationError(str(error)) from None
        return upload


class ObservationEditForm(HiddenCharactersRefused, forms.Form):
    """Correct what was recorded of a lesion at one visit (the version token refuses a stale
    save)."""

    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, instance: LesionObservation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance = instance
        _add_observation_fields(self)
        if not self.is_bound:
            self.initial.update({name: getattr(instance, name) for name in OBSERVATION_FIELDS})
            self.initial["features"] = list(instance.features or [])
            self.initial["version"] = instance.version
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            "version",
            Row(Column("count"), Column("distribution"), Column("largest_diameter_mm"),
                Column("perpendicular_diameter_mm")),
            Row(Column("color"), Column("morphology"), Column("surface"), Column("consistency")),
            Row(Column("onset_age_months"), Column("duration_weeks"), Column("trend")),
            InlineCheckboxes("features"),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _check_sizes(self, cleaned)
        if not self.errors:
            observation = _observation(cleaned, course_status=self.instance.course_status)
            encounter = self.instance.encounter
            data = contract_input(patient=encounter.patient, encounter=encounter,
                                  lesion=self.instance.lesion, observation=observation,
                                  labs=list(encounter.labs.all()),
                                  imaging=list(encounter.imaging.all()))
            try:
                engine.validate(data)
            except engine.InvalidInput as error:
                for item in error.errors:
                    name = item.field.split(".")[-1].split("[")[0]
                    if name in self.fields:
                        self.add_error(name, item.message)
                    else:
                        self.add_error(None, f"{item.field}: {item.message}")
        return cleaned

    def changes(self) -> dict[str, Any]:
        observation = _observation(self.cleaned_data)
        return {name: getattr(observation, name) for name in (*OBSERVATION_FIELDS, "features")}
