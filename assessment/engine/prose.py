"""A linter for the engine's words: what a specialist must never read in an answer.

Used by the tests on every seed and reviewed case and on thousands of generated inputs, and
usable on any output (``prose_problems(output)``). Pure Python, like the engine.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from .knowledge import ENTITIES, PLAUSIBILITY

SNAKE_CASE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
TAG = re.compile(r"\[(?:V R\d+b?|S|M)\]")
RAW = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|[{}]|\\n")
DECIMAL_MONTHS = re.compile(r"\b\d{2,3}\.\d+ months\b")
REPEATED = re.compile(r"\b(\w{4,}) with \1\b")
MAX_SHARED_FOR = 3
# Labels with capitals after the first letter ("(SCN; ...)", "(JDM, SLE ...)"): lower-cased
# in a sentence they read as codes.
CASED_LABELS = [e.label for e in ENTITIES.values() if e.label[1:] != e.label[1:].lower()]
MINERAL_NAMES = {"calcium_total": ("total calcium", "calcium"),
                 "calcium_ionized": ("ionised calcium",), "phosphate": ("phosphate",),
                 "creatinine": ("creatinine",), "urea": ("urea",)}


def sentences(out: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every sentence a person reads, with where it sits."""
    leading = out["leading_entity"]
    for text in leading["reasons"] + leading.get("against", []):
        yield "leading entity", text
    for item in out["differential"]:
        for text in item["for"] + item["against"]:
            yield f"differential {item['code']}", text
    for side in ("for", "against"):
        for text in out.get("calcinosis_reasons", {}).get(side, []):
            yield "calcinosis reasons", text
    for flag in out["red_flags"]:
        yield "red flag", flag["message"]
        if flag.get("refer_to"):
            yield "red flag referral", flag["refer_to"]
    for item in out["workup"]:
        yield "workup", item["what"]
        yield "workup", item["reason"]
    for item in out.get("workup_not_needed", []):
        yield "workup not needed", item["reason"]
    management = out["management"]
    for text in management["options"] + management["reasons"] + management.get("refer_to", []):
        yield "management", text
    yield "expected course", out["expected_course"]["text"]
    yield "follow-up", out["follow_up"]["reason"]
    for subtype in out["subtypes"]:
        for text in subtype["reasons"]:
            yield "subtype", text
    for rule in out["rules_fired"]:
        yield f"rule {rule['id']}", rule["text"]


def _lab_flags(out: dict[str, Any]) -> dict[str, str]:
    flags = {}
    for row in out["labs"]:
        age = row.get("age_reference", {}).get("flag")
        flags[row["analyte"]] = row["flag"] if age in (None, "no_reference") else age
        if row["flag"] in ("high", "low"):
            flags[row["analyte"]] = row["flag"]
    return flags


def _contradictions(text: str, flags: dict[str, str]) -> list[str]:
    problems = []
    lower = text.lower()
    minerals = {a: flags.get(a) for a in ("calcium_total", "phosphate")}
    abnormal = [a for a, flag in minerals.items() if flag in ("high", "low")]
    if abnormal and any(p in lower for p in ("within the intervals for age",
                                             "expected to be normal",
                                             "calcium and phosphate are normal")):
        problems.append(f"says calcium and phosphate are normal beside {abnormal[0]} "
                        f"flagged {minerals[abnormal[0]]}")
    if any(flag == "high" for flag in minerals.values()) and "not raised" in lower:
        problems.append("says not raised beside a high calcium or phosphate")
    for analyte, names in MINERAL_NAMES.items():
        flag = flags.get(analyte)
        for name in names:
            said = re.search(rf"(?<!ionised )\b{name} is (abnormal|high|raised|low)\b",
                             lower)
            if said and flag not in ("high", "low"):
                problems.append(f"says {name} is {said.group(1)} but it is {flag or 'absent'}")
            if re.search(rf"(?<!ionised )\b{name} [^.]*is normal for age\b",
                         lower) and flag in ("high", "low"):
                problems.append(f"says {name} is normal but it is flagged {flag}")
    return problems


def _outside_window(code: str, out: dict[str, Any]) -> bool:
    window = PLAUSIBILITY.get(code)
    if window is None:
        return False
    age = out.get("_age_months")
    site = out.get("_site")
    if age is not None and window.ages is not None and not (
            window.ages[0] <= age <= window.ages[1]):
        return True
    return site is not None and window.sites is not None and site not in window.sites


def prose_problems(out: dict[str, Any], *, age_months: float | None = None,
                   site: str | None = None) -> list[str]:
    """What is wrong with the words of one engine output (empty when it reads well)."""
    problems: list[str] = []
    flags = _lab_flags(out)
    for where, text in sentences(out):
        plain = TAG.sub("", text)
        for code in SNAKE_CASE.findall(plain):
            problems.append(f"{where}: code {code!r} in {text!r}")
        for label in CASED_LABELS:
            if label.lower() in text:
                problems.append(f"{where}: lower-cased label in {text!r}")
        tags = TAG.findall(text)
        doubled = [tag for tag, n in Counter(tags).items() if n > 1]
        if doubled:
            problems.append(f"{where}: source tag {doubled[0]} twice in {text!r}")
        if RAW.search(plain):
            problems.append(f"{where}: raw value in {text!r}")
        if DECIMAL_MONTHS.search(plain):
            problems.append(f"{where}: age as decimal months in {text!r}")
        if REPEATED.search(plain):
            problems.append(f"{where}: repeated word in {text!r}")
        for problem in _contradictions(plain, flags):
            problems.append(f"{where}: {problem}: {text!r}")
    shared = Counter(text for item in out["differential"] for text in set(item["for"]))
    for text, count in shared.items():
        if count > MAX_SHARED_FOR:
            problems.append(f"differential: one 'for' sentence under {count} entries: {text!r}")
    if age_months is not None or site is not None:
        context = {**out, "_age_months": age_months, "_site": site}
        for item in out["differential"][:3]:
            if _outside_window(item["code"], context) and not any(
                    text.startswith(("Age ", "Site ")) for text in item["against"]):
                problems.append(f"differential: {item['code']} is outside its age or site "
                                "window in the top three with no reason saying so")
    return problems
