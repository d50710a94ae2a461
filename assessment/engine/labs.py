"""Laboratory analytes: accepted units, conversion, plausibility and reference intervals.

Each analyte has one canonical unit (mg/dL where the knowledge base's thresholds are in mg/dL)
and every comparison happens after conversion to it. Units are never guessed: a value that is
implausible in the unit given is an input error that says which unit would fit.

Reference intervals are the fallbacks of KNOWLEDGE.md section 9, each with its source tag; the
reporting laboratory's own interval, when given, is used instead (and the age-specific interval is
still shown beside it, because printed intervals are often adult ones).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Analyte:
    code: str
    label: str
    canonical_unit: str
    # unit -> factor: value_in_unit * factor = value in the canonical unit
    units: dict[str, float]
    conversion_source: str
    plausible: tuple[float, float]  # canonical unit, inclusive
    decimals: int = 2


ANALYTES: dict[str, Analyte] = {
    a.code: a
    for a in (
        Analyte("calcium_total", "Calcium (total)", "mg/dL", {"mg/dL": 1.0, "mmol/L": 4.008},
                "[V R64]", (1.0, 25.0)),
        Analyte("calcium_ionized", "Calcium (ionised)", "mmol/L",
                {"mmol/L": 1.0, "mg/dL": 1 / 4.008}, "[V R64]", (0.2, 4.0), decimals=3),
        Analyte("phosphate", "Phosphate (inorganic)", "mg/dL", {"mg/dL": 1.0, "mmol/L": 3.097},
                "[V R63][V R93]", (0.3, 40.0)),
        Analyte("alkaline_phosphatase", "Alkaline phosphatase", "U/L", {"U/L": 1.0}, "",
                (5.0, 20000.0), decimals=0),
        Analyte("creatinine", "Creatinine", "mg/dL", {"mg/dL": 1.0, "umol/L": 1 / 88.4},
                "[V R61]", (0.03, 25.0)),
        Analyte("urea", "Urea", "mg/dL", {"mg/dL": 1.0, "mmol/L": 6.006}, "[M]", (1.0, 700.0),
                decimals=1),
        Analyte("bun", "Blood urea nitrogen", "mg/dL", {"mg/dL": 1.0, "mmol/L": 1 / 0.357}, "[M]",
                (0.5, 330.0), decimals=1),
        Analyte("pth", "Parathyroid hormone", "pg/mL", {"pg/mL": 1.0, "pmol/L": 9.43}, "[M]",
                (0.5, 5000.0), decimals=1),
        Analyte("vitamin_d_25oh", "25-hydroxyvitamin D", "ng/mL",
                {"ng/mL": 1.0, "nmol/L": 1 / 2.496}, "[M]", (1.0, 1000.0), decimals=1),
        Analyte("albumin", "Albumin", "g/dL", {"g/dL": 1.0, "g/L": 0.1}, "exact (g/L ÷ 10)",
                (0.5, 7.0)),
        Analyte("crp", "C-reactive protein", "mg/L", {"mg/L": 1.0, "mg/dL": 10.0},
                "exact (mg/dL × 10)", (0.0, 600.0), decimals=1),
        Analyte("creatine_kinase", "Creatine kinase", "U/L", {"U/L": 1.0}, "", (1.0, 500000.0),
                decimals=0),
        Analyte("fgf23_intact", "FGF23 (intact)", "pg/mL", {"pg/mL": 1.0, "ng/L": 1.0},
                "exact (1 pg/mL = 1 ng/L)", (0.1, 100000.0), decimals=1),
        Analyte("tubular_reabsorption_phosphate", "Tubular reabsorption of phosphate", "%",
                {"%": 1.0}, "", (0.0, 100.0), decimals=1),
    )
}
ANALYTE_CODES = tuple(ANALYTES)

_UNIT_ALIASES = {"µmol/l": "umol/L", "μmol/l": "umol/L", "iu/l": "U/L", "pct": "%"}


def normalise_unit(text: str, analyte: str) -> str | None:
    """The accepted spelling of ``text`` for ``analyte``, or None when it is not accepted.

    Case and the micro sign are normalised (``mg/dl`` is mg/dL); a different unit never is.
    """
    wanted = _UNIT_ALIASES.get(text.strip().lower(), text.strip())
    for unit in ANALYTES[analyte].units:
        if unit.lower() == wanted.lower():
            return unit
    return None


def to_canonical(analyte: str, value: float, unit: str) -> float:
    return value * ANALYTES[analyte].units[unit]


def from_canonical(analyte: str, value: float, unit: str) -> float:
    return value / ANALYTES[analyte].units[unit]


def rounded(analyte: str, value: float) -> float:
    decimals = ANALYTES[analyte].decimals
    result = round(value, decimals)
    return float(result)


def plausibility_problem(analyte: str, value: float, unit: str, *, reference: bool) -> str | None:
    """A message when ``value unit`` is physiologically implausible for the analyte.

    Reference bounds may be 0 (e.g. CRP "<5"), so the lower limit is relaxed for them.
    """
    spec = ANALYTES[analyte]
    low, high = spec.plausible
    canonical = to_canonical(analyte, value, unit)
    if reference:
        low = 0.0
    if low <= canonical <= high:
        return None
    shown_low = from_canonical(analyte, low, unit)
    shown_high = from_canonical(analyte, high, unit)
    message = (
        f"{value:g} {unit} is outside the plausible range for {analyte} "
        f"({shown_low:.3g}–{shown_high:.3g} {unit})"
    )
    fitting = [
        other for other in spec.units
        if other != unit and low <= to_canonical(analyte, value, other) <= high
    ]
    if fitting:
        message += f"; check the unit: {value:g} {fitting[0]} would be plausible"
    return message


# --- Reference intervals ----------------------------------------------------------------------

@dataclass(frozen=True)
class Interval:
    analyte: str
    age_from_months: float  # inclusive
    age_to_months: float | None  # exclusive; None = no upper bound
    sex: str  # "any", "male", "female"
    low: float | None  # canonical unit
    high: float | None
    age_label: str
    source: str

    def covers(self, age_months: float, sex: str) -> bool:
        if age_months < self.age_from_months:
            return False
        if self.age_to_months is not None and age_months >= self.age_to_months:
            return False
        return self.sex in ("any", sex)


def _band(analyte: str, start: float, end: float | None, label: str, source: str,
          male: tuple[float | None, float | None],
          female: tuple[float | None, float | None] | None = None) -> list[Interval]:
    if female is None or female == male:
        return [Interval(analyte, start, end, "any", male[0], male[1], label, source)]
    return [
        Interval(analyte, start, end, "male", male[0], male[1], label + ", male", source),
        Interval(analyte, start, end, "female", female[0], female[1], label + ", female", source),
    ]


DAY = 1 / 30.4375  # one day in months
MAYO_CA = "Mayo Clinic Laboratories, test CA [V R56]"
MEDPAGE_CA = "MedPage Today lab reference [V R62]"
ADVENTIST_P = "Adventist HealthCare lab directory (Quest platform) [V R60]"
MAYO_P = "Mayo Clinic Laboratories, test PHOS [V R57]"
MAYO_ALP = "Mayo Clinic Laboratories, test ALP [V R58]"
MAYO_CREAT = "Mayo Clinic Laboratories, test CRTS1 [V R59]"
UCSF_CREAT = "UCSF lab manual, CALIPER transference [V R61]"
UNVERIFIED = "general clinical knowledge, not checked against a source [M]"

INTERVALS: tuple[Interval, ...] = tuple(
    [
        # Total calcium: neonates run lower in the first days, so the neonatal band is used first.
        *_band("calcium_total", 0, 10 * DAY, "0–10 days", MEDPAGE_CA, (7.6, 10.4)),
        *_band("calcium_total", 10 * DAY, 12, "10 days–<1 year", MAYO_CA, (8.7, 11.0)),
        *_band("calcium_total", 12, None, "1–17 years", MAYO_CA, (9.3, 10.6)),
        *_band("calcium_ionized", 12, None, "1–19 years",
               "older Mayo interval (5.1–5.9 mg/dL) [V R90]", (1.27, 1.47)),
        *_band("phosphate", 0, 1, "0–30 days", ADVENTIST_P, (2.8, 7.0), (3.1, 7.7)),
        *_band("phosphate", 1, 3, "1–2 months", ADVENTIST_P, (3.1, 6.6), (3.1, 7.2)),
        *_band("phosphate", 3, 13, "3–12 months", ADVENTIST_P, (3.1, 6.6), (3.1, 6.8)),
        *_band("phosphate", 13, 24, "13–23 months", ADVENTIST_P, (3.1, 6.2), (3.1, 6.3)),
        *_band("phosphate", 24, 156, "2–12 years", ADVENTIST_P, (3.1, 5.9)),
        *_band("phosphate", 156, 168, "13 years", MAYO_P, (3.7, 5.4), (4.0, 5.2)),
        *_band("phosphate", 168, 192, "14–15 years", MAYO_P, (3.5, 5.3), (3.5, 4.9)),
        *_band("phosphate", 192, None, "16–17 years", MAYO_P, (3.1, 4.7)),
        *_band("alkaline_phosphatase", 0, 15 * DAY, "0–14 days", MAYO_ALP, (83, 248)),
        *_band("alkaline_phosphatase", 15 * DAY, 12, "15 days–<1 year", MAYO_ALP, (122, 469)),
        *_band("alkaline_phosphatase", 12, 120, "1–<10 years", MAYO_ALP, (142, 335)),
        *_band("alkaline_phosphatase", 120, 156, "10–<13 years", MAYO_ALP, (129, 417)),
        *_band("alkaline_phosphatase", 156, 180, "13–<15 years", MAYO_ALP, (116, 468), (57, 254)),
        *_band("alkaline_phosphatase", 180, 204, "15–<17 years", MAYO_ALP, (82, 331), (50, 117)),
        *_band("alkaline_phosphatase", 204, None, "17 years and over", MAYO_ALP, (55, 149),
               (35, 104)),
        # Creatinine: the first two weeks reflect maternal creatinine, so CALIPER's neonatal band.
        *_band("creatinine", 0, 15 * DAY, "0–14 days", UCSF_CREAT, (0.30, 0.90)),
        *_band("creatinine", 15 * DAY, 12, "15 days–11 months", MAYO_CREAT, (0.17, 0.42)),
        *_band("creatinine", 12, 72, "1–5 years", MAYO_CREAT, (0.19, 0.49)),
        *_band("creatinine", 72, 132, "6–10 years", MAYO_CREAT, (0.26, 0.61)),
        *_band("creatinine", 132, 180, "11–14 years", MAYO_CREAT, (0.35, 0.86)),
        Interval("creatinine", 180, None, "male", 0.74, 1.35, "15 years and over, male",
                 MAYO_CREAT),
        Interval("creatinine", 180, 192, "female", 0.35, 0.86, "11–15 years, female", MAYO_CREAT),
        Interval("creatinine", 192, None, "female", 0.59, 1.04, "16 years and over, female",
                 MAYO_CREAT),
        *_band("bun", 12, None, "1 year and over", UNVERIFIED, (5.0, 18.0)),
        *_band("urea", 12, None, "1 year and over", UNVERIFIED, (10.7, 38.5)),
        *_band("albumin", 12, None, "1 year and over", UNVERIFIED, (3.5, 5.0)),
        *_band("crp", 0, None, "all ages", UNVERIFIED, (None, 5.0)),
        *_band("pth", 0, None, "all ages (adult-type; paediatric interval not verified)",
               UNVERIFIED, (15.0, 65.0)),
        *_band("vitamin_d_25oh", 0, None, "all ages",
               "deficiency below 20 ng/mL [V R89]; toxicity above 150 ng/mL is unverified [M]",
               (20.0, 150.0)),
    ]
)


def reference_interval(analyte: str, age_months: float, sex: str) -> Interval | None:
    """The built-in interval for this age and sex.

    When sex is unknown and the sources differ by sex, the widest of the two is returned so that
    a value is never called abnormal on the strength of an assumed sex.
    """
    candidates = [
        i for i in INTERVALS
        if i.analyte == analyte and i.covers(age_months, "male" if sex == "unknown" else sex)
    ]
    if sex == "unknown":
        candidates += [i for i in INTERVALS if i.analyte == analyte and i.sex == "female"
                       and i.covers(age_months, "female")]
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    lows = [i.low for i in candidates]
    highs = [i.high for i in candidates]
    first = candidates[0]
    return Interval(
        analyte, first.age_from_months, first.age_to_months, "any",
        None if None in lows else min(x for x in lows if x is not None),
        None if None in highs else max(x for x in highs if x is not None),
        first.age_label.replace(", male", "") + ", sex unknown: widest of male and female",
        first.source,
    )


def flag(value: float, low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return "no_reference"
    if low is not None and value < low:
        return "low"
    if high is not None and value > high:
        return "high"
    return "normal"


# --- Critical ("panic") values: KNOWLEDGE.md section 9.7 --------------------------------------
# A critical value is an urgent red flag on the number alone, whatever the lesion looks like.
# Limits are held in SI units and every comparison is made in SI after converting the value as
# entered, so each accepted unit gives the same answer (the mg/dL figures in section 9.7 are
# rounded equivalents). Comparisons are strict: a value exactly at the limit is not critical.

# analyte -> (SI unit, decimals used to show a converted value)
SI_UNITS: dict[str, tuple[str, int]] = {
    "calcium_total": ("mmol/L", 2),
    "calcium_ionized": ("mmol/L", 2),
    "phosphate": ("mmol/L", 2),
    "creatinine": ("umol/L", 0),
    "urea": ("mmol/L", 1),
    "bun": ("mmol/L", 1),
}


@dataclass(frozen=True)
class CriticalLimit:
    analyte: str
    direction: str  # "low": critical below the limit; "high": critical above it
    limit: float  # in the analyte's SI unit (SI_UNITS)
    source: str


CRITICAL_LIMITS: tuple[CriticalLimit, ...] = (
    # < 1.9 mmol/L predicts HDU/ICU admission [V R95]; < 1.63 mmol/L is the common lab limit [M].
    CriticalLimit("calcium_total", "low", 1.63, "[V R95][M]"),
    CriticalLimit("calcium_total", "high", 3.24, "[M]"),
    CriticalLimit("calcium_ionized", "low", 0.8, "[M]"),
    # Infants (< 12 months) above 1.6 mmol/L are the section 5 rule [V R45]: one flag, not two.
    CriticalLimit("calcium_ionized", "high", 1.6, "[M]"),
    CriticalLimit("phosphate", "low", 0.4, "[V R95]"),
    CriticalLimit("phosphate", "high", 2.6, "[V R95]"),
    # 129 umol/L is an older-child/adult limit [V R95]; paediatric limits are lower [V R96], so
    # the limit is also CREATININE_CRITICAL_TIMES_UPPER_LIMIT x the age-specific upper limit [M].
    CriticalLimit("creatinine", "high", 129.0, "[V R95][V R96][M]"),
    CriticalLimit("urea", "high", 12.0, "[V R95]"),
    CriticalLimit("bun", "high", 12.0, "[V R95]"),  # BUN in mmol/L is urea in mmol/L
)

# Creatinine is also critical above 3 times the upper limit of the age-specific interval (a
# reviewable choice [M]): infants' limits are far lower than the fixed 129 umol/L (from 15 days
# to 11 months the upper limit is 0.42 mg/dL, so 3x is 1.26 mg/dL, about 111 umol/L). The lower
# of the two limits applies.
CREATININE_CRITICAL_TIMES_UPPER_LIMIT = 3.0

# Total calcium below 1.9 mmol/L (and low for age) but not yet critical: predicts HDU/ICU
# admission in children [V R95]; a refer flag, not an urgent one.
CALCIUM_TOTAL_SEVERE_LOW = 1.9


def to_si(analyte: str, value: float, unit: str) -> float:
    """``value unit`` in the analyte's SI unit, rounded to 9 decimals.

    The rounding only removes floating-point noise (6.53304 mg/dL is exactly 1.63 mmol/L), so
    that a value entered exactly at a limit, in any unit, compares equal to it.
    """
    si_unit = SI_UNITS[analyte][0]
    if unit == si_unit:
        return round(value, 9)
    factors = ANALYTES[analyte].units
    return round(value * factors[unit] / factors[si_unit], 9)
