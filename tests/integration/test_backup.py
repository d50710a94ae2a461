"""Backup round trip, as an operator would do it: `backup` from a database with records,
history and photos; `migrate` + `restore` into an empty database of the same kind; every record
and every history entry comes back unchanged, and so do the photo files."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EDITS = """
from decimal import Decimal
from django.contrib.auth import get_user_model
from assessment import services
from assessment.models import Patient, LesionObservation, Assessment
from assessment.photos import clean_photo
import io
from PIL import Image
user = get_user_model().objects.get(username="demo")
patient = Patient.objects.get(record_number="DEMO-C")
patient.renal_disease = False
services.patient_update(patient=patient, expected_version=patient.version, user=user,
                        fields=["renal_disease"])
observation = LesionObservation.objects.filter(lesion__patient=patient).first()
services.observation_update(observation=observation, changes={"largest_diameter_mm": Decimal(4)},
                            expected_version=observation.version, user=user)
assessment = Assessment.objects.filter(observation=observation).first()
services.assessment_decide(assessment=assessment, decision="override",
                           final_subtypes=["dystrophic"],
                           final_entity="subepidermal_calcified_nodule",
                           final_management="watchful_waiting", reason="Backup test.", user=user)
buffer = io.BytesIO(); Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, "JPEG")
services.photo_attach(observation=observation, photo=clean_photo(io.BytesIO(buffer.getvalue())),
                      caption="round trip", user=user)
services.patient_archive(patient=Patient.objects.get(record_number="DEMO-B"), user=user)
"""


# Django's json cuts timestamps to the millisecond. Some are set to an exact ...123456 (model and
# history rows) so that a truncating backup cannot pass by luck.
EXACT_TIMESTAMPS = """
import datetime
from assessment.models import Encounter, Patient
exact = datetime.datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=datetime.timezone.utc)
patient = Patient.objects.get(record_number="DEMO-C")
Patient.objects.filter(pk=patient.pk).update(created_at=exact, updated_at=exact)
Patient.history.filter(id=patient.pk).update(history_date=exact)
Encounter.objects.filter(patient=patient).update(reviewed_at=exact)
"""
# Every datetime and time value of every model (history included), as text to the microsecond,
# per model as a sorted list of rows: restored rows may have other primary keys.
TIMESTAMPS = """
import json
from django.apps import apps
from django.db import models
skip = {"contenttypes", "sessions", "axes"}
values = {}
for model in apps.get_models():
    if model._meta.app_label in skip or model._meta.label_lower == "auth.permission":
        continue
    names = [f.attname for f in model._meta.concrete_fields
             if isinstance(f, (models.DateTimeField, models.TimeField))]
    if names:
        rows = model._base_manager.values_list(*names)
        values[model._meta.label_lower] = sorted(
            ([v and v.isoformat() for v in row] for row in rows), key=json.dumps)
print(json.dumps(values))
"""


def manage(env: dict[str, str], *args: str, stdin: str | None = None, umask: int = -1) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
                            capture_output=True, input=stdin, timeout=300, check=False,
                            umask=umask)
    assert result.returncode == 0, f"{args}: {result.stderr[-2000:]}"
    return result.stdout


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases of the kind the suite runs on."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path / 'one.sqlite3'}", f"sqlite:///{tmp_path / 'two.sqlite3'}"
        return
    import psycopg

    server = url.rsplit("/", 1)[0]
    names = [f"calc_backup_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{names[0]}", f"{server}/{names[1]}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def env_for(url: str, media: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DATABASE_URL": url, "DJANGO_DEBUG": "1", "DJANGO_MEDIA_ROOT": str(media),
                "DJANGO_SETTINGS_MODULE": "calcinosis_site.settings"})
    return env


def snapshot(env: dict[str, str]) -> list[dict]:
    out = manage(env, "dumpdata", "--natural-foreign", "--natural-primary", "--exclude",
                 "contenttypes", "--exclude", "auth.permission", "--exclude", "sessions",
                 "--exclude", "axes")
    rows = json.loads(out)
    return sorted(rows, key=lambda r: (r["model"], json.dumps(r.get("pk")),
                                       json.dumps(r["fields"], sort_keys=True)))


def test_backup_and_restore_round_trip(databases: tuple[str, str], tmp_path: Path) -> None:
    first, second = env_for(databases[0], tmp_path / "media1"), env_for(databases[1],
                                                                        tmp_path / "media2")
    manage(first, "migrate", "--noinput", "-v", "0")
    manage(first, "ensure_demo_user")
    manage(first, "load_demo", "--as", "demo")
    manage(first, "shell", "-c", EDITS)
    manage(first, "backup", "--output", str(tmp_path / "backup"))

    manage(second, "migrate", "--noinput", "-v", "0")
    manage(second, "restore", "--input", str(tmp_path / "backup"))

    before, after = snapshot(first), snapshot(second)
    assert after == before
    models = {row["model"] for row in before}
    for historical in ("assessment.historicalpatient", "assessment.historicallesionobservation",
                       "assessment.historicalassessmentdecision", "assessment.historicalphoto"):
        assert historical in models
    history_rows = [r for r in before if r["model"].startswith("assessment.historical")]
    assert len(history_rows) > 40
    photos = sorted(p for p in (tmp_path / "media1").rglob("*") if p.is_file())
    assert photos and [p.read_bytes() for p in photos] == [
        (tmp_path / "media2" / p.relative_to(tmp_path / "media1")).read_bytes() for p in photos]


def test_restore_keeps_every_timestamp_to_the_microsecond(databases: tuple[str, str],
                                                           tmp_path: Path) -> None:
    first, second = env_for(databases[0], tmp_path / "media1"), env_for(databases[1],
                                                                        tmp_path / "media2")
    manage(first, "migrate", "--noinput", "-v", "0")
    manage(first, "ensure_demo_user")
    manage(first, "load_demo", "--as", "demo")
    manage(first, "shell", "-c", EDITS)
    manage(first, "shell", "-c", EXACT_TIMESTAMPS)
    manage(first, "backup", "--output", str(tmp_path / "backup"))
    manage(second, "migrate", "--noinput", "-v", "0")
    manage(second, "restore", "--input", str(tmp_path / "backup"))

    before = json.loads(manage(first, "shell", "-v", "0", "-c", TIMESTAMPS))
    after = json.loads(manage(second, "shell", "-v", "0", "-c", TIMESTAMPS))
    for label in ("assessment.patient", "assessment.historicalpatient", "assessment.encounter",
                  "assessment.assessmentdecision", "assessment.historicalphoto"):
        assert before[label], label
    exact = "2025-03-04T05:06:07.123456+00:00"
    for label in ("assessment.patient", "assessment.historicalpatient", "assessment.encounter"):
        assert any(exact in row for row in before[label]), label
    assert after == before


def test_backup_is_readable_by_its_owner_only(databases: tuple[str, str],
                                              tmp_path: Path) -> None:
    first = env_for(databases[0], tmp_path / "media1")
    manage(first, "migrate", "--noinput", "-v", "0")
    backup = tmp_path / "backup"
    # A usual umask, under which files would be created world-readable.
    manage(first, "backup", "--output", str(backup), umask=0o022)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in backup.iterdir()}
    assert modes == {"db.json": 0o600, "media.tar.gz": 0o600, "manifest.json": 0o600}


def test_restore_reads_a_backup_made_before_the_format_was_recorded(
        databases: tuple[str, str], tmp_path: Path) -> None:
    first, second = env_for(databases[0], tmp_path / "m1"), env_for(databases[1],
                                                                    tmp_path / "m2")
    manage(first, "migrate", "--noinput", "-v", "0")
    manage(first, "ensure_demo_user")
    manage(first, "load_demo", "--as", "demo")
    backup = tmp_path / "backup"
    manage(first, "backup", "--output", str(backup))
    # What the old command wrote: plain json, and no format in the manifest.
    data, manifest_path = backup / "db.json", backup / "manifest.json"
    manage(first, "dumpdata", "--natural-foreign", "--natural-primary", "--exclude",
           "contenttypes", "--exclude", "auth.permission", "--exclude", "sessions",
           "--exclude", "axes", "--indent", "1", "--output", str(data))
    manifest = json.loads(manifest_path.read_text())
    del manifest["format"]
    manifest["db.json"] = hashlib.sha256(data.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest))
    manage(second, "migrate", "--noinput", "-v", "0")
    manage(second, "restore", "--input", str(backup))
    # The old format kept milliseconds only: a time with microseconds under 1 ms comes back
    # as a whole second, which Django's JSON writes without ".000". Compare to the millisecond.
    def to_ms(rows: list[dict]) -> str:
        return json.dumps(rows).replace(".000Z", "Z")

    assert to_ms(snapshot(second)) == to_ms(snapshot(first))


def test_restore_refuses_a_database_with_records(databases: tuple[str, str],
                                                 tmp_path: Path) -> None:
    first = env_for(databases[0], tmp_path / "media1")
    manage(first, "migrate", "--noinput", "-v", "0")
    manage(first, "ensure_demo_user")
    manage(first, "load_demo", "--as", "demo")
    manage(first, "backup", "--output", str(tmp_path / "backup"))
    result = subprocess.run([sys.executable, "manage.py", "restore", "--input",
                             str(tmp_path / "backup")], cwd=ROOT, env=first, text=True,
                            capture_output=True, timeout=120, check=False)
    assert result.returncode != 0 and "already holds records" in result.stderr


def test_restore_refuses_a_damaged_backup(databases: tuple[str, str], tmp_path: Path) -> None:
    first, second = env_for(databases[0], tmp_path / "m1"), env_for(databases[1],
                                                                    tmp_path / "m2")
    manage(first, "migrate", "--noinput", "-v", "0")
    manage(first, "backup", "--output", str(tmp_path / "backup"))
    data = tmp_path / "backup" / "db.json"
    data.write_text(data.read_text().replace("[", "[ ", 1))
    manage(second, "migrate", "--noinput", "-v", "0")
    result = subprocess.run([sys.executable, "manage.py", "restore", "--input",
                             str(tmp_path / "backup")], cwd=ROOT, env=second, text=True,
                            capture_output=True, timeout=120, check=False)
    assert result.returncode != 0 and "checksum" in result.stderr
