"""Free text is refused when it holds characters a reader cannot see.

A right-to-left override makes ``abc\\u202egnp.exe`` display as ``abcexe.png``; zero-width and
other format characters make two different record numbers look identical; control characters
corrupt exports and terminals. None of them belongs in a clinical note, so every free-text field
refuses them, naming the character and where it is, rather than silently removing them: what is
stored is then exactly what the clinician typed and saw.

Two doors use the same check: a model-field validator (``refuse_hidden_characters``, run by
``full_clean`` in the services and the admin) and, for forms, ``HiddenCharactersRefused``, which
puts the field's own label in the message.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import pretty_name
from django.utils.deconstruct import deconstructible

# Tab, newline and carriage return are how multi-line notes are typed; every other C0/C1
# control character is refused.
ALLOWED_CONTROLS = frozenset("\t\n\r")
# Cc control, Cf format (bidi embeddings, overrides and isolates, LRM/RLM/ALM, zero-width
# characters, BOM, soft hyphen...), Zl/Zp line and paragraph separators (they break lines in
# some renderers and not in others), Cs lone surrogates (not text at all).
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
CODE = "hidden_character"


def _is_noncharacter(code_point: int) -> bool:
    """The 66 Unicode noncharacters: U+FDD0..U+FDEF and the last two code points of every
    plane. (Other unassigned code points are accepted: they may be characters of a newer
    Unicode version than this Python knows, such as a new emoji.)"""
    return 0xFDD0 <= code_point <= 0xFDEF or (code_point & 0xFFFE) == 0xFFFE


def is_hidden(char: str) -> bool:
    if char in ALLOWED_CONTROLS:
        return False
    return unicodedata.category(char) in REFUSED_CATEGORIES or _is_noncharacter(ord(char))


def find_hidden_character(value: str) -> tuple[int, str] | None:
    """The first refused character and its 1-based position (as a person counts), or None."""
    for index, char in enumerate(value):
        if is_hidden(char):
            return index + 1, char
    return None


def describe(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``; controls have no Unicode name, only the code."""
    name = unicodedata.name(char, "")
    code = f"U+{ord(char):04X}"
    return f"{code} {name}" if name else code


def hidden_character_message(subject: str, position: int, char: str) -> str:
    return (f"{subject} contains an invisible control or text-direction character "
            f"({describe(char)}) at position {position}; remove it.")


def _check(value: Any, subject: str) -> None:
    # Only text is checked: a form field's cleaned value may be another type (a UUID, say).
    if not isinstance(value, str):
        return
    found = find_hidden_character(value)
    if found is not None:
        position, char = found
        raise ValidationError(hidden_character_message(subject, position, char), code=CODE,
                              params={"position": position, "character": describe(char)})


def refuse_hidden_characters(value: Any) -> None:
    """Model-field validator. No label here: Django shows the message under its field.

    Migrations refer to it as ``assessment.text.refuse_hidden_characters``: keep the name."""
    _check(value, "This text")


@deconstructible
class LabelledHiddenCharacterValidator:
    """The same check with the field's label in the message, for form fields."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, value: Any) -> None:
        _check(value, self.label)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LabelledHiddenCharacterValidator) and other.label == self.label

    def __hash__(self) -> int:
        return hash(self.label)


class HiddenCharactersRefused:
    """Form mixin: every ``forms.CharField`` of the form refuses hidden characters, with a
    message naming the field.

    Put it first in the bases (``class F(HiddenCharactersRefused, forms.ModelForm)``) so its
    ``full_clean`` is the one Django calls. The validators are added in ``full_clean`` rather
    than in ``__init__`` on purpose: most forms here add fields in their own ``__init__`` after
    ``super().__init__()`` (fields_for_model, tri-state selects) and some callers remove or add
    fields after construction (EncounterEntry deletes ``kind``), so a loop in ``__init__`` would
    miss fields added later. ``full_clean`` runs once the form is complete, just before any
    field is cleaned (``is_valid``, ``errors`` and formsets all go through it), so no field can
    escape, and no form has to remember to call anything. The validator then runs inside
    Django's own field cleaning: the error lands on that field, the bound value is re-rendered,
    and ``cleaned_data`` never holds the refused text.
    """

    fields: dict[str, forms.Field]

    def full_clean(self) -> None:
        self.refuse_hidden_characters_in_text_fields()
        super().full_clean()  # type: ignore[misc]

    def refuse_hidden_characters_in_text_fields(self) -> None:
        for name, field in self.fields.items():
            if not isinstance(field, forms.CharField):
                continue
            # Idempotent: full_clean may run more than once on the same form.
            if any(isinstance(v, LabelledHiddenCharacterValidator) for v in field.validators):
                continue
            # Each form instance has its own deep copy of its fields (and of their validator
            # lists), so this never leaks into the class or into other forms.
            field.validators.append(
                LabelledHiddenCharacterValidator(str(field.label or pretty_name(name))))


def spreadsheet_safe(text: str) -> str:
    """A CSV cell that a spreadsheet program will not run: a leading =, +, - or @ would be read
    as a formula (CSV injection), and export files are often opened in one before an import."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
