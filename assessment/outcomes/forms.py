"""The outcomes page's filters. A bad value never stops the page: the field is named in a
message and left out, and the rest of the figures are shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django import forms

from ..models import Site
from .registry import GROUPINGS


@dataclass
class Filters:
    sites: list[Site]
    first_from: date | None
    first_to: date | None
    group: str
    clinic: Site | None
    problems: list[str] = field(default_factory=list)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        # ISO, the only format a date input accepts as its value.
        super().__init__(format="%Y-%m-%d")


class OutcomesFilterForm(forms.Form):
    first_from = forms.DateField(required=False, label="First visit from", widget=DateInput(),
                                 error_messages={"invalid": "not a date (use a date such as "
                                                            "2026-01-31); not applied."})
    first_to = forms.DateField(required=False, label="First visit to", widget=DateInput(),
                               error_messages={"invalid": "not a date (use a date such as "
                                                          "2026-01-31); not applied."})
    clinic = forms.ChoiceField(required=False, label="Clinic", error_messages={
        "invalid_choice": "not one of your clinics; all your clinics are shown."})
    group = forms.ChoiceField(required=False, label="Group by", choices=list(GROUPINGS.items()),
                              error_messages={"invalid_choice": "choose diagnosis, calcinosis "
                                                                "subtype or clinic; diagnosis "
                                                                "is shown."})

    def __init__(self, data: Any, *, sites: list[Site]) -> None:
        super().__init__(data)
        self.sites = sites
        self.fields["clinic"].choices = [("", "All my clinics")] + [
            (site.code, site.name) for site in sites]
        for bound in self.fields.values():
            bound.widget.attrs.setdefault("class", "form-select" if isinstance(
                bound, forms.ChoiceField) else "form-control")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("first_from"), cleaned.get("first_to")
        if start and end and start > end:
            self.add_error("first_to", "before “First visit from”; the date range is not "
                                       "applied.")
            cleaned.pop("first_from", None)
        return cleaned

    def filters(self) -> Filters:
        """The valid filter values, and a message naming each field whose value was not
        used."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        problems = [f"{self.fields[name].label}: {message}" if name in self.fields else message
                    for name, messages in self.errors.items() for message in messages]
        clinic = next((site for site in self.sites if site.code == data.get("clinic")), None)
        return Filters(sites=[clinic] if clinic else self.sites,
                       first_from=data.get("first_from"), first_to=data.get("first_to"),
                       group=data.get("group") or "entity", clinic=clinic, problems=problems)
