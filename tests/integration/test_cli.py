"""`python manage.py assess FILE|-`, run as a real process: exit codes, stdout and stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import CASES_DIR

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "calcinosis_site.settings_test"}
    return subprocess.run([sys.executable, "manage.py", "assess", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, env=env, check=False,
                          timeout=60)


@pytest.fixture(scope="module")
def case_b_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = json.loads((CASES_DIR / "seed_case_b_extravasation_renal_failure.json").read_text())
    path = tmp_path_factory.mktemp("cli") / "case_b.json"
    path.write_text(json.dumps(data["input"]))
    return path


def test_it_prints_the_assessment_and_exits_0(case_b_input: Path) -> None:
    result = run([str(case_b_input)])
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["calcium_phosphate_product"]["value_mg2_dl2"] == 77.2
    assert result.stderr == ""


def test_it_reads_standard_input(case_b_input: Path) -> None:
    result = run(["-"], stdin=case_b_input.read_text())
    assert result.returncode == 0
    assert json.loads(result.stdout)["contract"] == 1


def test_it_exits_2_with_one_error_per_line_on_invalid_input() -> None:
    bad = {"patient": {"age_months": 300, "sex": "female"},
           "lesion": {"site": "heel", "count": 1, "color": "green"}}
    result = run(["-"], stdin=json.dumps(bad))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("patient.age_months: must be from 0 to 216")
    assert lines[1].startswith("lesion.color: unknown code 'green'")


def test_it_exits_2_on_malformed_json() -> None:
    result = run(["-"], stdin='{"patient": ')
    assert result.returncode == 2
    assert "file: is not valid JSON" in result.stderr


def test_it_exits_2_on_a_missing_file() -> None:
    result = run(["/no/such/file.json"])
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_it_exits_2_on_deeply_nested_json() -> None:
    result = run(["-"], stdin="[" * 100_000)
    assert result.returncode == 2
    assert "nested too deeply" in result.stderr or "not valid JSON" in result.stderr
