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

