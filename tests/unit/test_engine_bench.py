"""The engine benchmark script runs end to end (with a small count) and says what it measured."""

from __future__ import annotations

import pytest

from assessment import engine_bench


def test_prints_rate_ratio_and_why_instructions_are_missing(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Counting under callgrind takes a minute; here only the wording without valgrind is checked.
    monkeypatch.setattr(engine_bench.shutil, "which", lambda name: None)
    assert engine_bench.main(["engine_bench", "60"]) == 0
    out = capsys.readouterr().out
    assert "60 generated inputs x 5 runs" in out
    assert "assessments/s" in out and "x validation" in out
    assert "instructions: not counted (valgrind is not installed)" in out


def test_a_failed_callgrind_run_is_named_not_passed_off_as_a_count(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_bench.shutil, "which", lambda name: "/bin/false")
    monkeypatch.setattr(engine_bench.subprocess, "run", lambda *a, **k: engine_bench.subprocess
                        .CompletedProcess(a, 1, "", "valgrind: no such tool\n"))
    assert engine_bench.main(["engine_bench", "60"]) == 0
    out = capsys.readouterr().out
    assert "instructions: not counted (callgrind failed (exit 1): valgrind: no such tool)" in out
