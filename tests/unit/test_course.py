"""Course checks with frozen dates, on both sides of every boundary."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from assessment.engine.course import (
    COURSE_CHECKS,
    CourseContext,
    Visit,
    check_course,
    resolution_sentence,
)

FIRST = date(2026, 3, 1)
RECHECK = date(2026, 6, 1)


def context(*, before: dict[str, Any] | None = None, now: dict[str, Any] | None = None,
            window: tuple[float, float] | None = (18, 30), management: str = "watchful_waiting",
            due: date | None = RECHECK) -> CourseContext:
    previous = {"on": FIRST, "age_months": 10.0, "status": "", "largest_diameter_mm": 3.0}
    current = {"on": RECHECK, "age_months": 13.0, "status": "smaller",
               "largest_diameter_mm": 2.0}
    previous.update(before or {})
    current.update(now or {})
    return CourseContext(previous=Visit(**previous), current=Visit(**current),
                         expected_window_months=window, previous_management=management,
                         previous_follow_up_due=due)


def fired(c: CourseContext) -> set[str]:
    return {flag["id"] for flag in check_course(c)}


ROWS: list[tuple[str, CourseContext, bool]] = [
    # Growing: 1 mm or more, or recorded as larger.
    ("CC-GROWING", context(now={"status": "present", "largest_diameter_mm": 4.0}), True),
    ("CC-GROWING", context(now={"status": "present", "largest_diameter_mm": 3.9}), False),
    ("CC-GROWING", context(now={"status": "larger", "largest_diameter_mm": None}), True),
    ("CC-GROWING", context(now={"status": "present", "largest_diameter_mm": None}), False),
    # Still present past the expected window (strictly after its upper age).
    ("CC-PAST-WINDOW", context(now={"status": "present", "age_months": 30.01}), True),
    ("CC-PAST-WINDOW", context(now={"status": "present", "age_months": 30.0}), False),
    ("CC-PAST-WINDOW", context(now={"status": "resolved", "age_months": 31.0}), False),
    ("CC-PAST-WINDOW", context(now={"status": "present", "age_months": 40}, window=None), False),
    # New red-flag features, absent before.
    ("CC-NEW-RED-FLAG", context(now={"surface": "ulcerated"}), True),
    ("CC-NEW-RED-FLAG", context(now={"features": frozenset({"erythema_around"})}), True),
    ("CC-NEW-RED-FLAG", context(now={"color": "erythematous"}), True),
    ("CC-NEW-RED-FLAG", context(now={"features": frozenset({"pain_limits_walking"})}), True),
    ("CC-NEW-RED-FLAG", context(before={"features": frozenset({"erythema_around"})},
                                now={"features": frozenset({"erythema_around"})}), False),
    ("CC-NEW-RED-FLAG", context(now={"features": frozenset({"pain"})}), False),
    # Benign, watched, not smaller at or after the due recheck.
    ("CC-NOT-SHRINKING", context(now={"status": "present", "largest_diameter_mm": 3.0}), True),
    ("CC-NOT-SHRINKING", context(now={"status": "present", "largest_diameter_mm": 3.0,
                                      "on": date(2026, 5, 31)}), False),
    ("CC-NOT-SHRINKING", context(now={"status": "smaller", "largest_diameter_mm": None}), False),
    ("CC-NOT-SHRINKING", context(now={"status": "present", "largest_diameter_mm": 2.9}), False),
    ("CC-NOT-SHRINKING", context(now={"status": "present", "largest_diameter_mm": 3.0},
                                 management="refer"), False),
    ("CC-NOT-SHRINKING", context(now={"status": "present"}, due=None), False),
]


@pytest.mark.parametrize(("check_id", "ctx", "fires"), ROWS,
                         ids=[f"{r[0]}-{i}-{'fires' if r[2] else 'silent'}"
                              for i, r in enumerate(ROWS)])
def test_course_check(check_id: str, ctx: CourseContext, fires: bool) -> None:
    assert (check_id in fired(ctx)) is fires


def test_every_course_check_is_tested_firing() -> None:
    assert {c.id for c in COURSE_CHECKS} == {r[0] for r in ROWS if r[2]}


def test_a_typical_course_raises_nothing() -> None:
    assert check_course(context()) == []


def test_each_flag_says_why_where_from_and_what_to_do() -> None:
    flags = check_course(context(now={"status": "larger", "largest_diameter_mm": 6.0,
                                      "surface": "ulcerated", "age_months": 31}))
    assert {f["id"] for f in flags} == {c.id for c in COURSE_CHECKS}
    for flag in flags:
        assert flag["text"] and flag["source"].startswith("[")
        assert "biopsy" in flag["action"] and "referral" in flag["action"]
    growing = next(f for f in flags if f["id"] == "CC-GROWING")
    assert growing["text"] == "Growing: 3 mm on 1 Mar 2026, 6 mm on 1 Jun 2026."


def test_resolution_sentence_matches_seed_case_a() -> None:
    assert resolution_sentence(date(2026, 8, 10), date(2026, 11, 9), 14.99) == \
        "Resolved after 13 weeks, at 15 months of age."
