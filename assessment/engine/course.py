"""Course checks: is this lesion following the course expected of it?

Pure like the rest of the engine: dates and ages are inputs, never read from a clock, so every
boundary is testable. Each check is a row with an id, a source and a sentence naming what was
seen; any check that fires makes the course "atypical", which asks for reassessment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

GROWTH_MM = 1.0  # smaller changes are within measurement error of a ruler at the bedside [M]
NEW_RED_FLAG_FEATURES = {
    "ulceration": "ulceration",
    "erythema": "erythema",
    "pain_limits_walking": "pain limiting walking",
}
REASSESS = ("Reassess: examine again, consider biopsy or excision with von Kossa, imaging "
            "(X-ray or ultrasound) or referral [V R5][S][M].")


@dataclass(frozen=True)
class Visit:
    """One observation of the lesion, as the course checks need it."""

    on: date
    age_months: float
    status: str  # "" for the first visit, else present, smaller, larger or resolved
    largest_diameter_mm: float | None = None
    perpendicular_diameter_mm: float | None = None
    surface: str | None = None
    color: str | None = None
    features: frozenset[str] = field(default_factory=frozenset)

    @property
    def red_flag_features(self) -> set[str]:
        found = set()
        if self.surface in ("ulcerated", "necrotic"):
            found.add("ulceration")
        if "erythema_around" in self.features or self.color == "erythematous":
            found.add("erythema")
        if "pain_limits_walking" in self.features:
            found.add("pain_limits_walking")
        return found


@dataclass(frozen=True)
class CourseContext:
    previous: Visit
    current: Visit
    # From the previous assessment.
    expected_window_months: tuple[float, float] | None
    previous_management: str
    previous_follow_up_due: date | None


@dataclass(frozen=True)
class CourseCheck:
    id: str
    source: str
    when: Callable[[CourseContext], bool]
    text: Callable[[CourseContext], str]


def _day(on: date | None) -> str:
    """A date as every page shows it: 1 Mar 2026 (no leading zero, no ISO)."""
    return "" if on is None else f"{on.day} {on:%b %Y}"


def _growing(c: CourseContext) -> bool:
    if c.current.status == "larger":
        return True
    before, now = c.previous.largest_diameter_mm, c.current.largest_diameter_mm
    return before is not None and now is not None and now - before >= GROWTH_MM


def _growing_text(c: CourseContext) -> str:
    before, now = c.previous.largest_diameter_mm, c.current.largest_diameter_mm
    if before is not None and now is not None and now > before:
        return (f"Growing: {before:g} mm on {_day(c.previous.on)}, {now:g} mm on "
                f"{_day(c.current.on)}.")
    return f"Growing: recorded as larger on {_day(c.current.on)}."


def _past_window(c: CourseContext) -> bool:
    window = c.expected_window_months
    return (window is not None and c.current.status != "resolved"
            and c.current.age_months > window[1])


def _past_window_text(c: CourseContext) -> str:
    end = c.expected_window_months[1] if c.expected_window_months else 0
    return (f"Still present at {c.current.age_months:.3g} months, past the expected resolution "
            f"by {end:g} months of age (persistence to 4–7 years is reported, but the diagnosis "
            "should be reconsidered).")


def _new_features(c: CourseContext) -> set[str]:
    if c.current.status == "resolved":
        return set()
    return c.current.red_flag_features - c.previous.red_flag_features


def _not_shrinking(c: CourseContext) -> bool:
    due = c.previous_follow_up_due
    if c.previous_management != "watchful_waiting" or due is None or c.current.on < due:
        return False
    if c.current.status in ("smaller", "resolved"):
        return False
    before, now = c.previous.largest_diameter_mm, c.current.largest_diameter_mm
    return not (before is not None and now is not None and now < before)


COURSE_CHECKS: tuple[CourseCheck, ...] = (
    CourseCheck("CC-GROWING", "[V R5][M]", _growing, _growing_text),
    CourseCheck("CC-PAST-WINDOW", "[V R3][V R5]", _past_window, _past_window_text),
    CourseCheck(
        "CC-NEW-RED-FLAG", "[V R10][V R5][M]", lambda c: bool(_new_features(c)),
        lambda c: "New since the last visit: " + ", ".join(
            NEW_RED_FLAG_FEATURES[k] for k in sorted(_new_features(c))) + "."),
    CourseCheck(
        "CC-NOT-SHRINKING", "[M]", _not_shrinking,
        lambda c: f"Watched as benign, but not smaller at the recheck due "
                  f"{_day(c.previous_follow_up_due)} (seen {_day(c.current.on)})."),
)


def check_course(context: CourseContext) -> list[dict[str, str]]:
    """The checks that fire, each with its id, sentence, source and what to do."""
    return [
        {"id": check.id, "text": check.text(context), "source": check.source,
         "action": REASSESS}
        for check in COURSE_CHECKS if check.when(context)
    ]


def resolution_sentence(first: date, resolved: date, age_months: float) -> str:
    weeks = (resolved - first).days // 7
    return f"Resolved after {weeks} weeks, at {round(age_months)} months of age."
