"""A checker for the output side of the contract.

Tests (and the property-based tests in particular) call ``output_problems`` on every result; an
empty list means the output honours the contract, including its safety invariant: management is
never milder than the most severe urgent or refer red flag.
"""

from __future__ import annotations

import re
from typing import Any

from .knowledge import ENTITIES
from .labs import ANALYTES
from .vocab import (
    ACTION_TO_MINIMUM_MANAGEMENT,
    CALCINOSIS_LEVELS,
    CAXP_FLAGS,
    CONTRACT_VERSION,
    FLAG_ACTIONS,
    LAB_FLAGS,
    MANAGEMENT_CATEGORIES,
    MANAGEMENT_RANK,
    SUBTYPE_ROLES,
    SUBTYPES,
    WORKUP_PRIORITIES,
)

SOURCE_TAG = re.compile(r"\[(V R\d+b?|S|M)\]")
REQUIRED_KEYS = (
    "contract", "ruleset_version", "calcinosis", "subtypes", "leading_entity", "differential",
    "red_flags", "labs", "calcium_phosphate_product", "workup", "management",
    "expected_course", "follow_up", "rules_fired",
)


def output_problems(out: Any) -> list[str]:
    problems: list[str] = []

    def check(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    if not isinstance(out, dict):
        return ["output is not an object"]
    for key in REQUIRED_KEYS:
        check(key in out, f"missing key {key}")
    if problems:
        return problems
    check(out["contract"] == CONTRACT_VERSION, "wrong contract version")
    check(isinstance(out["ruleset_version"], str) and bool(out["ruleset_version"]),
          "ruleset_version must be text")
    check(out["calcinosis"] in CALCINOSIS_LEVELS, "calcinosis level unknown")

    seen_subtypes = set()
    for item in out["subtypes"]:
        check(item.get("code") in SUBTYPES, f"unknown subtype {item.get('code')}")
        check(item.get("role") in SUBTYPE_ROLES, f"unknown role {item.get('role')}")
        check(bool(item.get("reasons")), f"subtype {item.get('code')} has no reasons")
        check(item.get("code") not in seen_subtypes, f"subtype {item.get('code')} repeated")
        seen_subtypes.add(item.get("code"))
    if out["calcinosis"] in ("likely", "possible", "secondary"):
        check(any(s["role"] == "primary" for s in out["subtypes"])
              or out["calcinosis"] == "possible", "calcinosis without a primary subtype")

    leading = out["leading_entity"]
    check(leading.get("code") in ENTITIES, "leading entity code unknown")
    check(bool(leading.get("label")) and bool(leading.get("reasons")),
          "leading entity needs a label and reasons")
    codes = [d.get("code") for d in out["differential"]]
    check(bool(codes) and codes[0] == leading.get("code"),
          "differential must start with the leading entity")
    check(len(codes) == len(set(codes)), "differential repeats an entity")
    for item in out["differential"]:
        check(item.get("code") in ENTITIES, f"differential code unknown {item.get('code')}")
        check(isinstance(item.get("for"), list) and isinstance(item.get("against"), list),
              "differential items need for/against lists")
        check(bool(item.get("for")), f"differential {item.get('code')} has nothing for it")

    worst_floor = "watchful_waiting"
    for flag in out["red_flags"]:
        check(flag.get("action") in FLAG_ACTIONS, f"unknown action {flag.get('action')}")
        check(bool(flag.get("message")) and bool(flag.get("code")), "flag needs code and message")
        check(bool(SOURCE_TAG.search(flag.get("source", ""))), "flag without a source tag")
        floor = ACTION_TO_MINIMUM_MANAGEMENT.get(flag.get("action", ""))
        if floor and MANAGEMENT_RANK[floor] > MANAGEMENT_RANK[worst_floor]:
            worst_floor = floor
    actions = [flag.get("action") for flag in out["red_flags"]]
    check(actions == sorted(actions, key=FLAG_ACTIONS.index), "red flags not ordered urgent first")

    for lab in out["labs"]:
        check(lab.get("analyte") in ANALYTES, f"unknown analyte {lab.get('analyte')}")
        check(lab.get("flag") in LAB_FLAGS, f"unknown lab flag {lab.get('flag')}")
        check(bool(lab.get("reference_source")), "lab without reference source")
    caxp = out["calcium_phosphate_product"]
    if caxp is not None:
        check(caxp.get("flag") in CAXP_FLAGS, "unknown Ca×P flag")
        check(isinstance(caxp.get("value_mg2_dl2"), float), "Ca×P value must be a number")

    for item in out["workup"]:
        check(item.get("priority") in WORKUP_PRIORITIES, f"unknown priority {item.get('priority')}")
        check(bool(item.get("reason")) and bool(SOURCE_TAG.search(item["reason"])),
              f"workup {item.get('code')} needs a reason with a source")

    management = out["management"]
    category = management.get("category")
    check(category in MANAGEMENT_CATEGORIES, f"unknown management category {category}")
    if category in MANAGEMENT_RANK:
        check(MANAGEMENT_RANK[category] >= MANAGEMENT_RANK[worst_floor],
              f"management {category} is milder than a {worst_floor} red flag")
    check(bool(management.get("reasons")) and bool(management.get("options")),
          "management needs reasons and options")

    course = out["expected_course"]
    check(bool(course.get("text")), "expected course needs text")
    window = course.get("resolution_expected_by_age_months")
    if window is not None:
        check(len(window) == 2 and window[0] <= window[1], "resolution window malformed")
    follow = out["follow_up"]
    check(isinstance(follow.get("interval_weeks"), int) and follow["interval_weeks"] >= 0,
          "follow-up interval must be whole weeks")
    check(not (category == "urgent" and follow.get("interval_weeks") != 0),
          "urgent management must be seen the same day")

    for rule in out["rules_fired"]:
        check(bool(rule.get("id")) and bool(rule.get("text")), "fired rule needs id and text")
        check(bool(SOURCE_TAG.search(rule.get("source", ""))),
              f"fired rule {rule.get('id')} lacks a source tag")
    ids = [rule.get("id") for rule in out["rules_fired"]]
    check(len(ids) == len(set(ids)), "a rule is listed twice in rules_fired")
    return problems
