"""The REDCap data dictionary obeys REDCap's rules (no database needed): field names, forms,
choices, validations, and the records columns it implies."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest

from assessment.engine import vocab
from assessment.engine.knowledge import ENTITIES
from assessment.interop import redcap

FIELDS = redcap.FIELDS
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")  # labels are words, never codes
CHOICE_CODE = re.compile(r"^[a-z0-9_]+$")
# Names REDCap uses itself or refuses for fields.
RESERVED = {"record", "id", "instance", "arm", "event_id", "page", "pnid", "new_form",
            "hidden_edit_flag"}


def test_the_first_field_is_the_record_id_of_the_first_form() -> None:
    assert (FIELDS[0].name, FIELDS[0].form, FIELDS[0].type) == ("record_id", "patient", "text")


@pytest.mark.parametrize("spec", FIELDS, ids=lambda f: f.name)
def test_field_names_follow_redcaps_rules(spec: redcap.Field) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", spec.name)
    assert len(spec.name) <= 26
    assert not spec.name.startswith("redcap_") and spec.name not in RESERVED
    assert not spec.name.endswith(("_complete", "_timestamp"))
    assert "___" not in spec.name and not spec.name.endswith("_")


def test_field_names_are_unique() -> None:
    names = [f.name for f in FIELDS]
    assert len(names) == len(set(names))


def test_forms_are_the_instruments_each_in_one_block() -> None:
    order = [f.form for f in FIELDS]
    blocks = [form for index, form in enumerate(order) if index == 0 or order[index - 1] != form]
    assert blocks == list(redcap.FORMS)
    assert set(redcap.REPEATING_FORMS) == set(redcap.FORMS) - {"patient"}


@pytest.mark.parametrize("spec", FIELDS, ids=lambda f: f.name)
def test_each_field_is_well_formed(spec: redcap.Field) -> None:
    assert spec.type in {"text", "notes", "dropdown", "radio", "checkbox", "yesno"}
    assert spec.label.strip() and not SNAKE.search(spec.label)
    if spec.type in ("dropdown", "radio", "checkbox"):
        assert spec.choices
        codes = [code for code, _ in spec.choices]
        assert len(codes) == len(set(codes))
        for code, label in spec.choices:
            assert CHOICE_CODE.match(code), code
            assert label.strip() and "|" not in label and not SNAKE.search(label), label
    else:
        assert not spec.choices
    assert spec.validation in ("", "date_ymd", "integer", "number")
    if spec.validation:
        assert spec.type == "text"
    for bound in (spec.minimum, spec.maximum):
        if bound:
            assert spec.validation in ("integer", "number")
            Decimal(bound)


def test_coded_fields_offer_every_code_of_the_app() -> None:
    by_name = {f.name: f for f in FIELDS}

    def codes(name: str) -> set[str]:
        return {code for code, _ in by_name[name].choices}

    assert codes("features") == set(vocab.FEATURES)
    assert codes("lesion_site") == set(vocab.SITES)
    assert codes("leading_entity") == codes("final_entity") == set(ENTITIES)
    assert codes("preterm_birth") == {"1", "0", "9"}


def test_the_model_validators_are_the_dictionary_bounds() -> None:
    by_name = {f.name: f for f in FIELDS}
    assert (by_name["gestational_age_weeks"].minimum,
            by_name["gestational_age_weeks"].maximum) == ("22", "44")
    assert (by_name["lesion_count"].minimum, by_name["lesion_count"].maximum) == ("1", "500")


def test_records_columns_expand_checkboxes_in_dictionary_order() -> None:
    columns = list(redcap.RECORD_COLUMNS)
    assert columns[:3] == ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance"]
    assert "features___chalky_discharge" in columns and "features" not in columns
    assert len(columns) == len(set(columns))


def test_the_dictionary_csv_has_one_row_per_field_under_redcaps_headers() -> None:
    text = "".join(redcap.csv_lines(redcap.dictionary_rows()))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == redcap.DICTIONARY_COLUMNS and len(rows[0]) == 18
    assert [row[0] for row in rows[1:]] == [f.name for f in FIELDS]
    assert all(len(row) == 18 for row in rows)


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("7.1800"), "7.18"), (Decimal("30.0"), "30"), (Decimal("0E-4"), "0"),
    (12.0, "12"), (10.02, "10.02"), (3, "3"), (Decimal("1E+2"), "100"),
])
def test_numbers_are_written_plainly(value: object, text: str) -> None:
    assert redcap._number(value) == text  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "safe"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("heel", "heel"), ("", ""),
])
def test_text_cells_are_spreadsheet_safe(text: str, safe: str) -> None:
    assert redcap.spreadsheet_safe(text) == safe
