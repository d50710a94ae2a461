"""The optional read replica (DATABASE_REPLICA_URL, assessment/replica.py): only the exports and
the outcomes page read from it; every other page and every write uses the primary.

The end-to-end test makes the replica a copy of the primary taken before one more patient was
recorded, i.e. a replica lagging by one write: what each path shows then says which database
it read."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS

from assessment.models import Patient
from assessment.replica import (
    REPLICA,
    ReplicaRouter,
    on_replica,
    reading_from_replica,
    replica_reads,
)

ROOT = Path(__file__).resolve().parents[2]


def test_reads_go_to_the_replica_only_inside_replica_reads() -> None:
    router = ReplicaRouter()
    assert router.db_for_read(Patient) == DEFAULT_DB_ALIAS
    with replica_reads():
        assert router.db_for_read(Patient) == REPLICA
        assert router.db_for_write(Patient) == DEFAULT_DB_ALIAS
        with replica_reads():
            pass
        assert router.db_for_read(Patient) == REPLICA  # a nested block keeps the outer one's
    assert router.db_for_read(Patient) == DEFAULT_DB_ALIAS


def test_a_streamed_iterator_reads_the_replica_only_while_it_steps() -> None:
    def steps() -> Iterator[bool]:
        yield reading_from_replica()
        yield reading_from_replica()

    seen = []
    for inside in on_replica(steps()):
        seen.append((inside, reading_from_replica()))
    assert seen == [(True, False), (True, False)]
    assert not reading_from_replica()


def test_migrations_run_on_the_primary_only() -> None:
    router = ReplicaRouter()
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "assessment")
    assert not router.allow_migrate(REPLICA, "assessment")


SETUP = """
from django.contrib.auth import get_user_model
from assessment.models import Membership, Site
user, _ = get_user_model().objects.get_or_create(username="exporter")
for site in Site.objects.all():
    Membership.objects.get_or_create(user=user, site=site, defaults={"role": "data_manager"})
"""
# The write the replica has not received yet.
LATE_WRITE = """
from datetime import date
from django.contrib.auth import get_user_model
from assessment.demo import record_contract_case
from assessment.models import Patient
from tests.builders import load_case
existing = Patient.objects.order_by("pk").first()
record_contract_case(data=load_case("seed_case_a_pearl_like_heel_nodule.json")["input"],
                     record_number="LAG-1", born=date(2025, 8, 10), visit=date(2026, 8, 10),
                     label="right lateral heel nodule",
                     user=get_user_model().objects.get(username="demo"), site=existing.site)
print(existing.site.code)
"""
READ = """
import json
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client
from assessment.models import ExportLog, Patient
client = Client()
client.force_login(get_user_model().objects.get(username="exporter"))
def body(url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return b"".join(response.streaming_content).decode()
assessments_csv = body("/export/assessments.csv")
redcap_csv = body("/export/redcap/records.csv")
patients_page = client.get("/patients/?q=LAG-1").content.decode()
outcomes = client.get("/registry/outcomes/")
print(json.dumps({
    "databases": sorted(connections.databases),
    "assessments_csv": "LAG-1" in assessments_csv, "demo_in_csv": "DEMO-A" in assessments_csv,
    "redcap_csv": "LAG-1" in redcap_csv,
    "patients_page": "LAG-1" in patients_page,
    "outcomes": outcomes.status_code,
    "logs_on_primary": ExportLog.objects.using("default").filter(finished_at__isnull=False).count(),
}))
"""


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
                            capture_output=True, timeout=300, check=False)
    assert result.returncode == 0, f"{args}: {result.stderr[-2000:]}"
    return result.stdout


@pytest.fixture
def primary_and_lagging_replica(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A primary with the demo registry and a data manager, and a replica copied from it; then
    one patient more on the primary only."""
    url = os.environ.get("DATABASE_URL", "")
    postgres = url.startswith(("postgres://", "postgresql://"))
    if postgres:
        import psycopg

        server = url.rsplit("/", 1)[0]
        names = [f"calc_replica_{uuid.uuid4().hex[:10]}" for _ in range(2)]
        primary, replica = (f"{server}/{name}" for name in names)
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{names[0]}"')
    else:
        primary = f"sqlite:///{tmp_path / 'primary.sqlite3'}"
        replica = f"sqlite:///{tmp_path / 'replica.sqlite3'}"
    env = env_for(primary)
    try:
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "ensure_demo_user")
        manage(env, "load_demo", "--as", "demo")
        manage(env, "shell", "-c", SETUP)
        if postgres:
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{names[1]}" TEMPLATE "{names[0]}"')
        else:
            shutil.copy(tmp_path / "primary.sqlite3", tmp_path / "replica.sqlite3")
        yield primary, replica
    finally:
        if postgres:
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                for name in names:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def env_for(primary: str, replica: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DJANGO_") and k != "DATABASE_REPLICA_URL"}
    env.update({"DATABASE_URL": primary, "DJANGO_DEBUG": "1",
                "DJANGO_ALLOWED_HOSTS": "testserver",
                "DJANGO_SETTINGS_MODULE": "calcinosis_site.settings"})
    if replica:
        env["DATABASE_REPLICA_URL"] = replica
    return env


def test_exports_and_outcomes_read_the_replica_and_pages_the_primary(
        primary_and_lagging_replica: tuple[str, str], tmp_path: Path) -> None:
    primary, replica = primary_and_lagging_replica
    site = manage(env_for(primary), "shell", "-v", "0", "-c", LATE_WRITE).strip().splitlines()[-1]

    with_replica = json.loads(manage(env_for(primary, replica), "shell", "-v", "0", "-c", READ))
    assert with_replica == {
        "databases": ["default", "replica"],
        # Read on the lagging copy: the latest patient is not there yet.
        "assessments_csv": False, "demo_in_csv": True, "redcap_csv": False,
        # Any other page reads the primary.
        "patients_page": True,
        "outcomes": 200,
        # The export log is written to the primary, even from inside the replica's reads.
        "logs_on_primary": 2,
    }
    manage(env_for(primary, replica), "export_redcap", "--site", site, "--out",
           str(tmp_path / "redcap"), "--as", "exporter")
    assert "LAG-1" not in (tmp_path / "redcap" / "redcap-records.csv").read_text()
    manage(env_for(primary, replica), "export_fhir", "--site", site, "--out",
           str(tmp_path / "fhir"), "--as", "exporter", "--workers", "2", "--batch", "1")
    assert "LAG-1" not in (tmp_path / "fhir" / "Patient.ndjson").read_text()

    # The control: without a replica the same exports include the latest patient.
    without = json.loads(manage(env_for(primary), "shell", "-v", "0", "-c", READ))
    assert without["databases"] == ["default"]
    assert without["assessments_csv"] and without["redcap_csv"] and without["patients_page"]
    manage(env_for(primary), "export_fhir", "--site", site, "--out", str(tmp_path / "fhir2"),
           "--as", "exporter")
    assert "LAG-1" in (tmp_path / "fhir2" / "Patient.ndjson").read_text()
