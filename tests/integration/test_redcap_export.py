"""The REDCap export: records CSV and data dictionary agree, repeating instances link to their
visits, only the user's clinics leave, every export is logged, queries do not grow with patients,
and the Exports page shows each role what it may take out."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from assessment import services
from assessment.demo import record_contract_case, record_follow_up
from assessment.interop import redcap
from assessment.models import (
    Assessment,
    CourseStatus,
    ExportLog,
    Lesion,
    Patient,
    Role,
)
from tests.builders import load_case
from tests.factories import UserFactory

CASE_A = load_case("seed_case_a_pearl_like_heel_nodule.json")["input"]
CASE_B = load_case("seed_case_b_extravasation_renal_failure.json")["input"]
CASE_C = load_case("seed_case_c_heel_stick_nodules.json")["input"]

RECORDS = "/export/redcap/records.csv"
DICTIONARY = "/export/redcap/dictionary.csv"
REPEATING = "/export/redcap/repeating.csv"


def read(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.status_code
    body = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(body)))


def header(response: Any) -> list[str]:
    body = b"".join(response.streaming_content).decode("utf-8")
    return next(csv.reader(io.StringIO(body)))


@pytest.fixture
def registry(alice, north, charlie, south) -> dict[str, Patient]:
    """At North: case A seen twice (resolved at the 3-month recheck, as DEMO-A), case B with
    labs and an override; at South: case C."""
    a = record_contract_case(data=CASE_A, record_number="RC-A", born=date(2025, 8, 10),
                             visit=date(2026, 8, 10), label="right lateral heel nodule",
                             user=alice, site=north)
    record_follow_up(patient=a, on=date(2026, 11, 9), status=CourseStatus.RESOLVED, changes={},
                     user=alice)
    b = record_contract_case(data=CASE_B, record_number="RC-B", born=date(2025, 4, 15),
                             visit=date(2026, 9, 15), label="=HYPERLINK(\"x\")", user=alice,
                             site=north)
    services.assessment_decide(
        assessment=Assessment.objects.get(observation__encounter__patient=b), decision="override",
        final_subtypes=["iatrogenic"], final_entity="calcium_extravasation_calcinosis",
        final_management="refer", reason="Repeat labs were normal.", user=alice,
        flag_considered=True)
    c = record_contract_case(data=CASE_C, record_number="RC-C", born=date(2026, 2, 1),
                             visit=date(2026, 10, 1), label="heel", user=charlie, site=south)
    return {"a": a, "b": b, "c": c}


def dictionary() -> dict[str, dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO("".join(redcap.csv_lines(redcap.dictionary_rows())))))
    return {row["Variable / Field Name"]: row for row in rows}


def choices(row: dict[str, str]) -> set[str]:
    text = row["Choices, Calculations, OR Slider Labels"]
    return {part.split(",", 1)[0].strip() for part in text.split("|")} if text else set()


# --- The dictionary and the records agree --------------------------------------------------------

def test_every_records_cell_is_described_by_the_dictionary(registry, dana_client: Client) -> None:
    fields = dictionary()
    rows = read(dana_client.get(RECORDS))
    assert list(rows[0])[:3] == ["record_id", "redcap_repeat_instrument",
                                 "redcap_repeat_instance"]
    assert next(iter(fields)) == "record_id"
    for column in list(rows[0])[3:]:
        base, _, code = column.partition("___")
        assert base in fields, column
        row = fields[base]
        assert (row["Field Type"] == "checkbox") == bool(code), column
        if code:
            assert code in choices(row), column
    for record in rows:
        form = record["redcap_repeat_instrument"] or "patient"
        assert (record["redcap_repeat_instance"] == "") == (form == "patient")
        for column, value in record.items():
            if column in redcap.SYSTEM_COLUMNS or value == "":
                continue
            base, _, code = column.partition("___")
            spec = fields[base]
            assert spec["Form Name"] == form, (column, form)
            kind = spec["Field Type"]
            validation = spec["Text Validation Type OR Show Slider Number"]
            if code:
                assert value in ("0", "1"), (column, value)
            elif kind in ("radio", "dropdown"):
                assert value in choices(spec), (column, value)
            elif kind == "yesno":
                assert value in ("0", "1"), (column, value)
            elif validation == "date_ymd":
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), (column, value)
                date.fromisoformat(value)
            elif validation in ("integer", "number"):
                number = _number(value, column)
                if validation == "integer":
                    assert re.fullmatch(r"-?\d+", value), (column, value)
                if spec["Text Validation Min"]:
                    assert number >= Decimal(spec["Text Validation Min"]), (column, value)
                if spec["Text Validation Max"]:
                    assert number <= Decimal(spec["Text Validation Max"]), (column, value)


def _number(value: str, column: str) -> Decimal:
    assert re.fullmatch(r"-?\d+(\.\d+)?", value), (column, value)
    return Decimal(value)  # the pattern above admits only what Decimal reads


def test_the_records_columns_follow_the_dictionary_order(registry, dana_client: Client) -> None:
    expected = ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance"]
    for row in list(dictionary().values())[1:]:
        name = row["Variable / Field Name"]
        if row["Field Type"] == "checkbox":
            expected += [f"{name}___{code}" for code in
                         [part.split(",", 1)[0].strip() for part in
                          row["Choices, Calculations, OR Slider Labels"].split("|")]]
        else:
            expected.append(name)
    assert header(dana_client.get(RECORDS)) == expected


def test_the_dictionary_has_redcaps_exact_columns(dana_client: Client) -> None:
    assert header(dana_client.get(DICTIONARY)) == [
        "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
        "Choices, Calculations, OR Slider Labels", "Field Note",
        "Text Validation Type OR Show Slider Number", "Text Validation Min",
        "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
        "Required Field?", "Custom Alignment", "Question Number (surveys only)",
        "Matrix Group Name", "Matrix Ranking?", "Field Annotation"]


def test_the_repeating_file_names_the_repeating_instruments(dana_client: Client) -> None:
    rows = read(dana_client.get(REPEATING))
    assert [row["form_name"] for row in rows] == ["visit", "lesion_visit", "lab", "assessment"]
    forms = {row["Form Name"] for row in dictionary().values()}
    assert {row["form_name"] for row in rows} <= forms
    for row in rows:  # piped fields exist and belong to that instrument
        for name in re.findall(r"\[([a-z0-9_]+)\]", row["custom_form_label"]):
            assert dictionary()[name]["Form Name"] == row["form_name"]


# --- Repeating instances -----------------------------------------------------------------------

def test_two_visits_and_a_resolved_lesion(registry, dana_client: Client) -> None:
    rows = [r for r in read(dana_client.get(RECORDS)) if r["record_id"] == "RC-A"]
    patient = [r for r in rows if r["redcap_repeat_instrument"] == ""]
    assert len(patient) == 1
    assert patient[0]["date_of_birth"] == "2025-08-10" and patient[0]["sex"] == "female"
    assert patient[0]["clinic_code"] == "north"
    visits = [r for r in rows if r["redcap_repeat_instrument"] == "visit"]
    assert [(v["redcap_repeat_instance"], v["visit_date"], v["visit_kind"]) for v in visits] == [
        ("1", "2026-08-10", "initial"), ("2", "2026-11-09", "follow_up")]
    assert visits[0]["visit_age_months"] == "12"
    seen = [r for r in rows if r["redcap_repeat_instrument"] == "lesion_visit"]
    assert [(s["redcap_repeat_instance"], s["lv_visit_instance"], s["lv_visit_date"],
             s["lesion_number"], s["course_status"]) for s in seen] == [
        ("1", "1", "2026-08-10", "1", ""), ("2", "2", "2026-11-09", "1", "resolved")]
    assert {s["lesion_status"] for s in seen} == {"resolved"}
    assert {s["lesion_resolved_on"] for s in seen} == {"2026-11-09"}
    assert seen[0]["lesion_site"] == "heel" and seen[0]["lesion_label"] == \
        "right lateral heel nodule"
    assessments = [r for r in rows if r["redcap_repeat_instrument"] == "assessment"]
    # A resolved recheck is recorded without a new assessment.
    assert [(x["redcap_repeat_instance"], x["asmt_visit_instance"], x["asmt_lesion_number"])
            for x in assessments] == [("1", "1", "1")]
    assert assessments[0]["leading_entity"] and assessments[0]["asmt_ruleset"]


def test_features_are_a_checkbox_and_history_is_yes_no_unknown(registry,
                                                              dana_client: Client) -> None:
    rows = read(dana_client.get(RECORDS))
    b_seen = next(r for r in rows if r["record_id"] == "RC-B"
                  and r["redcap_repeat_instrument"] == "lesion_visit")
    ticked = {c.split("___")[1] for c, v in b_seen.items() if c.startswith("features___")
              and v == "1"}
    assert ticked == {"swelling", "erythema_around", "chalky_discharge"}
    assert b_seen["features___pain"] == "0"
    # extravasation_documented is null in the case: unknown, never "no".
    assert b_seen["extravasation_documented"] == "9"
    assert b_seen["iv_calcium_at_lesion_site"] == "1"
    b_patient = next(r for r in rows if r["record_id"] == "RC-B"
                     and not r["redcap_repeat_instrument"])
    assert (b_patient["renal_disease"], b_patient["neonatal_heel_sticks"],
            b_patient["malignancy"]) == ("1", "0", "9")
    # Cells of other instruments stay blank (REDCap ignores blanks on import).
    assert b_patient["features___pain"] == "" and b_seen["renal_disease"] == ""


def test_labs_keep_the_entered_unit_and_the_engines_canonical_value(
        registry, dana_client: Client) -> None:
    labs = [r for r in read(dana_client.get(RECORDS)) if r["redcap_repeat_instrument"] == "lab"]
    assert [r["lab_analyte"] for r in labs] == ["creatinine", "urea", "calcium_total",
                                                "phosphate"]
    creatinine = labs[0]
    assert (creatinine["lab_value"], creatinine["lab_unit"], creatinine["lab_ref_low"],
            creatinine["lab_ref_high"]) == ("7.18", "mg/dL", "0.5", "1.2")
    assert (creatinine["lab_value_canonical"], creatinine["lab_unit_canonical"]) == (
        "7.18", "mg/dL")
    assert creatinine["lab_flag"] == "high"
    assert {r["lab_visit_instance"] for r in labs} == {"1"}
    assert {r["lab_visit_date"] for r in labs} == {"2026-09-15"}


def test_converted_lab_values_come_from_the_stored_engine_output(alice, north,
                                                                 dana_client: Client) -> None:
    data = {**CASE_B, "labs": [{"analyte": "calcium_total", "value": 2.5, "unit": "mmol/L",
                                "reference_low": 2.1, "reference_high": 2.6}]}
    record_contract_case(data=data, record_number="RC-MMOL", born=date(2025, 4, 15),
                         visit=date(2026, 9, 15), label="", user=alice, site=north)
    lab = next(r for r in read(dana_client.get(RECORDS)) if r["redcap_repeat_instrument"] == "lab")
    assert (lab["lab_value"], lab["lab_unit"]) == ("2.5", "mmol/L")
    assert (lab["lab_value_canonical"], lab["lab_unit_canonical"]) == ("10.02", "mg/dL")


def test_the_override_and_its_reason_are_exported(registry, dana_client: Client) -> None:
    row = next(r for r in read(dana_client.get(RECORDS))
               if r["record_id"] == "RC-B" and r["redcap_repeat_instrument"] == "assessment")
    assert (row["decision"], row["final_entity"], row["final_management"]) == (
        "override", "calcium_extravasation_calcinosis", "refer")
    assert row["final_subtypes___iatrogenic"] == "1" and row["final_subtypes___metastatic"] == "0"
    assert row["override_reason"] == "Repeat labs were normal."
    assert row["flag_considered"] == "1" and row["management"] == "urgent"
    assert row["urgent"] in ("0", "1")
    a_row = next(r for r in read(dana_client.get(RECORDS))
                 if r["record_id"] == "RC-A" and r["redcap_repeat_instrument"] == "assessment")
    # No decision yet: blank, not "unticked".
    assert a_row["decision"] == "" and a_row["final_subtypes___iatrogenic"] == ""


def test_text_cells_cannot_run_as_spreadsheet_formulas(registry, dana_client: Client) -> None:
    row = next(r for r in read(dana_client.get(RECORDS))
               if r["record_id"] == "RC-B" and r["redcap_repeat_instrument"] == "lesion_visit")
    assert row["lesion_label"] == "'=HYPERLINK(\"x\")"


def test_visit_notes_are_left_out(registry, dana_client: Client) -> None:
    encounter = registry["a"].encounters.order_by("date").first()
    type(encounter).objects.filter(pk=encounter.pk).update(notes="Seen with Mrs Smith")
    body = b"".join(dana_client.get(RECORDS).streaming_content)
    assert b"Smith" not in body and b"notes" not in body.split(b"\r\n")[0]


# --- Who may export what ------------------------------------------------------------------------

@pytest.mark.parametrize("url", [RECORDS, DICTIONARY, REPEATING])
def test_viewers_and_clinicians_are_refused(url: str, registry, victor_client: Client,
                                            alice_client: Client, charlie_client: Client,
                                            bob_client: Client) -> None:
    for client in (victor_client, alice_client, charlie_client, bob_client):
        assert client.get(url).status_code == 403
    assert not ExportLog.objects.exists()


def test_anonymous_callers_go_to_login(db) -> None:
    response = Client().get(RECORDS)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_data_managers_and_reviewers_export_their_clinic_only(
        registry, dana_client: Client, rita_client: Client) -> None:
    for client in (dana_client, rita_client):
        records = {r["record_id"] for r in read(client.get(RECORDS))}
        assert records == {"RC-A", "RC-B"}


def test_another_clinics_data_manager_sees_only_theirs(registry, south) -> None:
    sam = UserFactory(username="sam-south", roles=[(south, Role.DATA_MANAGER)])
    client = Client()
    client.force_login(sam)
    assert {r["record_id"] for r in read(client.get(RECORDS))} == {"RC-C"}
    response = client.get(RECORDS, {"site": "north"})
    assert response.status_code == 400
    assert ExportLog.objects.get().site_codes == ["south"]  # the refused one is not logged


def test_a_data_manager_at_two_clinics_chooses(registry, north, south) -> None:
    both = UserFactory(username="dm-both", roles=[(north, Role.DATA_MANAGER),
                                                  (south, Role.REVIEWER)])
    client = Client()
    client.force_login(both)
    assert {r["record_id"] for r in read(client.get(RECORDS))} == {"RC-A", "RC-B", "RC-C"}
    assert {r["record_id"] for r in read(client.get(RECORDS, {"site": "south"}))} == {"RC-C"}
    assert {r["record_id"] for r in read(client.get(RECORDS + "?site=south&site=north"))} == {
        "RC-A", "RC-B", "RC-C"}


@pytest.mark.parametrize("query", ["site=south", "site=nowhere", "site=", "site=" + "x" * 500,
                                   "&".join(["site=north"] * 60)])
def test_a_bad_site_parameter_is_a_clear_400(query: str, registry,
                                             dana_client: Client) -> None:
    response = dana_client.get(f"{RECORDS}?{query}")
    assert response.status_code == 400
    text = response.content.decode()
    assert "Clinic (site)" in text and "North heel clinic" in text
    assert "x" * 21 not in text
    assert not ExportLog.objects.exists()


def test_the_records_export_is_logged(registry, dana, dana_client: Client) -> None:
    response = dana_client.get(RECORDS, {"site": "north"})
    log = ExportLog.objects.get()
    assert (log.user, log.kind, log.channel, log.site_codes) == (
        dana, "redcap_records", "web", ["north"])
    assert log.finished_at is None  # logged before the first byte
    read(response)
    log.refresh_from_db()
    assert log.patient_count == 2 and log.finished_at is not None


def test_the_dictionary_and_set_up_file_are_not_logged(dana_client: Client) -> None:
    dana_client.get(DICTIONARY)
    dana_client.get(REPEATING)
    assert not ExportLog.objects.exists()


# --- Queries -----------------------------------------------------------------------------------

def _patients(count: int, alice, north, *, start: int = 0) -> None:
    for index in range(start, start + count):
        patient = record_contract_case(
            data=CASE_B, record_number=f"Q-{index:03d}", born=date(2025, 4, 15),
            visit=date(2026, 9, 15), label="", user=alice, site=north)
        record_follow_up(patient=patient, on=date(2026, 10, 15), status=CourseStatus.SMALLER,
                         changes={}, user=alice)


def _queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        rows = read(client.get(RECORDS))
    assert rows
    return len(queries)


def test_queries_do_not_grow_with_patients(alice, north, dana_client: Client) -> None:
    _patients(2, alice, north)
    few = _queries(dana_client)
    _patients(8, alice, north, start=2)
    assert Patient.objects.count() == 10
    assert _queries(dana_client) == few


def test_batches_cost_a_fixed_number_of_queries_each(alice, north, dana) -> None:
    _patients(5, alice, north)
    sites = list(north.__class__.objects.filter(code="north"))
    with CaptureQueriesContext(connection) as one_batch:
        assert len(list(redcap.records(dana, sites, batch_size=10))) > 5
    with CaptureQueriesContext(connection) as three_batches:
        counter = redcap.Counter()
        rows = list(redcap.records(dana, sites, batch_size=2, counter=counter))
    assert counter.patients == 5
    assert {r[0] for r in rows[1:]} == {f"Q-{i:03d}" for i in range(5)}
    per_batch = len(one_batch)
    assert len(three_batches) <= 3 * per_batch


# --- The command -------------------------------------------------------------------------------

def test_the_command_writes_the_same_three_files(registry, dana, dana_client: Client,
                                                 tmp_path: Path) -> None:
    out = tmp_path / "redcap"
    call_command("export_redcap", "--site", "north", "--out", str(out), "--as", "dana",
                 stdout=io.StringIO())
    assert sorted(p.name for p in out.iterdir()) == [
        "redcap-data-dictionary.csv", "redcap-records.csv", "redcap-repeating-instruments.csv"]
    web = b"".join(dana_client.get(RECORDS).streaming_content).decode()
    assert (out / "redcap-records.csv").read_bytes().decode() == web
    web_dictionary = b"".join(dana_client.get(DICTIONARY).streaming_content).decode()
    assert (out / "redcap-data-dictionary.csv").read_bytes().decode() == web_dictionary
    assert (out / "redcap-records.csv").stat().st_mode & 0o077 == 0
    log = ExportLog.objects.get(channel="command")
    assert (log.kind, log.site_codes, log.patient_count) == ("redcap_records", ["north"], 2)


def test_the_command_never_overwrites(registry, dana, tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    (tmp_path / "redcap-records.csv").write_text("keep")
    with pytest.raises(CommandError, match="--out"):
        call_command("export_redcap", "--site", "north", "--out", str(tmp_path), "--as", "dana",
                     stdout=io.StringIO())
    assert (tmp_path / "redcap-records.csv").read_text() == "keep"
    a_file = tmp_path / "notes.txt"
    a_file.write_text("")
    with pytest.raises(CommandError, match="is a file, not a folder"):
        call_command("export_redcap", "--site", "north", "--out", str(a_file), "--as", "dana",
                     stdout=io.StringIO())


# --- The Exports page ------------------------------------------------------------------------

def _visible(page: str) -> str:
    from tests.integration.test_readable_pages import visible_text

    # Command lines are meant to be copied as written; everything else must be words.
    return visible_text(re.sub(r"<pre\b.*?</pre>|<code>.*?</code>", " ", page, flags=re.S))


def test_everyone_sees_what_they_may_export(registry, victor_client: Client,
                                            alice_client: Client) -> None:
    for client in (victor_client, alice_client):
        response = client.get("/export/")
        assert response.status_code == 200
        page = response.content.decode()
        assert "/export/assessments.csv" in page
        assert RECORDS not in page and "export_fhir" not in page
        assert "for data managers and" in page


def test_data_managers_get_the_redcap_files_and_the_commands(registry,
                                                             dana_client: Client) -> None:
    page = dana_client.get("/export/").content.decode()
    for link in (RECORDS, DICTIONARY, REPEATING, "/export/assessments.csv"):
        assert link in page
    assert 'name="site" value="north"' in page and "North heel clinic" in page
    assert "manage.py export_fhir --site north --out fhir-north --as dana" in page
    assert "manage.py export_redcap --site north --out redcap-north --as dana" in page
    assert "South heel clinic" not in page


def test_the_exports_page_is_words(registry, dana_client: Client,
                                   victor_client: Client) -> None:
    from tests.integration.test_readable_pages import DB_ID, REPR, SNAKE

    for client in (dana_client, victor_client):
        text = _visible(client.get("/export/").content.decode())
        assert not SNAKE.findall(text) and not REPR.findall(text) and not DB_ID.findall(text)
    assert "Exports" in dana_client.get("/").content.decode()


def test_archived_patients_are_exported_and_say_so(registry, alice,
                                                   dana_client: Client) -> None:
    services.patient_archive(patient=registry["a"], user=alice)
    rows = read(dana_client.get(RECORDS))
    flags = {r["record_id"]: r["record_archived"] for r in rows
             if not r["redcap_repeat_instrument"]}
    assert flags == {"RC-A": "1", "RC-B": "0"}
    assert Lesion.objects.filter(patient=registry["a"]).exists()
