"""Facts derived once from validated findings; rules read these, never the raw input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import labs as catalog
from .frozen import quick_init
from .validation import WEEKS_PER_MONTH, Findings
from .vocab import words


class cached_property:
    """functools.cached_property without its per-instance lock (Python 3.11 takes one on every
    first read): Facts lives in one thread, and the engine reads a dozen of these per
    assessment."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, cls: Any) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value

LAB_NAMES = {
    "calcium_total": "total calcium", "calcium_ionized": "ionised calcium",
    "phosphate": "phosphate", "creatinine": "creatinine", "urea": "urea", "bun": "BUN",
}
VITAMIN_D_TOXIC = 150.0  # ng/mL [M]
CAXP_HIGH_RISK = 70.0  # mg²/dL², classic threshold [V R2]
KDOQI_TARGET_CHILD = 65.0  # ≤12 years [V R31]
KDOQI_TARGET_ADOLESCENT = 55.0  # >12 years [V R31]
KDOQI_AGE_LIMIT_MONTHS = 144
HEEL_STICK_WINDOW = (4.0, 12.0)  # months, first noticed [V R3]

INFLAMMATION_FEATURES = frozenset({"erythema_around", "warmth", "swelling"})
PAIN_FEATURES = frozenset({"pain", "tenderness", "pain_limits_walking"})
ISCHAEMIA_FEATURES = frozenset({"livedo", "retiform_purpura"})
FOOT_SITES = frozenset({"heel", "sole", "toe", "foot_dorsum"})
HEAD_NECK_SITES = frozenset({"head_neck", "face", "eyelid", "ear", "scalp"})
WHITE_COLORS = frozenset({"white", "yellow", "white_yellow"})
METASTATIC_CAUSES = (
    "hyperparathyroidism", "vitamin_d_excess", "milk_alkali", "sarcoidosis", "malignancy",
)
LOCAL_CAUSES = (
    "neonatal_heel_sticks", "iv_calcium_at_lesion_site", "extravasation_documented",
    "electrode_paste_at_site", "calcium_dressing_at_site", "local_trauma_at_site",
)
# Any of these answered yes is a cause: the lesion is not idiopathic (Facts.no_cause).
NO_CAUSE_KEYS = (*LOCAL_CAUSES, *METASTATIC_CAUSES, "renal_disease", "connective_tissue_disease",
                 "ctd_signs", "iv_calcium_received", "perinatal_asphyxia_or_cooling")
SYSTEMIC_CAUSES = (
    "renal_disease", *METASTATIC_CAUSES, "connective_tissue_disease", "ctd_signs",
    "perinatal_asphyxia_or_cooling",
)


@quick_init
@dataclass(frozen=True)
class LabReading:
    analyte: str
    value: float  # as entered
    unit: str  # as entered
    canonical: float  # in the analyte's canonical unit
    low: float | None  # interval used, in the entered unit
    high: float | None
    source: str
    flag: str
    lab_interval: bool
    builtin: catalog.Interval | None
    builtin_flag: str | None  # flag against the built-in age interval when the lab's was used

    @property
    def age_flag(self) -> str:
        """Flag against the age-specific interval, whichever interval the report used."""
        if self.builtin_flag is not None:
            return self.builtin_flag
        return self.flag

    def times_upper_limit(self) -> float | None:
        high = self.builtin.high if self.builtin else None
        if high:
            return round(self.canonical / high, 1)
        return None


def interpret_lab(analyte: str, value: float, unit: str, ref_low: float | None,
                  ref_high: float | None, age_months: float, sex: str) -> LabReading:
    canonical = catalog.to_canonical(analyte, value, unit)
    builtin = catalog.reference_interval(analyte, age_months, sex)
    builtin_flag = None
    if builtin is not None:
        builtin_flag = catalog.flag(canonical, builtin.low, builtin.high)
    if ref_low is not None or ref_high is not None:
        return LabReading(analyte, value, unit, canonical, ref_low, ref_high,
                          "reporting laboratory's own interval", catalog.flag(value, ref_low,
                                                                              ref_high),
                          True, builtin, builtin_flag)
    if builtin is None:
        return LabReading(analyte, value, unit, canonical, None, None,
                          "no built-in interval for this analyte at this age", "no_reference",
                          False, None, None)
    shown = _SHOWN_INTERVAL.get((id(builtin), unit))
    if shown is None:
        shown = _SHOWN_INTERVAL[id(builtin), unit] = _shown_interval(analyte, builtin, unit)
    low, high, source, _ = shown
    return LabReading(analyte, value, unit, canonical, low, high, source,
                      builtin_flag or "no_reference", False, builtin, None)


# A built-in interval as the report shows it, in the entered unit and rounded, by (interval,
# unit): the intervals are constants, and rounding (round() to decimals) is costly. Keyed by the
# interval's id, as hashing a dataclass hashes every field; each entry holds its interval, so
# the id cannot be reused while the entry exists.
_SHOWN_INTERVAL: dict[tuple[int, str],
                      tuple[float | None, float | None, str, catalog.Interval]] = {}


def _shown_interval(analyte: str, builtin: catalog.Interval,
                    unit: str) -> tuple[float | None, float | None, str, catalog.Interval]:
    low = None if builtin.low is None else catalog.from_canonical(analyte, builtin.low, unit)
    high = None if builtin.high is None else catalog.from_canonical(analyte, builtin.high, unit)
    return (None if low is None else catalog.rounded(analyte, low),
            None if high is None else catalog.rounded(analyte, high),
            f"{builtin.source}, {builtin.age_label}", builtin)


@quick_init
@dataclass(frozen=True)
class CriticalValue:
    """A lab value beyond a critical limit (KNOWLEDGE.md section 9.7)."""

    reading: LabReading
    limit: catalog.CriticalLimit
    si_value: float  # the value in the analyte's SI unit
    applied_limit: float  # SI; for creatinine the lower of the fixed and the age-based limit
    age_limit: bool  # True when the age-based creatinine limit is the one applied


def critical_value(reading: LabReading, limit: catalog.CriticalLimit,
                   si: float | None = None) -> CriticalValue | None:
    """The critical finding for this reading and limit, or None when it is not beyond it.
    ``si``: the reading in SI units when the caller has it (the analyte's two limits share it)."""
    if si is None:
        si = catalog.to_si(reading.analyte, reading.value, reading.unit)
    applied, age_limit = limit.limit, False
    if reading.analyte == "creatinine" and reading.builtin and reading.builtin.high:
        # 3x the age-specific upper limit (canonical mg/dL), when lower than the fixed limit.
        by_age = catalog.to_si("creatinine", catalog.CREATININE_CRITICAL_TIMES_UPPER_LIMIT
                               * reading.builtin.high, "mg/dL")
        if by_age < applied:
            applied, age_limit = by_age, True
    beyond = si < applied if limit.direction == "low" else si > applied
    return CriticalValue(reading, limit, si, applied, age_limit) if beyond else None


class Facts:
    """Read-only view of one presentation with the derived values rules need."""

    def __init__(self, findings: Findings) -> None:
        self.findings = findings
        self.leader: str | None = None  # set by the engine after ranking, for late rules
        p, lesion = findings.patient, findings.lesion
        self.age = p.age_months
        self.sex = p.sex
        self.h = p.history
        self.gestation = p.gestational_age_weeks
        self.lesion = lesion
        self.site = lesion.site
        self.features = lesion.features
        self.imaging = findings.imaging
        # Plain attributes, not properties: the rules read them hundreds of times per
        # assessment, and an attribute read is several times cheaper than a property call.
        site, colour, consistency = lesion.site, lesion.color, lesion.consistency
        self.on_heel = site == "heel"
        self.on_foot = site in FOOT_SITES
        self.head_neck = site in HEAD_NECK_SITES
        self.whiteish = colour in WHITE_COLORS
        self.hard = consistency in ("firm", "hard")
        self.size = lesion.largest_diameter_mm
        self.multiple = lesion.count > 1
        self.painful = not self.features.isdisjoint(PAIN_FEATURES)
        self.ulcerated = lesion.surface in ("ulcerated", "necrotic")
        self.calcium_clinical = self.whiteish and self.hard
        self.papular = (lesion.morphology in (None, "papule", "nodule")
                        and lesion.surface not in ("ulcerated", "necrotic", "crusted"))
        self.wart_signs = (not self.features.isdisjoint(("interrupted_dermatoglyphics",
                                                         "black_dots"))
                           or not findings.imaging.dermoscopy.isdisjoint(
                               ("red_black_dots", "interrupted_dermatoglyphics")))
        self.labs: dict[str, LabReading] = {
            lab.analyte: interpret_lab(lab.analyte, lab.value, lab.unit, lab.reference_low,
                                       lab.reference_high, p.age_months, p.sex)
            for lab in findings.labs
        }
        # Each reading's flag and its flag for age, for lab_is (the generated rule passes
        # read this directly: rulecode.py).
        self.lab_flags: dict[str, tuple[str, str | None]] = {
            analyte: (reading.flag, reading.builtin_flag)
            for analyte, reading in self.labs.items()
        }

    # -- history -------------------------------------------------------------------------
    def yes(self, key: str) -> bool:
        return self.h[key] is True

    def no(self, key: str) -> bool:
        return self.h[key] is False

    def unknown(self, key: str) -> bool:
        return self.h[key] is None

    def any_yes(self, keys: tuple[str, ...]) -> list[str]:
        return [key for key in keys if self.h[key] is True]

    # -- lesion --------------------------------------------------------------------------
    def has(self, *features: str) -> bool:
        return not self.features.isdisjoint(features)

    @cached_property
    def inflammation(self) -> list[str]:
        """Local inflammatory signs, in words, for reasons and red flags."""
        signs = [words(f) for f in sorted(self.features & INFLAMMATION_FEATURES)]
        if self.lesion.consistency == "fluctuant":
            signs.append("fluctuance")
        if self.lesion.color == "erythematous" and "erythema_around" not in self.features:
            signs.append("erythema")
        return signs

    @cached_property
    def ischaemic_signs(self) -> list[str]:
        signs = [words(f) for f in sorted(self.features & ISCHAEMIA_FEATURES)]
        if self.lesion.surface == "necrotic":
            signs.append("necrosis")
        return signs

    @cached_property
    def onset_age(self) -> float:
        """Age when first noticed: recorded onset, else age minus duration, else current age."""
        if self.lesion.onset_age_months is not None:
            return self.lesion.onset_age_months
        if self.lesion.duration_weeks is not None:
            return max(0.0, self.age - self.lesion.duration_weeks / WEEKS_PER_MONTH)
        return self.age

    @property
    def onset_known(self) -> bool:
        return self.lesion.onset_age_months is not None or self.lesion.duration_weeks is not None

    # -- labs ----------------------------------------------------------------------------
    def lab(self, analyte: str) -> LabReading | None:
        return self.labs.get(analyte)

    def lab_flag(self, analyte: str) -> str | None:
        reading = self.labs.get(analyte)
        return reading.flag if reading else None

    def lab_is(self, analyte: str, *flags: str) -> bool:
        """True when the analyte is flagged so by the interval used OR the age interval.

        A laboratory's adult interval must not hide a value abnormal for the child's age.
        """
        # (flag, builtin flag): the age flag is the builtin flag when there is one, else the
        # flag, and None is never among ``flags``.
        both = self.lab_flags.get(analyte)
        if both is None:
            return False
        return both[0] in flags or both[1] in flags

    def measured(self, *analytes: str) -> bool:
        # A loop, not all() over a generator: the engine asks this some ten times per
        # assessment, and the generator costs more than the test.
        labs = self.labs
        for analyte in analytes:  # noqa: SIM110 (see above)
            if analyte not in labs:
                return False
        return True

    @cached_property
    def critical(self) -> dict[tuple[str, str], CriticalValue]:
        """Critical values keyed by (analyte, direction), in the order of CRITICAL_LIMITS."""
        found: dict[tuple[str, str], CriticalValue] = {}
        if not self.labs:
            return found
        si_of: dict[str, float] = {}  # each reading in SI units, once for its two limits
        for limit in catalog.CRITICAL_LIMITS:
            analyte = limit.analyte
            reading = self.labs.get(analyte)
            if reading is not None:
                si = si_of.get(analyte)
                if si is None:
                    si = si_of[analyte] = catalog.to_si(analyte, reading.value, reading.unit)
                hit = critical_value(reading, limit, si)
                if hit is not None:
                    found[(analyte, limit.direction)] = hit
        return found

    @cached_property
    def caxp(self) -> float | None:
        ca, p = self.labs.get("calcium_total"), self.labs.get("phosphate")
        if ca is None or p is None:
            return None
        return ca.canonical * p.canonical

    @property
    def caxp_target(self) -> float:
        if self.age <= KDOQI_AGE_LIMIT_MONTHS:
            return KDOQI_TARGET_CHILD
        return KDOQI_TARGET_ADOLESCENT

    @property
    def vitamin_d_toxic(self) -> bool:
        """25(OH)D above 150 ng/mL (375 nmol/L), the toxicity threshold [M]; the interval's
        upper limit marks sufficiency, not toxicity."""
        reading = self.labs.get("vitamin_d_25oh")
        return reading is not None and reading.canonical > VITAMIN_D_TOXIC

    @cached_property
    def caxp_relevant(self) -> bool:
        """Ca×P is read beside renal impairment or an abnormal calcium or phosphate only: the
        normal values of infancy give a product above the CKD targets [V R31][V R57]."""
        return self.caxp is not None and bool(
            self.renal_impairment or self.lab_is("calcium_total", "high", "low")
            or self.lab_is("phosphate", "high", "low")
            or self.lab_is("calcium_ionized", "high"))

    @property
    def caxp_high(self) -> bool:
        return self.caxp_relevant and self.caxp >= CAXP_HIGH_RISK  # type: ignore[operator]

    @property
    def caxp_above_target(self) -> bool:
        return self.caxp_relevant and self.caxp > self.caxp_target  # type: ignore[operator]

    @cached_property
    def renal_impairment(self) -> list[str]:
        reasons = []
        if self.yes("renal_disease"):
            reasons.append("renal disease recorded")
        labs = self.labs
        for analyte in ("creatinine", "urea", "bun"):
            if analyte in labs and self.lab_is(analyte, "high"):
                reading = self.labs[analyte]
                reasons.append(f"{LAB_NAMES[analyte]} {reading.value:g} {reading.unit} "
                               "(high for age)")
        return reasons

    @cached_property
    def mineral_abnormal(self) -> list[str]:
        """Findings that make metastatic calcinosis a candidate (H5); low calcium alone is not."""
        reasons: list[str] = []
        labs = self.labs
        if not labs:
            return reasons  # no lab, no abnormal mineral and no Ca×P
        for analyte in ("calcium_total", "calcium_ionized", "phosphate"):
            if analyte in labs and self.lab_is(analyte, "high"):
                reading = self.labs[analyte]
                reasons.append(f"{LAB_NAMES[analyte]} {reading.value:g} {reading.unit} "
                               "(high for age)")
        if self.caxp_high:
            reasons.append(f"Ca×P {self.caxp:.1f} mg²/dL² (≥70)")
        elif self.caxp_above_target:
            reasons.append(f"Ca×P {self.caxp:.1f} mg²/dL² (above the KDOQI target "
                           f"{self.caxp_target:g})")
        return reasons

    @cached_property
    def metastatic_evidence(self) -> list[str]:
        return self.mineral_abnormal + self.renal_impairment

    @cached_property
    def systemic_clues(self) -> list[str]:
        clues = [words(key) for key in self.any_yes(SYSTEMIC_CAUSES)]
        if self.yes("hypercalcemia_symptoms"):
            clues.append("symptoms of hypercalcaemia")
        if self.lesion.distribution in ("widespread", "periarticular"):
            clues.append(f"a {self.lesion.distribution} distribution")
        return clues

    @cached_property
    def no_cause(self) -> bool:
        """No local cause, systemic disease or metastatic finding is recorded (idiopathic by
        exclusion); three rules read it."""
        h = self.h
        for key in NO_CAUSE_KEYS:  # a loop: cheaper than any() over a generator
            if h[key] is True:
                return False
        return not self.metastatic_evidence

    @cached_property
    def calcium_shown(self) -> list[str]:
        """Objective evidence that the lesion contains calcium (H10, H11)."""
        shown = []
        if self.imaging.xray == "radiopaque":
            shown.append("radiopaque on X-ray")
        if self.imaging.ultrasound == "calcification_with_shadowing":
            shown.append("echogenic focus with acoustic shadowing on ultrasound")
        if self.imaging.histology == "calcium_deposits":
            shown.append("calcium deposits on histology")
        if self.imaging.dermoscopy & {"white_yellow_structureless", "white_clods"}:
            shown.append("white-yellow structures on dermoscopy")
        if self.has("chalky_discharge"):
            shown.append("chalky discharge")
        return shown
