"""Strict validation of a contract input into frozen findings.

Every problem is reported as a FieldError naming the field path (``lesion.site``,
``labs[2].unit``, ``patient.history.nicu_stay``) and all problems are collected in one pass, so a
form or API caller can show them all at once. Unknown keys are errors: a typo must never turn
silently into "unknown".
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from . import labs as lab_catalog
from . import vocab
from .frozen import quick_init

WEEKS_PER_MONTH = 30.4375 / 7  # mean Gregorian month in weeks
MAX_LAB_ROWS = 60
MAX_COUNT = 500
MAX_TEXT_IN_MESSAGE = 40


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidInput(ValueError):
    """Raised by ``assess`` and ``validate``; ``errors`` lists every field problem found."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(str(error) for error in self.errors))

    def as_list(self) -> list[dict[str, str]]:
        return [error.as_dict() for error in self.errors]


@quick_init
@dataclass(frozen=True)
class Patient:
    age_months: float
    sex: str
    history: Mapping[str, bool | None]
    gestational_age_weeks: float | None


@quick_init
@dataclass(frozen=True)
class Lesion:
    site: str
    heel_subsite: str | None
    laterality: str | None
    count: int
    distribution: str | None
    largest_diameter_mm: float | None
    perpendicular_diameter_mm: float | None
    color: str | None
    morphology: str | None
    surface: str | None
    consistency: str | None
    features: frozenset[str]
    onset_age_months: float | None
    duration_weeks: float | None
    trend: str | None


@quick_init
@dataclass(frozen=True)
class LabInput:
    analyte: str
    value: float
    unit: str
    reference_low: float | None
    reference_high: float | None


@quick_init
@dataclass(frozen=True)
class Imaging:
    xray: str | None
    ultrasound: str | None
    dermoscopy: frozenset[str]
    histology: str | None


@quick_init
@dataclass(frozen=True)
class Findings:
    patient: Patient
    lesion: Lesion
    labs: tuple[LabInput, ...]
    imaging: Imaging


TOP_KEYS = ("contract", "patient", "lesion", "labs", "imaging")
PATIENT_KEYS = ("age_months", "sex", "history")
LESION_KEYS = (
    "site", "heel_subsite", "laterality", "count", "distribution", "largest_diameter_mm",
    "perpendicular_diameter_mm", "color", "morphology", "surface", "consistency", "features",
    "onset_age_months", "duration_weeks", "trend",
)
LAB_KEYS = ("analyte", "value", "unit", "reference_low", "reference_high")
IMAGING_KEYS = ("xray", "ultrasound", "dermoscopy", "histology")


def _show(value: Any) -> str:
    """A short, safe rendering of a bad value for an error message."""
    text = repr(value)
    if len(text) > MAX_TEXT_IN_MESSAGE:
        text = text[: MAX_TEXT_IN_MESSAGE - 3] + "..."
    return text


def _type_name(value: Any) -> str:
    return {
        bool: "true/false", int: "a number", float: "a number", str: "text",
        list: "a list", dict: "an object", type(None): "null",
    }.get(type(value), type(value).__name__)


def _fmt(number: float) -> str:
    return f"{number:g}"


class _Collector:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    # -- structure -------------------------------------------------------------------------
    def object(self, value: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(path, f"must be an object, got {_type_name(value)}")
            return None
        for key in value:
            if key not in allowed:
                suggestion = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"; did you mean '{suggestion[0]}'?" if suggestion else ""
                # An empty key has no path of its own: name the object that holds it.
                field = _join(path, str(key)) if str(key) else (path or "input")
                self.add(field, f"unknown field {_show(key)}{hint}")
        return value

    # -- scalars ---------------------------------------------------------------------------
    def number(
        self,
        value: Any,
        path: str,
        low: float,
        high: float,
        *,
        required: bool = False,
        integer: bool = False,
        low_inclusive: bool = True,
        unit: str = "",
    ) -> float | None:
        if value is None:
            if required:
                self.add(path, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, f"must be a number, got {_type_name(value)} {_show(value)}")
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.add(path, "must be a finite number")
            return None
        if integer and (isinstance(value, float) and not value.is_integer()):
            self.add(path, f"must be a whole number, got {_show(value)}")
            return None
        suffix = f" {unit}" if unit else ""
        too_low = value < low if low_inclusive else value <= low
        if too_low or value > high:
            lower = f"from {_fmt(low)}" if low_inclusive else f"greater than {_fmt(low)}"
            self.add(path, f"must be {lower} to {_fmt(high)}{suffix}, got {_show(value)}")
            return None
        return int(value) if integer else float(value)

    def choice(
        self, value: Any, path: str, choices: tuple[str, ...], *, required: bool = False
    ) -> str | None:
        if value is None:
            if required:
                self.add(path, "is required")
            return None
        if not isinstance(value, str):
            self.add(path, f"must be one of the codes, got {_type_name(value)} {_show(value)}")
            return None
        if value not in choices:
            suggestion = difflib.get_close_matches(value, choices, n=1)
            hint = f" (did you mean '{suggestion[0]}'?)" if suggestion else ""
            self.add(path, f"unknown code {_show(value)}{hint}; allowed: {', '.join(choices)}")
            return None
        return value

    def tristate(self, value: Any, path: str) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        self.add(path, f"must be true, false or null, got {_type_name(value)} {_show(value)}")
        return None

    def code_list(self, value: Any, path: str, choices: tuple[str, ...]) -> frozenset[str]:
        if value is None:
            return frozenset()
        if not isinstance(value, list):
            self.add(path, f"must be a list of codes, got {_type_name(value)}")
            return frozenset()
        seen: set[str] = set()
        for index, item in enumerate(value):
            code = self.choice(item, f"{path}[{index}]", choices, required=True)
            if code is None:
                continue
            if code in seen:
                self.add(f"{path}[{index}]", f"'{code}' is listed twice")
            seen.add(code)
        return frozenset(seen)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate(data: Any) -> Findings:
    """Validate a contract input; return frozen findings or raise InvalidInput."""
    findings = _valid_fast(data)
    if findings is not None:
        return findings
    return _validate_collecting(data)


def _validate_collecting(data: Any) -> Findings:
    """The full validator: walks every field and collects every problem with its path."""
    c = _Collector()
    top = c.object(data, "", TOP_KEYS)
    if top is None:
        raise InvalidInput([FieldError("input", "must be a JSON object with patient and lesion")])
    if "contract" in top and top["contract"] != vocab.CONTRACT_VERSION:
        c.add("contract", f"this engine implements contract {vocab.CONTRACT_VERSION}")

    patient = _patient(c, top.get("patient"), "patient" in top)
    lesion = _lesion(c, top.get("lesion"), "lesion" in top)
    labs = _labs(c, top.get("labs"))
    imaging = _imaging(c, top.get("imaging"))

    if patient is not None and lesion is not None:
        _cross_checks(c, patient, lesion)
    if c.errors or patient is None or lesion is None or imaging is None:
        if not c.errors:  # defensive: every path that returns None has added an error
            c.add("input", "is incomplete")
        raise InvalidInput(c.errors)
    return Findings(patient=patient, lesion=lesion, labs=labs, imaging=imaging)


def _patient(c: _Collector, value: Any, present: bool) -> Patient | None:
    if not present:
        c.add("patient", "is required")
        return None
    obj = c.object(value, "patient", PATIENT_KEYS)
    if obj is None:
        return None
    age = c.number(obj.get("age_months"), "patient.age_months", 0, 216, required=True,
                   unit="months")
    sex = c.choice(obj.get("sex"), "patient.sex", vocab.SEXES, required=True)
    history: dict[str, bool | None] = {key: None for key in vocab.HISTORY_FLAGS}
    gestation = None
    raw_history = obj.get("history")
    if raw_history is not None:
        hist = c.object(raw_history, "patient.history", vocab.HISTORY_KEYS)
        if hist is not None:
            for key in vocab.HISTORY_FLAGS:
                history[key] = c.tristate(hist.get(key), f"patient.history.{key}")
            low, high = vocab.HISTORY_NUMBERS["gestational_age_weeks"]
            gestation = c.number(hist.get("gestational_age_weeks"),
                                 "patient.history.gestational_age_weeks", low, high, unit="weeks")
    if age is None or sex is None:
        return None
    return Patient(age_months=age, sex=sex, history=MappingProxyType(history),
                   gestational_age_weeks=gestation)


def _lesion(c: _Collector, value: Any, present: bool) -> Lesion | None:
    if not present:
        c.add("lesion", "is required")
        return None
    obj = c.object(value, "lesion", LESION_KEYS)
    if obj is None:
        return None
    p = "lesion."
    site = c.choice(obj.get("site"), p + "site", vocab.SITES, required=True)
    count = c.number(obj.get("count"), p + "count", 1, MAX_COUNT, required=True, integer=True)
    lesion = Lesion(
        site=site or "other",
        heel_subsite=c.choice(obj.get("heel_subsite"), p + "heel_subsite", vocab.HEEL_SUBSITES),
        laterality=c.choice(obj.get("laterality"), p + "laterality", vocab.LATERALITIES),
        count=int(count or 1),
        distribution=c.choice(obj.get("distribution"), p + "distribution", vocab.DISTRIBUTIONS),
        largest_diameter_mm=c.number(obj.get("largest_diameter_mm"), p + "largest_diameter_mm",
                                     0, 300, low_inclusive=False, unit="mm"),
        perpendicular_diameter_mm=c.number(obj.get("perpendicular_diameter_mm"),
                                           p + "perpendicular_diameter_mm", 0, 300,
                                           low_inclusive=False, unit="mm"),
        color=c.choice(obj.get("color"), p + "color", vocab.COLORS),
        morphology=c.choice(obj.get("morphology"), p + "morphology", vocab.MORPHOLOGIES),
        surface=c.choice(obj.get("surface"), p + "surface", vocab.SURFACES),
        consistency=c.choice(obj.get("consistency"), p + "consistency", vocab.CONSISTENCIES),
        features=c.code_list(obj.get("features"), p + "features", vocab.FEATURES),
        onset_age_months=c.number(obj.get("onset_age_months"), p + "onset_age_months", 0, 216,
                                  unit="months"),
        duration_weeks=c.number(obj.get("duration_weeks"), p + "duration_weeks", 0,
                                math.ceil(216 * WEEKS_PER_MONTH), unit="weeks"),
        trend=c.choice(obj.get("trend"), p + "trend", vocab.TRENDS),
    )
    if site is None or count is None:
        return None
    return lesion


def _labs(c: _Collector, value: Any) -> tuple[LabInput, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        c.add("labs", f"must be a list of lab results, got {_type_name(value)}")
        return ()
    if len(value) > MAX_LAB_ROWS:
        c.add("labs", f"at most {MAX_LAB_ROWS} results per presentation, got {len(value)}")
        return ()
    results: list[LabInput] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(value):
        path = f"labs[{index}]"
        row = c.object(raw, path, LAB_KEYS)
        if row is None:
            continue
        analyte = c.choice(row.get("analyte"), path + ".analyte", lab_catalog.ANALYTE_CODES,
                           required=True)
        raw_unit = row.get("unit")
        unit = None
        if analyte is not None:
            if analyte in seen:
                c.add(path + ".analyte",
                      f"'{analyte}' is already given in labs[{seen[analyte]}]; "
                      "enter one result per analyte for a presentation")
            else:
                seen[analyte] = index
            unit = _unit(c, raw_unit, path + ".unit", analyte)
        elif raw_unit is None:
            c.add(path + ".unit", "is required")
        value_in = _lab_value(c, row.get("value"), path + ".value", analyte, unit, required=True)
        low = _lab_value(c, row.get("reference_low"), path + ".reference_low", analyte, unit,
                         reference=True)
        high = _lab_value(c, row.get("reference_high"), path + ".reference_high", analyte, unit,
                          reference=True)
        if low is not None and high is not None and low >= high:
            c.add(path + ".reference_high",
                  f"must be greater than reference_low ({_fmt(low)}), got {_fmt(high)}")
        if analyte and unit and value_in is not None:
            results.append(LabInput(analyte, value_in, unit, low, high))
    return tuple(results)


def _unit(c: _Collector, value: Any, path: str, analyte: str) -> str | None:
    accepted = lab_catalog.ANALYTES[analyte].units
    if value is None:
        c.add(path, f"is required; {analyte} accepts {', '.join(accepted)}")
        return None
    if not isinstance(value, str):
        c.add(path, f"must be a unit as text, got {_type_name(value)} {_show(value)}")
        return None
    unit = lab_catalog.normalise_unit(value, analyte)
    if unit is None:
        c.add(path, f"unit {_show(value)} is not accepted for {analyte}; "
                    f"use one of: {', '.join(accepted)}")
    return unit


def _lab_value(
    c: _Collector,
    value: Any,
    path: str,
    analyte: str | None,
    unit: str | None,
    *,
    required: bool = False,
    reference: bool = False,
) -> float | None:
    if value is None:
        if required:
            c.add(path, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        c.add(path, f"must be a number, got {_type_name(value)} {_show(value)}")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        c.add(path, "must be a finite number")
        return None
    if value < 0:
        c.add(path, f"must not be negative, got {_fmt(value)}")
        return None
    if analyte is None or unit is None:
        return float(value)
    problem = lab_catalog.plausibility_problem(analyte, float(value), unit, reference=reference)
    if problem:
        c.add(path, problem)
        return None
    return float(value)


def _imaging(c: _Collector, value: Any) -> Imaging | None:
    if value is None:
        return Imaging(None, None, frozenset(), None)
    obj = c.object(value, "imaging", IMAGING_KEYS)
    if obj is None:
        return None
    return Imaging(
        xray=c.choice(obj.get("xray"), "imaging.xray", vocab.XRAY),
        ultrasound=c.choice(obj.get("ultrasound"), "imaging.ultrasound", vocab.ULTRASOUND),
        dermoscopy=c.code_list(obj.get("dermoscopy"), "imaging.dermoscopy", vocab.DERMOSCOPY),
        histology=c.choice(obj.get("histology"), "imaging.histology", vocab.HISTOLOGY),
    )


def _cross_checks(c: _Collector, patient: Patient, lesion: Lesion) -> None:
    """Contradictions between fields: each is reported on the field most likely mistyped."""
    if lesion.heel_subsite is not None and lesion.site != "heel":
        c.add("lesion.heel_subsite", f"is only used when lesion.site is 'heel' (site is "
                                     f"'{lesion.site}')")
    largest, perpendicular = lesion.largest_diameter_mm, lesion.perpendicular_diameter_mm
    if perpendicular is not None and largest is None:
        c.add("lesion.largest_diameter_mm", "is required when perpendicular_diameter_mm is given")
    if largest is not None and perpendicular is not None and perpendicular > largest:
        c.add("lesion.perpendicular_diameter_mm",
              f"must not exceed largest_diameter_mm ({_fmt(largest)} mm), got "
              f"{_fmt(perpendicular)} mm")
    if lesion.onset_age_months is not None and lesion.onset_age_months > patient.age_months:
        c.add("lesion.onset_age_months",
              f"cannot be later than the child's age ({_fmt(patient.age_months)} months), got "
              f"{_fmt(lesion.onset_age_months)}")
    age_weeks = patient.age_months * WEEKS_PER_MONTH
    if lesion.duration_weeks is not None and lesion.duration_weeks > age_weeks + 1:
        c.add("lesion.duration_weeks",
              f"cannot be longer than the child's life (about {age_weeks:.0f} weeks), got "
              f"{_fmt(lesion.duration_weeks)}")
    history = patient.history
    gestation = patient.gestational_age_weeks
    if gestation is not None:
        if history["preterm_birth"] is True and gestation >= 37:
            c.add("patient.history.gestational_age_weeks",
                  f"{_fmt(gestation)} weeks is term, but preterm_birth is true (preterm is "
                  "under 37 weeks)")
        if history["preterm_birth"] is False and gestation < 37:
            c.add("patient.history.gestational_age_weeks",
                  f"{_fmt(gestation)} weeks is preterm, but preterm_birth is false")
    if history["iv_calcium_received"] is False:
        for key in ("iv_calcium_at_lesion_site", "extravasation_documented"):
            if history[key] is True:
                c.add(f"patient.history.{key}",
                      "is true, but iv_calcium_received is false; correct one of them")


# --- Fast path ----------------------------------------------------------------------------------
# Most inputs are valid. ``_valid_fast`` checks a valid input in one straight pass, without the
# collector, paths or messages, and returns the same Findings the full validator would; at the
# first thing it is not sure of it returns None and ``validate`` runs the full validator, which
# finds and words every problem. It may refuse a valid input (the full path then accepts it),
# never accept an invalid one: tests/unit/test_validation_fast.py checks both on generated and
# mutated inputs.

_TOP = frozenset(TOP_KEYS)
_PATIENT = frozenset(PATIENT_KEYS)
_LESION = frozenset(LESION_KEYS)
_LAB = frozenset(LAB_KEYS)
_IMAGING = frozenset(IMAGING_KEYS)
_FLAGS = frozenset(vocab.HISTORY_FLAGS)
_SEXES = frozenset(vocab.SEXES)
_UNKNOWN_HISTORY: dict[str, bool | None] = dict.fromkeys(vocab.HISTORY_FLAGS)
_SITES = frozenset(vocab.SITES)
_SUBSITES = frozenset(vocab.HEEL_SUBSITES)
_LATERALITIES = frozenset(vocab.LATERALITIES)
_DISTRIBUTIONS = frozenset(vocab.DISTRIBUTIONS)
_COLORS = frozenset(vocab.COLORS)
_MORPHOLOGIES = frozenset(vocab.MORPHOLOGIES)
_SURFACES = frozenset(vocab.SURFACES)
_CONSISTENCIES = frozenset(vocab.CONSISTENCIES)
_TRENDS = frozenset(vocab.TRENDS)
_FEATURES = frozenset(vocab.FEATURES)
_XRAY = frozenset(vocab.XRAY)
_ULTRASOUND = frozenset(vocab.ULTRASOUND)
_DERMOSCOPY = frozenset(vocab.DERMOSCOPY)
_HISTOLOGY = frozenset(vocab.HISTOLOGY)
_GESTATION = vocab.HISTORY_NUMBERS["gestational_age_weeks"]
_MAX_DURATION = math.ceil(216 * WEEKS_PER_MONTH)
_UNITS: dict[tuple[str, str], str | None] = {}  # (text, analyte) -> accepted spelling
_isfinite = math.isfinite


class _Unsure(Exception):
    """Raised inside the fast path: leave this input to the full validator."""


def _num(value: Any, low: float, high: float, low_inclusive: bool = True) -> float | None:
    if value is None:
        return None
    kind = type(value)
    if kind is float:
        if not (_isfinite(value) and (low <= value if low_inclusive else low < value)
                and value <= high):
            raise _Unsure
        return value
    if kind is int and (low <= value if low_inclusive else low < value) and value <= high:
        return float(value)
    raise _Unsure


def _code(value: Any, choices: frozenset[str]) -> str | None:
    if value is None or (type(value) is str and value in choices):
        return value
    raise _Unsure


def _codes(value: Any, choices: frozenset[str]) -> frozenset[str]:
    if value is None:
        return frozenset()
    if type(value) is not list:
        raise _Unsure
    seen = set(value) if all(type(v) is str for v in value) else None
    if seen is None or len(seen) != len(value) or not seen <= choices:
        raise _Unsure
    # Built as the full validator builds it (a set, then frozen): same iteration order.
    return frozenset(seen)


def _lab_number(value: Any, factor: float, low: float, high: float) -> float:
    kind = type(value)
    if kind is not float and kind is not int:
        raise _Unsure
    if kind is float and not _isfinite(value):
        raise _Unsure
    if value < 0 or not low <= float(value) * factor <= high:
        raise _Unsure
    return float(value)


def _valid_fast(data: Any) -> Findings | None:
    try:
        return _fast(data)
    except (_Unsure, TypeError, AttributeError):
        return None


def _fast(data: Any) -> Findings | None:
    if type(data) is not dict or not data.keys() <= _TOP:
        return None
    if "contract" in data and data["contract"] != vocab.CONTRACT_VERSION:
        return None
    # Patient.
    # Declared dicts, so that the compiled engine reads them as dicts; a value of another type
    # raises TypeError on assignment, and _valid_fast leaves it to the full validator.
    p: dict = data.get("patient")
    if type(p) is not dict or not p.keys() <= _PATIENT:
        return None
    age = _num(p.get("age_months"), 0, 216)
    sex = p.get("sex")
    if age is None or type(sex) is not str or sex not in _SEXES:
        return None
    # A copy of the all-unknown history: one allocation, where fromkeys inserts key by key.
    history: dict[str, bool | None] = _UNKNOWN_HISTORY.copy()
    gestation = None
    raw: dict = p.get("history")
    if raw is not None:
        if type(raw) is not dict:
            return None
        for key, value in raw.items():
            if key in _FLAGS:
                if value is not None and value is not True and value is not False:
                    return None
                history[key] = value
            elif key == "gestational_age_weeks":
                gestation = _num(value, *_GESTATION)
            else:
                return None
    # Lesion.
    le: dict = data.get("lesion")
    if type(le) is not dict or not le.keys() <= _LESION:
        return None
    get = le.get
    site = get("site")
    count = get("count")
    if type(site) is not str or site not in _SITES or type(count) is not int:
        return None
    if not 1 <= count <= MAX_COUNT:
        return None
    subsite = _code(get("heel_subsite"), _SUBSITES)
    if subsite is not None and site != "heel":
        return None
    # Seven calls written out: a generator unpacked into seven names costs more than they do.
    laterality = _code(get("laterality"), _LATERALITIES)
    distribution = _code(get("distribution"), _DISTRIBUTIONS)
    color = _code(get("color"), _COLORS)
    morphology = _code(get("morphology"), _MORPHOLOGIES)
    surface = _code(get("surface"), _SURFACES)
    consistency = _code(get("consistency"), _CONSISTENCIES)
    trend = _code(get("trend"), _TRENDS)
    largest = _num(get("largest_diameter_mm"), 0, 300, False)
    perpendicular = _num(get("perpendicular_diameter_mm"), 0, 300, False)
    if perpendicular is not None and (largest is None or perpendicular > largest):
        return None
    onset = _num(get("onset_age_months"), 0, 216)
    if onset is not None and onset > age:
        return None
    duration = _num(get("duration_weeks"), 0, _MAX_DURATION)
    if duration is not None and duration > age * WEEKS_PER_MONTH + 1:
        return None
    lesion = Lesion(site, subsite, laterality, count, distribution, largest, perpendicular,
                    color, morphology, surface, consistency,
                    _codes(get("features"), _FEATURES), onset, duration, trend)
    # Labs.
    labs: tuple[LabInput, ...] = ()
    rows: list = data.get("labs")
    if rows is not None:
        if type(rows) is not list or len(rows) > MAX_LAB_ROWS:
            return None
        found = []
        seen: set[str] = set()
        row: dict
        for row in rows:
            if type(row) is not dict or not row.keys() <= _LAB:
                return None
            analyte, text = row.get("analyte"), row.get("unit")
            if (type(analyte) is not str or analyte in seen or type(text) is not str
                    or analyte not in lab_catalog.ANALYTES):
                return None
            seen.add(analyte)
            key = (text, analyte)
            unit = _UNITS.get(key, "")
            if unit == "":
                unit = _UNITS[key] = lab_catalog.normalise_unit(text, analyte)
            if unit is None:
                return None
            spec = lab_catalog.ANALYTES[analyte]
            factor = spec.units[unit]
            low, high = spec.plausible
            value = _lab_number(row.get("value"), factor, low, high)
            ref_low, ref_high = row.get("reference_low"), row.get("reference_high")
            if ref_low is not None:
                ref_low = _lab_number(ref_low, factor, 0.0, high)
            if ref_high is not None:
                ref_high = _lab_number(ref_high, factor, 0.0, high)
                if ref_low is not None and ref_low >= ref_high:
                    return None
            found.append(LabInput(analyte, value, unit, ref_low, ref_high))
        labs = tuple(found)
    # Imaging.
    im: dict = data.get("imaging")
    if im is None:
        imaging = Imaging(None, None, frozenset(), None)
    else:
        if type(im) is not dict or not im.keys() <= _IMAGING:
            return None
        imaging = Imaging(_code(im.get("xray"), _XRAY), _code(im.get("ultrasound"), _ULTRASOUND),
                          _codes(im.get("dermoscopy"), _DERMOSCOPY),
                          _code(im.get("histology"), _HISTOLOGY))
    # Cross-checks the full validator makes.
    if gestation is not None:
        preterm = history["preterm_birth"]
        if (preterm is True and gestation >= 37) or (preterm is False and gestation < 37):
            return None
    if history["iv_calcium_received"] is False and (
            history["iv_calcium_at_lesion_site"] is True
            or history["extravasation_documented"] is True):
        return None
    return Findings(Patient(age, sex, MappingProxyType(history), gestation), lesion, labs,
                    imaging)
