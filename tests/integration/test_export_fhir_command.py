"""``manage.py export_fhir``: FHIR R4 bulk NDJSON of whole clinics, as a named user. One file per
resource type, every line a valid resource, counts that match, one log row; refusals that name
the option to fix; the same output whatever the batch size; a failed run leaves no file that
looks complete. (Who may run it is tested for every export command in test_command_access.)"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from fhir.resources.R4B import get_fhir_model_class

from assessment import services
from assessment.demo import record_contract_case, record_follow_up
from assessment.interop import fhir
from assessment.models import CourseStatus, ExportLog, Patient
from tests.builders import load_case

TYPES = ("Patient", "Encounter", "BodyStructure", "Condition", "Observation",
         "ClinicalImpression", "CarePlan")


@pytest.fixture
def world(alice, charlie, north, south) -> dict[str, Patient]:
    a = record_contract_case(data=load_case("seed_case_a_pearl_like_heel_nodule.json")["input"],
                             record_number="NA-1", born=date(2025, 8, 10),
                             visit=date(2026, 8, 10), label="", user=alice, site=north)
    record_follow_up(patient=a, on=date(2026, 11, 9), status=CourseStatus.RESOLVED, changes={},
                     user=alice)
    b = record_contract_case(
        data=load_case("seed_case_b_extravasation_renal_failure.json")["input"],
        record_number="NB-1", born=date(2025, 4, 15), visit=date(2026, 9, 15), label="",
        user=alice, site=north)
    c = record_contract_case(data=load_case("seed_case_c_heel_stick_nodules.json")["input"],
                             record_number="NC-1", born=date(2026, 2, 1),
                             visit=date(2026, 10, 1), label="", user=alice, site=north)
    services.patient_archive(patient=c, user=alice)
    theirs = record_contract_case(
        data=load_case("seed_case_c_heel_stick_nodules.json")["input"], record_number="SX-1",
        born=date(2026, 2, 1), visit=date(2026, 10, 1), label="", user=charlie, site=south)
    return {"a": a, "b": b, "c": c, "theirs": theirs}


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_fhir", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def read(folder: Path) -> dict[str, list[dict]]:
    return {kind: [json.loads(line) for line in
                   (folder / f"{kind}.ndjson").read_text(encoding="utf-8").splitlines()]
            for kind in TYPES}


def test_one_file_per_type_every_line_valid_and_logged(world, dana, tmp_path: Path) -> None:
    folder = tmp_path / "fhir"
    stdout, stderr = run("--as", "dana", "--site", "north", "--out", str(folder))
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.ndjson" for t in TYPES)
    data = read(folder)
    ids = set()
    for kind, rows in data.items():
        klass = get_fhir_model_class(kind)
        for row in rows:
            resource = klass.model_validate(row)
            assert resource.get_resource_type() == kind
            ids.add(f"{kind}/{resource.id}")
    # References are Type/id and every one resolves inside the export.
    for kind, rows in data.items():
        for row in rows:
            for reference in _references(row):
                assert reference in ids, (kind, reference)
    # Three North patients (one archived, still exported); South's stays out.
    records = sorted(row["identifier"][0]["value"] for row in data["Patient"])
    assert records == ["NA-1", "NB-1", "NC-1"]
    archived = next(r for r in data["Patient"] if r["identifier"][0]["value"] == "NC-1")
    assert archived["active"] is False
    assert len(data["Encounter"]) == 4  # A's first visit and recheck, B, C
    assert len(data["BodyStructure"]) == len(data["Condition"]) == 3
    resolved = [c for c in data["Condition"] if c["clinicalStatus"]["coding"][0]["code"]
                == "resolved"]
    assert [c["abatementDateTime"] for c in resolved] == ["2026-11-09"]
    labs = [o for o in data["Observation"] if o["category"][0]["coding"][0]["code"]
            == "laboratory"]
    assert len(labs) == 6  # B's four, C's two
    for kind in TYPES:
        assert f"{kind}.ndjson" in stdout
        assert f"{len(data[kind]):>12,} resources" in stdout
    assert "patients/s" in stdout and "peak memory" in stdout
    assert "3 patients of 3 (100%)" in stderr
    log = ExportLog.objects.get()
    assert (log.user, log.kind, log.channel, log.site_codes, log.patient_count) == (
        dana, "fhir_bulk", "command", ["north"], 3)
    assert log.finished_at is not None and log.patient is None


def _references(node: object) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference":
                found.append(value)
            else:
                found += _references(value)
    elif isinstance(node, list):
        for value in node:
            found += _references(value)
    return found


def test_the_bundle_and_the_bulk_export_agree(world, dana, alice_client, tmp_path) -> None:
    """The same builder serves both doors: same resources, same ids."""
    run("--as", "dana", "--site", "north", "--out", str(tmp_path / "bulk"))
    bulk = {f"{kind}/{row['id']}" for kind, rows in read(tmp_path / "bulk").items()
            for row in rows}
    bundle = json.loads(alice_client.get(f"/patients/{world['b'].pk}/fhir.json").content)
    ids = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    assert ids <= bulk


def test_batches_give_the_same_files_as_one_batch(world, dana, tmp_path: Path) -> None:
    run("--as", "dana", "--site", "north", "--out", str(tmp_path / "one"))
    _, stderr = run("--as", "dana", "--site", "north", "--out", str(tmp_path / "two"),
                    "--batch", "2")
    assert stderr.count("patients/s") == 2  # a progress line per batch
    for kind in TYPES:
        assert (tmp_path / "one" / f"{kind}.ndjson").read_bytes() == \
            (tmp_path / "two" / f"{kind}.ndjson").read_bytes()


@pytest.mark.django_db(transaction=True)
def test_workers_give_the_same_files_as_one_process(world, dana, tmp_path: Path) -> None:
    """Forked workers read committed rows (hence a transactional test) and the parent writes
    their batches in patient order."""
    run("--as", "dana", "--site", "north", "--out", str(tmp_path / "one"), "--batch", "1")
    stdout, _ = run("--as", "dana", "--site", "north", "--out", str(tmp_path / "two"),
                    "--batch", "1", "--workers", "2")
    assert "largest of 2 workers" in stdout
    for kind in TYPES:
        assert (tmp_path / "one" / f"{kind}.ndjson").read_bytes() == \
            (tmp_path / "two" / f"{kind}.ndjson").read_bytes()


def test_two_clinics_in_one_run(world, dana, south, tmp_path: Path) -> None:
    from assessment.models import Membership, Role

    Membership.objects.create(user=dana, site=south, role=Role.DATA_MANAGER)
    run("--as", "dana", "--site", "north", "--site", "south", "--out", str(tmp_path / "both"))
    records = sorted(r["identifier"][0]["value"] for r in read(tmp_path / "both")["Patient"])
    assert records == ["NA-1", "NB-1", "NC-1", "SX-1"]
    assert ExportLog.objects.get().site_codes == ["north", "south"]


# --- Refusals ----------------------------------------------------------------------------------

def test_an_unknown_clinic_is_refused(world, dana, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--site: no clinic 'nowhere'"):
        run("--as", "dana", "--site", "nowhere", "--out", str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_a_missing_parent_folder_is_refused(world, dana, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"--out: the folder .*missing does not exist"):
        run("--as", "dana", "--site", "north", "--out", str(tmp_path / "missing" / "fhir"))
    assert not ExportLog.objects.exists()


def test_existing_files_are_refused_without_force(world, dana, tmp_path: Path) -> None:
    folder = tmp_path / "fhir"
    run("--as", "dana", "--site", "north", "--out", str(folder))
    with pytest.raises(CommandError, match=r"already holds .*--force"):
        run("--as", "dana", "--site", "north", "--out", str(folder))
    before = (folder / "Patient.ndjson").read_bytes()
    run("--as", "dana", "--site", "north", "--out", str(folder), "--force")
    assert (folder / "Patient.ndjson").read_bytes() == before
    assert ExportLog.objects.count() == 2


def test_a_file_as_out_and_a_bad_batch_are_refused(world, dana, tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with pytest.raises(CommandError, match=r"--out: .* is a file"):
        run("--as", "dana", "--site", "north", "--out", str(plain))
    with pytest.raises(CommandError, match="--batch"):
        run("--as", "dana", "--site", "north", "--out", str(tmp_path / "y"), "--batch", "0")
    with pytest.raises(CommandError, match="--workers"):
        run("--as", "dana", "--site", "north", "--out", str(tmp_path / "y"), "--workers", "0")


def test_a_failed_run_leaves_no_file_that_looks_complete(world, dana, tmp_path: Path,
                                                        monkeypatch) -> None:
    real = fhir.ndjson_lines

    def failing(patients):
        for number, item in enumerate(real(patients)):
            if number == 5:
                raise RuntimeError("database went away")
            yield item

    monkeypatch.setattr(fhir, "ndjson_lines", failing)
    folder = tmp_path / "fhir"
    with pytest.raises(RuntimeError):
        run("--as", "dana", "--site", "north", "--out", str(folder))
    assert list(folder.iterdir()) == []
    assert ExportLog.objects.get().finished_at is None  # started, never finished
