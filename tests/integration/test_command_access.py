"""Access rules for every management command that reads patient records, generated from the
commands themselves: a command class that declares ``needs`` (the access action it checks) and
``example_args(out_dir)`` (its arguments other than ``--as`` and ``--site``) is covered here
without a new test. Such a command runs as a named user, only over clinics where that user's role
allows the action, and logs what it did: in ExportLog, or in the model it names as
``log_model`` (with the same ``user``, ``site_codes``, ``patient_count`` and ``finished_at``).

The personas: victor (viewer) and alice (clinician) may not, dana (data manager) may, for every
guarded command so far (exports need REPORT, ``reassess`` needs REASSESS)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError

from assessment.demo import record_contract_case
from assessment.models import ExportLog
from tests.builders import load_case


def guarded_commands() -> list[str]:
    found = []
    for name, app in sorted(get_commands().items()):
        if app == "assessment" and getattr(load_command_class(app, name), "needs", None):
            found.append(name)
    return found


COMMANDS = guarded_commands()


def test_the_export_and_reassess_commands_are_guarded() -> None:
    assert {"export_fhir", "export_redcap", "reassess"} <= set(COMMANDS)


@pytest.fixture
def world(alice, north) -> None:
    record_contract_case(
        data=load_case("seed_case_c_heel_stick_nodules.json")["input"], record_number="MX-1",
        born=date(2026, 2, 1), visit=date(2026, 10, 1), label="heel", user=alice, site=north)


def log_model(name: str) -> Any:
    return getattr(load_command_class("assessment", name), "log_model", ExportLog)


def run(name: str, *args: str) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def example(name: str, tmp_path: Path) -> list[str]:
    command: Any = load_command_class("assessment", name)
    return command.example_args(tmp_path / name)


@pytest.mark.parametrize("name", COMMANDS)
def test_a_command_needs_a_named_user(name: str, world, tmp_path: Path) -> None:
    with pytest.raises((CommandError, SystemExit)):
        run(name, "--site", "north", *example(name, tmp_path))


@pytest.mark.parametrize("name", COMMANDS)
def test_roles_without_the_action_are_refused(name: str, world, victor, alice, tmp_path) -> None:
    for user in (victor, alice):
        with pytest.raises(CommandError, match="--site"):
            run(name, "--as", user.username, "--site", "north", *example(name, tmp_path))
    assert not log_model(name).objects.exists()


@pytest.mark.parametrize("name", COMMANDS)
def test_another_clinics_staff_cannot_name_this_clinic(name: str, world, charlie,
                                                       tmp_path) -> None:
    with pytest.raises(CommandError, match="no clinic 'north'"):
        run(name, "--as", charlie.username, "--site", "north", *example(name, tmp_path))


@pytest.mark.parametrize("name", COMMANDS)
def test_an_unknown_user_is_refused(name: str, world, tmp_path) -> None:
    with pytest.raises(CommandError, match="--as"):
        run(name, "--as", "nobody", "--site", "north", *example(name, tmp_path))


@pytest.mark.parametrize("name", COMMANDS)
def test_a_data_manager_exports_and_it_is_logged(name: str, world, dana, tmp_path) -> None:
    run(name, "--as", dana.username, "--site", "north", *example(name, tmp_path))
    log = log_model(name).objects.get()
    assert (log.user, getattr(log, "channel", "command"), log.site_codes) == (
        dana, "command", ["north"])
    assert log.patient_count == 1 and log.finished_at is not None
