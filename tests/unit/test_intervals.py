"""Built-in paediatric reference intervals (KNOWLEDGE.md section 9.8): coverage, band edges,
adult-derived marking, source tags and the per-analyte index."""

from __future__ import annotations

import re
from typing import Any

import pytest

from assessment.engine import assess
from assessment.engine import labs as catalog
from assessment.engine.sources import REFERENCES

DAY = catalog.DAY
SEXES = ("male", "female", "unknown")

# 0 to 216 months in quarter months, the named boundaries, and every band edge (and just below).
_EDGES = {i.age_from_months for i in catalog.INTERVALS} | {
    i.age_to_months for i in catalog.INTERVALS if i.age_to_months is not None}
AGES = sorted(
    {q / 4 for q in range(0, 4 * 216 + 1)}
    | {0, 10 * DAY, 15 * DAY, 1, 3, 12, 13, 24, 156, 180, 192, 204, 215.9, 216}
    | {e for e in _EDGES if e <= 216}
    | {max(0.0, e - 0.01) for e in _EDGES if e <= 216}
)


def _input(age: float, analyte: str, value: float, unit: str,
           sex: str = "female") -> dict[str, Any]:
    """A minimal valid contract input: one heel papule and one lab result."""
    return {
        "patient": {"age_months": age, "sex": sex, "history": {}},
        "lesion": {"site": "heel", "count": 1},
        "labs": [{"analyte": analyte, "value": value, "unit": unit}],
        "imaging": {},
    }


def _row(out: dict[str, Any], analyte: str) -> dict[str, Any]:
    (row,) = [r for r in out["labs"] if r["analyte"] == analyte]
    return row


# --- (a) coverage ------------------------------------------------------------------------------

@pytest.mark.parametrize("analyte", catalog.ANALYTE_CODES)
def test_every_analyte_has_an_interval_at_every_age_and_sex(analyte: str) -> None:
    for age in AGES:
        for sex in SEXES:
            interval = catalog.reference_interval(analyte, age, sex)
            assert interval is not None, (analyte, age, sex)
            assert interval.low is not None or interval.high is not None, (analyte, age, sex)
            if interval.low is not None and interval.high is not None:
                assert interval.low < interval.high, (analyte, age, sex)


def test_intervals_only_name_known_analytes_and_bands_do_not_overlap() -> None:
    assert {i.analyte for i in catalog.INTERVALS} == set(catalog.ANALYTE_CODES)
    for analyte in catalog.ANALYTE_CODES:
        for age in AGES:
            for sex in ("male", "female"):
                covering = [i for i in catalog.INTERVALS
                            if i.analyte == analyte and i.covers(age, sex)]
                assert len(covering) == 1, (analyte, age, sex, covering)


def _scan(analyte: str, age: float, sex: str) -> catalog.Interval | None:
    """The pre-index algorithm: a scan of the whole table."""
    candidates = [i for i in catalog.INTERVALS
                  if i.analyte == analyte and i.covers(age, "male" if sex == "unknown" else sex)]
    if sex == "unknown":
        candidates += [i for i in catalog.INTERVALS if i.analyte == analyte
                       and i.sex == "female" and i.covers(age, "female")]
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    lows = [i.low for i in candidates]
    highs = [i.high for i in candidates]
    return catalog.Interval(
        analyte, candidates[0].age_from_months, candidates[0].age_to_months, "any",
        None if None in lows else min(x for x in lows if x is not None),
        None if None in highs else max(x for x in highs if x is not None),
        candidates[0].age_label.replace(", male", "")
        + ", sex unknown: widest of male and female",
        candidates[0].source, any(i.adult_source for i in candidates))


def test_the_index_gives_the_same_answer_as_a_full_scan() -> None:
    for analyte in (*catalog.ANALYTE_CODES, "not_an_analyte"):
        for age in AGES[::7]:
            for sex in SEXES:
                assert catalog.reference_interval(analyte, age, sex) == _scan(analyte, age, sex)


# --- (b) band edges of the new intervals ------------------------------------------------------

@pytest.mark.parametrize(("analyte", "age", "sex", "value", "expected"), [
    # Ionised calcium (mmol/L): 0-13 days 1.05-1.46; 14 days-<1 year 1.300-1.495; then 1.27-1.47.
    ("calcium_ionized", 0, "male", 1.05, "normal"),
    ("calcium_ionized", 5 * DAY, "male", 1.04, "low"),
    ("calcium_ionized", 13.9 * DAY, "female", 1.47, "high"),
    ("calcium_ionized", 14 * DAY, "female", 1.47, "normal"),
    ("calcium_ionized", 14 * DAY, "female", 1.10, "low"),
    ("calcium_ionized", 6, "unknown", 1.300, "normal"),
    ("calcium_ionized", 6, "unknown", 1.299, "low"),
    ("calcium_ionized", 11.99, "male", 1.495, "normal"),
    ("calcium_ionized", 11.99, "male", 1.496, "high"),
    ("calcium_ionized", 12, "male", 1.48, "high"),
    # Creatine kinase (U/L): <4 days <450; 4 days-3 months M <190, F <145; then M 39-308, F 26-192.
    ("creatine_kinase", 3.9 * DAY, "female", 450, "normal"),
    ("creatine_kinase", 3.9 * DAY, "female", 451, "high"),
    ("creatine_kinase", 4 * DAY, "female", 146, "high"),
    ("creatine_kinase", 4 * DAY, "female", 145, "normal"),
    ("creatine_kinase", 4 * DAY, "male", 190, "normal"),
    ("creatine_kinase", 2.99, "male", 191, "high"),
    ("creatine_kinase", 2.99, "unknown", 190, "normal"),
    ("creatine_kinase", 3, "male", 191, "normal"),
    ("creatine_kinase", 3, "male", 309, "high"),
    ("creatine_kinase", 3, "male", 38, "low"),
    ("creatine_kinase", 120, "female", 193, "high"),
    ("creatine_kinase", 120, "female", 26, "normal"),
    ("creatine_kinase", 120, "unknown", 300, "normal"),
    # BUN (mg/dL): 0-12 months 4-19; then 5-18.
    ("bun", 0, "male", 3.9, "low"),
    ("bun", 11.99, "male", 19, "normal"),
    ("bun", 11.99, "male", 19.1, "high"),
    ("bun", 12, "male", 18.1, "high"),
    ("bun", 12, "male", 4.5, "low"),
    # Urea (mg/dL) = BUN x 2.14: 0-12 months 8.6-40.7; then 10.7-38.5.
    ("urea", 6, "female", 40.7, "normal"),
    ("urea", 11.99, "female", 40.8, "high"),
    ("urea", 12, "female", 38.6, "high"),
    ("urea", 6, "female", 8.5, "low"),
    # Albumin (g/dL), by age and sex.
    ("albumin", 7.9 * DAY, "female", 1.9, "normal"),
    ("albumin", 7.9 * DAY, "female", 1.8, "low"),
    ("albumin", 7.9 * DAY, "male", 2.3, "low"),
    ("albumin", 7.9 * DAY, "unknown", 1.9, "normal"),
    ("albumin", 8 * DAY, "male", 2.1, "normal"),
    ("albumin", 30.9 * DAY, "male", 4.6, "high"),
    ("albumin", 31 * DAY, "male", 4.6, "normal"),
    ("albumin", 5.99, "female", 2.3, "normal"),
    ("albumin", 12.99, "male", 2.2, "normal"),
    ("albumin", 13, "male", 2.2, "low"),
    ("albumin", 47.9, "male", 4.3, "high"),
    ("albumin", 48, "male", 4.3, "normal"),
    ("albumin", 84, "female", 3.7, "low"),
    ("albumin", 215.9, "female", 5.6, "normal"),
    # CRP (mg/L): first 3 days <=30 (postnatal rise); then <=5.0 (adult interval).
    ("crp", 3.9 * DAY, "male", 30, "normal"),
    ("crp", 3.9 * DAY, "male", 30.1, "high"),
    ("crp", 4 * DAY, "male", 5.0, "normal"),
    ("crp", 4 * DAY, "male", 5.1, "high"),
    # PTH (pg/mL): <1 month 7-59; 1-11 months 8-61; 12 months-10 years 11-59; 11-17 years 15-68.
    ("pth", 0.99, "female", 59.1, "high"),
    ("pth", 0.99, "female", 7.0, "normal"),
    ("pth", 1, "female", 61, "normal"),
    ("pth", 1, "female", 7.5, "low"),
    ("pth", 11.99, "female", 61.1, "high"),
    ("pth", 12, "female", 60, "high"),
    ("pth", 12, "female", 10.9, "low"),
    ("pth", 131.9, "male", 60, "high"),
    ("pth", 132, "male", 60, "normal"),
    ("pth", 132, "male", 14.9, "low"),
    ("pth", 215.9, "male", 68.1, "high"),
    # 25(OH)D (ng/mL): deficiency below 20, toxicity possible above 80.
    ("vitamin_d_25oh", 0, "male", 19.9, "low"),
    ("vitamin_d_25oh", 100, "male", 20, "normal"),
    ("vitamin_d_25oh", 100, "male", 80, "normal"),
    ("vitamin_d_25oh", 216, "male", 80.1, "high"),
    # Intact FGF23 (pg/mL): paediatric upper limit 52.
    ("fgf23_intact", 0, "female", 52, "normal"),
    ("fgf23_intact", 215.9, "female", 52.1, "high"),
    # TRP (%): 85-95 (unverified, adult).
    ("tubular_reabsorption_phosphate", 24, "male", 84.9, "low"),
    ("tubular_reabsorption_phosphate", 24, "male", 85, "normal"),
    ("tubular_reabsorption_phosphate", 24, "male", 95.1, "high"),
])
def test_band_edges(analyte: str, age: float, sex: str, value: float, expected: str) -> None:
    interval = catalog.reference_interval(analyte, age, sex)
    assert interval is not None
    assert catalog.flag(value, interval.low, interval.high) == expected


def test_sex_unknown_takes_the_widest_interval_and_keeps_the_adult_mark() -> None:
    ck = catalog.reference_interval("creatine_kinase", 1, "unknown")
    assert ck is not None and (ck.low, ck.high) == (None, 190)
    assert "sex unknown" in ck.age_label
    albumin = catalog.reference_interval("albumin", 0, "unknown")
    assert albumin is not None and (albumin.low, albumin.high) == (1.9, 4.0)
    crp = catalog.reference_interval("crp", 24, "unknown")
    assert crp is not None and crp.adult_source


# --- (c) the two examples of KNOWLEDGE.md 9.8 through the whole engine -------------------------

@pytest.mark.parametrize(("age", "value", "unit", "expected"), [
    (1, 1.68, "mmol/L", "high"),
    (6, 0.95, "mmol/L", "low"),
    (1, 1.68 * 4.008, "mg/dL", "high"),
    (6, 1.40, "mmol/L", "normal"),
])
def test_ionised_calcium_in_infants_through_the_engine(age: float, value: float, unit: str,
                                                      expected: str) -> None:
    row = _row(assess(_input(age, "calcium_ionized", value, unit)), "calcium_ionized")
    assert row["flag"] == expected
    assert "CAI" in row["reference_source"] and "14 days–<1 year" in row["reference_source"]


def test_an_adult_interval_says_so_in_the_engine_output() -> None:
    row = _row(assess(_input(24, "crp", 3, "mg/L")), "crp")
    assert row["flag"] == "normal"
    assert "adult interval" in row["reference_source"]


def test_no_analyte_reads_no_reference_at_any_age_through_the_engine() -> None:
    for age in (0, 0.5, 6, 12, 60, 215):
        for analyte, spec in catalog.ANALYTES.items():
            value = max(spec.plausible[0], min(spec.plausible[1], 1.0))
            out = assess(_input(age, analyte, value, spec.canonical_unit, sex="male"))
            assert _row(out, analyte)["flag"] != "no_reference", (analyte, age)


# --- (d) adult-derived intervals are marked --------------------------------------------------

def test_adult_derived_intervals_say_adult_where_the_clinician_sees_them() -> None:
    adult = [i for i in catalog.INTERVALS if i.adult_source]
    assert {i.analyte for i in adult} >= {"crp"}
    for interval in adult:
        assert "adult" in f"{interval.source}, {interval.age_label}", interval


# --- (e) every interval is cited -------------------------------------------------------------

_TAG = re.compile(r"\[(V R\d+b?|M)\]")


@pytest.mark.parametrize("interval", catalog.INTERVALS,
                         ids=lambda i: f"{i.analyte}-{i.age_from_months:.2f}-{i.sex}")
def test_every_interval_has_a_source_tag_and_its_references_exist(
        interval: catalog.Interval) -> None:
    assert _TAG.search(interval.source), interval.source
    for code in re.findall(r"\[V (R\d+b?)\]", interval.source):
        assert code in REFERENCES, (code, interval.source)
    if "[M]" in interval.source and "[V" not in interval.source:
        assert "not checked against a source" in interval.source
