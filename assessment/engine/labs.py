"""Laboratory analytes: accepted units, conversion, plausibility and reference intervals.

Each analyte has one canonical unit (mg/dL where the knowledge base's thresholds are in mg/dL)
and every comparison happens after conversion to it. Units are never guessed: a value that is
implausible in the unit given is an input error that says which unit would fit.

Reference intervals are the fallbacks of KNOWLEDGE.md section 9, each with its source tag; the
reporting laboratory's own interval, when given, is used instead (and the age-specific interval is
still shown beside it, because printed intervals are often adult ones).
"""

from __future__ import annotations

from bisect import bisect_right
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
    # True when the interval comes from an adult source applied to children; the label says so.
    adult_source: bool = False

    def covers(self, age_months: float, sex: str) -> bool:
        if age_months < self.age_from_months:
            return False
        if self.age_to_months is not None and age_months >= self.age_to_months:
            return False
        return self.sex in ("any", sex)


ADULT_LABEL = " (adult interval applied to children)"


def _band(analyte: str, start: float, end: float | None, label: str, source: str,
          male: tuple[float | None, float | None],
          female: tuple[float | None, float | None] | None = None, *,
          adult_source: bool = False) -> list[Interval]:
    if adult_source:
        label += ADULT_LABEL
    if female is None or female == male:
        return [Interval(analyte, start, end, "any", male[0], male[1], label, source,
                         adult_source)]
    return [
        Interval(analyte, start, end, "male", male[0], male[1], label + ", male", source,
                 adult_source),
        Interval(analyte, start, end, "female", female[0], female[1], label + ", female", source,
                 adult_source),
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
MAYO_CAI = "Mayo Clinic Laboratories, test CAI (5.21–5.99 mg/dL) [V R97]"
DAVIS_CAI = "Davis's Lab & Diagnostic Tests, ionised calcium, whole blood [V R98]"
MAYO_CK = "Mayo Clinic Laboratories, test CK [V R99]"
GLOS_CK = "Gloucestershire Hospitals NHS pathology, CK [V R100]"
HALLMARK_BUN = "Hallmark Health laboratory, test BUN [V R101]"
HALLMARK_UREA = ("Hallmark Health laboratory, test BUN [V R101], as urea "
                 "(BUN × 2.14, arithmetic from molar masses [M])")
ADVENTIST_ALB = "Adventist HealthCare lab directory (Quest platform), albumin [V R102]"
MAYO_PTH = "Mayo Clinic Laboratories, test PTH2 [V R103]"
MAYO_VITD = ("Mayo Clinic Laboratories, test 25HDN: deficiency below 20 ng/mL, toxicity possible "
             "above 80 ng/mL [V R104][V R89]")
MAYO_CRP = "Mayo Clinic Laboratories, test CRP (<5.0 mg/L, 'applies to all ages') [V R105]"
MJELLE_CRP = ("healthy term neonates at 48–72 h: values above 30 mg/L uncommon (1.1%) "
              "[V R106]")
MAYO_FGF23 = "Mayo Clinic Laboratories, test IFG23 [V R107]"

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
        # Ionised calcium (KNOWLEDGE.md 9.8): Mayo has no interval for the first 13 days, when
        # ionised calcium is lower, so the first two weeks use the wider infant (0–11 months)
        # whole-blood interval; Mayo's 5.21–5.99 mg/dL ÷ 4.008 = 1.300–1.495 mmol/L.
        *_band("calcium_ionized", 0, 14 * DAY, "0–13 days (0–11 month whole-blood interval)",
               DAVIS_CAI, (1.05, 1.46)),
        *_band("calcium_ionized", 14 * DAY, 12, "14 days–<1 year", MAYO_CAI, (1.300, 1.495)),
        # Creatine kinase: Mayo has no interval up to 3 months; a paediatric NHS laboratory does.
        *_band("creatine_kinase", 0, 4 * DAY, "0–3 days", GLOS_CK, (None, 450)),
        *_band("creatine_kinase", 4 * DAY, 3, "4 days–3 months", GLOS_CK, (None, 190),
               (None, 145)),
        *_band("creatine_kinase", 3, None, "over 3 months", MAYO_CK, (39, 308), (26, 192)),
        *_band("bun", 0, 12, "0–12 months", HALLMARK_BUN, (4.0, 19.0)),
        *_band("bun", 12, None, "1–17 years", HALLMARK_BUN, (5.0, 18.0)),
        *_band("urea", 0, 12, "0–12 months", HALLMARK_UREA, (8.6, 40.7)),
        *_band("urea", 12, None, "1–17 years", HALLMARK_UREA, (10.7, 38.5)),
        *_band("albumin", 0, 8 * DAY, "0–7 days", ADVENTIST_ALB, (2.4, 3.9), (1.9, 4.0)),
        *_band("albumin", 8 * DAY, 31 * DAY, "8–30 days", ADVENTIST_ALB, (2.1, 4.5), (1.9, 4.4)),
        *_band("albumin", 31 * DAY, 91 * DAY, "31–90 days", ADVENTIST_ALB, (2.1, 4.8),
               (2.0, 4.2)),
        *_band("albumin", 91 * DAY, 6, "91–180 days", ADVENTIST_ALB, (2.2, 4.9), (2.3, 4.4)),
        *_band("albumin", 6, 13, "6–12 months", ADVENTIST_ALB, (2.2, 4.7), (2.3, 4.7)),
        *_band("albumin", 13, 48, "13 months–3 years", ADVENTIST_ALB, (3.5, 4.2), (3.5, 4.7)),
        *_band("albumin", 48, 84, "4–6 years", ADVENTIST_ALB, (3.6, 5.2)),
        *_band("albumin", 84, None, "7–19 years", ADVENTIST_ALB, (3.8, 5.6)),
        # CRP rises physiologically over the first days of life; afterwards Mayo's single
        # interval, which is not a paediatric one.
        *_band("crp", 0, 4 * DAY, "0–3 days (postnatal rise)", MJELLE_CRP, (None, 30.0)),
        *_band("crp", 4 * DAY, None, "4 days and over", MAYO_CRP, (None, 5.0),
               adult_source=True),
        *_band("pth", 0, 1, "<1 month", MAYO_PTH, (7.0, 59.0)),
        *_band("pth", 1, 12, "1–11 months", MAYO_PTH, (8.0, 61.0)),
        *_band("pth", 12, 132, "12 months–10 years", MAYO_PTH, (11.0, 59.0)),
        *_band("pth", 132, None, "11–17 years", MAYO_PTH, (15.0, 68.0)),
        *_band("vitamin_d_25oh", 0, None, "all ages (clinical decision limits)", MAYO_VITD,
               (20.0, 80.0)),
        *_band("fgf23_intact", 0, None, "under 18 years", MAYO_FGF23, (None, 52.0)),
        *_band("tubular_reabsorption_phosphate", 0, None, "all ages (not age-specific)",
               UNVERIFIED, (85.0, 95.0), adult_source=True),
    ]
)

# Intervals indexed by analyte once, at import: reference_interval runs for every lab of every
# assessment and must not scan the whole table. Order within an analyte is that of INTERVALS.
_BY_ANALYTE: dict[str, tuple[Interval, ...]] = {
    code: tuple(i for i in INTERVALS if i.analyte == code)
    for code in dict.fromkeys(i.analyte for i in INTERVALS)
}


# Each analyte's interval bounds, sorted: between two consecutive bounds the answer of
# _reference_interval cannot change (an interval covers from its lower bound, inclusive, to its
# upper bound, exclusive), so it is computed once per analyte, age band and sex.
_BOUNDS: dict[str, list[float]] = {
    code: sorted({bound for i in intervals for bound in (i.age_from_months, i.age_to_months)
                  if bound is not None})
    for code, intervals in _BY_ANALYTE.items()
}
_BY_BAND: dict[tuple[str, int, str], Interval | None] = {}


def reference_interval(analyte: str, age_months: float, sex: str) -> Interval | None:
    """The built-in interval for this age and sex.

    When sex is unknown and the sources differ by sex, the widest of the two is returned so that
    a value is never called abnormal on the strength of an assumed sex.
    """
    if age_months != age_months:  # NaN sorts nowhere: never let it stand for a band
        return _reference_interval(analyte, age_months, sex)
    key = (analyte, bisect_right(_BOUNDS.get(analyte, ()), age_months), sex)
    try:
        return _BY_BAND[key]
    except KeyError:
        found = _BY_BAND[key] = _reference_interval(analyte, age_months, sex)
        return found


def _reference_interval(analyte: str, age_months: float, sex: str) -> Interval | None:
    intervals = _BY_ANALYTE.get(analyte, ())
    candidates = [
        i for i in intervals if i.covers(age_months, "male" if sex == "unknown" else sex)
    ]
    if sex == "unknown":
        candidates += [i for i in intervals if i.sex == "female"
                       and i.covers(age_months, "female")]
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    key = tuple(id(i) for i in candidates)
    widest = _WIDEST.get(key)
    if widest is None:
        widest = _WIDEST[key] = _widest(candidates)
    return widest


# The widest of male and female intervals, built once per pair (the intervals are constants).
_WIDEST: dict[tuple[int, ...], Interval] = {}


def _widest(candidates: list[Interval]) -> Interval:
    lows = [i.low for i in candidates]
    highs = [i.high for i in candidates]
    first = candidates[0]
    return Interval(
        first.analyte, first.age_from_months, first.age_to_months, "any",
        None if None in lows else min(x for x in lows if x is not None),
        None if None in highs else max(x for x in highs if x is not None),
        first.age_label.replace(", male", "") + ", sex unknown: widest of male and female",
        first.source,
        any(i.adult_source for i in candidates),
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
