"""The engine's frozen dataclasses built by ``quick_init`` are the dataclasses they were."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from assessment.engine.facts import CriticalValue, LabReading, interpret_lab
from assessment.engine.frozen import quick_init
from assessment.engine.samples import random_inputs
from assessment.engine.validation import Findings, Imaging, LabInput, Lesion, Patient, validate

QUICK = (Patient, Lesion, LabInput, Imaging, Findings, LabReading, CriticalValue)


def _plain(cls: type) -> type:
    """The same fields as a dataclass with the generated (object.__setattr__) constructor."""
    return dataclasses.make_dataclass(
        f"Plain{cls.__name__}", [(f.name, f.type, f) for f in dataclasses.fields(cls)],
        frozen=True)


@pytest.mark.parametrize("cls", QUICK, ids=lambda c: c.__name__)
def test_signature_and_immutability_are_the_dataclass_ones(cls: type) -> None:
    assert (list(inspect.signature(cls).parameters)
            == list(inspect.signature(_plain(cls)).parameters))
    instance = validate(random_inputs(1, seed=3)[0]).lesion if cls is Lesion else None
    if instance is not None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            instance.site = "sole"  # type: ignore[misc]


def test_instances_hold_what_the_generated_constructor_would_store() -> None:
    for data in random_inputs(300, seed=11):
        findings = validate(data)
        for value in (findings, findings.patient, findings.lesion, findings.imaging,
                      *findings.labs):
            plain = _plain(type(value))(**vars(value))
            assert vars(plain) == vars(value)
            assert value == type(value)(**vars(value))
        for lab in findings.labs:
            reading = interpret_lab(lab.analyte, lab.value, lab.unit, lab.reference_low,
                                    lab.reference_high, findings.patient.age_months,
                                    findings.patient.sex)
            assert vars(_plain(LabReading)(**vars(reading))) == vars(reading)


def test_defaults_are_kept_and_unsupported_classes_are_refused() -> None:
    @quick_init
    @dataclasses.dataclass(frozen=True)
    class WithDefault:
        a: int
        b: str = "x"

    assert WithDefault(1) == WithDefault(1, "x")
    assert vars(WithDefault(a=2, b="y")) == {"a": 2, "b": "y"}

    @dataclasses.dataclass
    class NotFrozen:
        a: int

    with pytest.raises(TypeError):
        quick_init(NotFrozen)

    @dataclasses.dataclass(frozen=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError):
        quick_init(Factory)
