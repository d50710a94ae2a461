"""Property-based tests: any valid input gives a contract-valid output; any mutation of a valid
input into an invalid one gives field errors and nothing else."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assessment.engine import InvalidInput, assess, vocab
from assessment.engine import labs as catalog
from assessment.engine.contract import output_problems

tri = st.sampled_from([True, False, None])


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy)


@st.composite
def lab_rows(draw: Any) -> list[dict[str, Any]]:
    analytes = draw(st.lists(st.sampled_from(catalog.ANALYTE_CODES), unique=True, max_size=6))
    rows = []
    for analyte in analytes:
        spec = catalog.ANALYTES[analyte]
        unit = draw(st.sampled_from(sorted(spec.units)))
        low, high = spec.plausible
        canonical = draw(st.floats(min_value=low, max_value=high, allow_nan=False))
        value = canonical / spec.units[unit]
        if not low <= catalog.to_canonical(analyte, value, unit) <= high:
            continue  # a rounding edge; skip rather than build an invalid row
        row: dict[str, Any] = {"analyte": analyte, "value": value, "unit": unit}
        if draw(st.booleans()):
            ref_low = draw(st.floats(min_value=0, max_value=value * 2 + 1, allow_nan=False))
            ref_high = ref_low + draw(st.floats(min_value=0.01, max_value=50, allow_nan=False))
            if catalog.plausibility_problem(analyte, ref_high, unit, reference=True) is None:
                row["reference_low"], row["reference_high"] = ref_low, ref_high
        rows.append(row)
    return rows


@st.composite
def valid_inputs(draw: Any) -> dict[str, Any]:
    age = draw(st.floats(min_value=0, max_value=216, allow_nan=False))
    history = draw(st.dictionaries(st.sampled_from(vocab.HISTORY_FLAGS), tri))
    if history.get("iv_calcium_received") is False:
        history.pop("iv_calcium_at_lesion_site", None)
        history.pop("extravasation_documented", None)
    if draw(st.booleans()):
        preterm = history.get("preterm_birth")
        low, high = (22.0, 36.9) if preterm else (37.0, 44.0) if preterm is False else (22, 44)
        history["gestational_age_weeks"] = draw(st.floats(min_value=low, max_value=high))
    site = draw(st.sampled_from(vocab.SITES))
    largest = draw(maybe(st.floats(min_value=0.1, max_value=300)))
    perpendicular = None
    if largest is not None:
        perpendicular = draw(maybe(st.floats(min_value=0.1, max_value=largest)))
    onset = draw(maybe(st.floats(min_value=0, max_value=age)))
    duration = draw(maybe(st.floats(min_value=0, max_value=age * 4.3)))
    return {
        "patient": {"age_months": age, "sex": draw(st.sampled_from(vocab.SEXES)),
                    "history": history},
        "lesion": {
            "site": site,
            "heel_subsite": draw(maybe(st.sampled_from(vocab.HEEL_SUBSITES)))
            if site == "heel" else None,
            "laterality": draw(maybe(st.sampled_from(vocab.LATERALITIES))),
            "count": draw(st.integers(min_value=1, max_value=500)),
            "distribution": draw(maybe(st.sampled_from(vocab.DISTRIBUTIONS))),
            "largest_diameter_mm": largest,
            "perpendicular_diameter_mm": perpendicular,
            "color": draw(maybe(st.sampled_from(vocab.COLORS))),
            "morphology": draw(maybe(st.sampled_from(vocab.MORPHOLOGIES))),
            "surface": draw(maybe(st.sampled_from(vocab.SURFACES))),
            "consistency": draw(maybe(st.sampled_from(vocab.CONSISTENCIES))),
            "features": draw(st.lists(st.sampled_from(vocab.FEATURES), unique=True, max_size=6)),
            "onset_age_months": onset,
            "duration_weeks": duration,
            "trend": draw(maybe(st.sampled_from(vocab.TRENDS))),
        },
        "labs": draw(lab_rows()),
        "imaging": {
            "xray": draw(maybe(st.sampled_from(vocab.XRAY))),
            "ultrasound": draw(maybe(st.sampled_from(vocab.ULTRASOUND))),
            "dermoscopy": draw(st.lists(st.sampled_from(vocab.DERMOSCOPY), unique=True,
                                        max_size=3)),
            "histology": draw(maybe(st.sampled_from(vocab.HISTOLOGY))),
        },
    }


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_inputs())
def test_valid_input_always_gives_a_contract_valid_output(data: dict[str, Any]) -> None:
    out = assess(data)
    assert output_problems(out) == []
    json.dumps(out, allow_nan=False)  # serialisable, no NaN


ENUM_FIELDS = {
    ("patient", "sex"): vocab.SEXES, ("lesion", "site"): vocab.SITES,
    ("lesion", "color"): vocab.COLORS, ("lesion", "surface"): vocab.SURFACES,
    ("lesion", "trend"): vocab.TRENDS, ("imaging", "xray"): vocab.XRAY,
    ("imaging", "histology"): vocab.HISTOLOGY,
}
NUMBER_FIELDS = {
    ("patient", "age_months"): (-1e9, -0.001, 216.001, 1e12),
    ("lesion", "count"): (0, -5, 501, 10**15),
    ("lesion", "largest_diameter_mm"): (0, -1, 300.5, 1e300),
}
JUNK = st.one_of(st.text(max_size=300), st.integers(), st.floats(), st.booleans(),
                 st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5),
                                                                     st.integers(), max_size=2))


@st.composite
def mutations(draw: Any) -> dict[str, Any]:
    data = copy.deepcopy(draw(valid_inputs()))
    kind = draw(st.sampled_from(["unknown_key", "bad_enum", "wrong_type", "out_of_range",
                                 "bad_unit", "negative_lab", "drop_required", "bad_history",
                                 "not_object"]))
    if kind == "unknown_key":
        where = draw(st.sampled_from(["", "patient", "lesion", "imaging", "patient.history"]))
        node = data
        for key in filter(None, where.split(".")):
            node = node[key]
        name = draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in node))
        node[name] = draw(JUNK)
    elif kind == "bad_enum":
        (section, key), choices = draw(st.sampled_from(sorted(ENUM_FIELDS.items())))
        value = draw(st.text(max_size=30).filter(lambda v: v not in choices))
        data[section][key] = value
    elif kind == "wrong_type":
        section, key = draw(st.sampled_from(sorted(NUMBER_FIELDS)))
        data[section][key] = draw(st.one_of(st.text(), st.booleans(), st.lists(st.integers(),
                                                                              max_size=2)))
    elif kind == "out_of_range":
        (section, key), values = draw(st.sampled_from(sorted(NUMBER_FIELDS.items())))
        data[section][key] = draw(st.sampled_from(values))
    elif kind == "bad_unit":
        data["labs"] = [{"analyte": "calcium_total", "value": 9.5,
                         "unit": draw(st.sampled_from(["mg", "g/L", "", "mmol", "U/L", "%"]))}]
    elif kind == "negative_lab":
        analyte = draw(st.sampled_from(catalog.ANALYTE_CODES))
        unit = sorted(catalog.ANALYTES[analyte].units)[0]
        data["labs"] = [{"analyte": analyte, "unit": unit,
                         "value": -draw(st.floats(min_value=1e-6, max_value=1e9))}]
    elif kind == "drop_required":
        section, key = draw(st.sampled_from([("", "patient"), ("", "lesion"),
                                             ("patient", "age_months"), ("patient", "sex"),
                                             ("lesion", "site"), ("lesion", "count")]))
        (data[section] if section else data).pop(key)
    elif kind == "bad_history":
        key = draw(st.sampled_from(vocab.HISTORY_FLAGS))
        data["patient"]["history"][key] = draw(st.one_of(st.text(), st.integers(),
                                                         st.lists(st.booleans(), max_size=2)))
    else:
        return draw(st.one_of(st.none(), st.text(), st.integers(), st.lists(st.integers())))
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_invalid_input_always_gives_field_errors_and_nothing_else(data: Any) -> None:
    try:
        assess(data)
    except InvalidInput as error:
        assert error.errors
        for item in error.errors:
            assert isinstance(item.field, str) and item.field
            assert isinstance(item.message, str) and item.message
    else:
        raise AssertionError("an invalid input was accepted")
