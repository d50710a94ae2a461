"""Time to resolution of the lesions a user may report on, grouped by diagnosis, calcinosis
subtype and clinic, as Kaplan–Meier figures with the knowledge base's expected window.

Definitions (the page states them in words):
- time origin: the lesion's first visit; event: the visit that recorded it resolved
  (``Lesion.resolved_on``); a lesion not resolved is censored at its last visit;
- diagnosis: the clinician's final entity where their latest decision on the lesion's current
  assessment (the newest assessment of its latest assessed visit, as the worklist reads it) is
  an override, else the engine's leading entity; the subtype follows the same rule;
- archived patients are left out (they are no longer followed, so their lesions would be
  censored early for a reason unrelated to the course).

Reads are three queries whatever the registry size (one aggregate row per lesion, never a query
per lesion). The figures are cached, keyed by the registry's change counter
(``services.worklist_changed``, which decisions and date-of-birth edits bump too) and the
filters, so a repeat request costs one small query.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import CharField, Func, Max, Min, Value
from django.db.models.functions import Cast, LPad

from .. import access
from ..clinical import DAYS_PER_MONTH
from ..engine.knowledge import ENTITIES, SHORT_NAMES
from ..engine.vocab import words
from ..models import (
    AssessmentDecision,
    ChangeCounter,
    Decision,
    Lesion,
    LesionObservation,
    LesionStatus,
    Site,
)
from .km import KmFigures, km_figures_counted

User = AbstractBaseUser | AnonymousUser

AT_RISK_WEEKS = (0, 4, 8, 13, 26, 52, 104)
GROUPINGS = {"entity": "Diagnosis", "subtype": "Calcinosis subtype", "clinic": "Clinic"}
CHART_GROUPS = 8  # the largest groups are drawn; every group is in the tables
CACHE_SECONDS = 300
# Okabe–Ito colours: told apart with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#6c757d",
           "#000000")
LEGEND_CHARACTERS = 40


@dataclass(frozen=True, slots=True)
class LesionCourse:
    """One lesion as the outcomes page counts it (the page itself reads the same values as
    plain tuples, in this field order: a quarter of a million objects cost a second)."""

    lesion_id: int
    clinic_id: int
    first_visit: date
    last_visit: date
    resolved_on: date | None
    born: date
    onset_age_months: float | None
    duration_weeks_at_first_visit: float | None
    entity: str
    subtype: str
    overridden: bool

    @property
    def resolved(self) -> bool:
        return self.resolved_on is not None

    @property
    def weeks(self) -> float:
        """Weeks from the first visit to resolution, or to the last visit (censored)."""
        return _days(self.first_visit, self.last_visit, self.resolved_on) / 7

    def expected_weeks(self) -> tuple[float, float] | None:
        """The knowledge base's resolution window in weeks after this lesion's first visit
        (negative: already passed then), or None (no window, or no onset recorded for a
        window counted from onset)."""
        return _expected_weeks(self.entity, self.first_visit, self.born,
                               self.onset_age_months, self.duration_weeks_at_first_visit)


def _days(first: date, last: date, resolved_on: date | None) -> int:
    return ((resolved_on or last) - first).days


def _expected_weeks(entity_code: str, first: date, born: date,
                    onset_months: float | str | None, duration_weeks: float | str | None
                    ) -> tuple[float, float] | None:
    entity = ENTITIES.get(entity_code)
    if entity is None or entity.window is None:
        return None
    age_days = (first - born).days
    if entity.window_kind == "absolute":
        offset_days = age_days
    elif onset_months is not None:
        offset_days = age_days - float(onset_months) * DAYS_PER_MONTH
    elif duration_weeks is not None:
        offset_days = float(duration_weeks) * 7
    else:
        return None
    start, end = entity.window
    return ((start * DAYS_PER_MONTH - offset_days) / 7, (end * DAYS_PER_MONTH - offset_days) / 7)


def _allowed(user: User, sites: list[Site]) -> list[int]:
    """The given clinics, less any the user may not report on (checked again here, whatever
    the caller passed)."""
    allowed = access.site_ids(user, access.REPORT) if user.is_authenticated else []
    return sorted(site.pk for site in sites if allowed is None or site.pk in allowed)


class _Joined(Func):
    """Text joined with ``||``, which is NULL when any part is (unlike Concat, which reads a
    NULL as empty text): PostgreSQL and SQLite both concatenate so."""

    arg_joiner = " || "
    template = "(%(expressions)s)"
    output_field = CharField()


def _text(expression: Any, width: int | None = None) -> Any:
    text = Cast(expression, CharField())
    return text if width is None else LPad(text, width, Value("0"))


def lesion_courses(user: User, *, sites: list[Site], first_from: date | None = None,
                   first_to: date | None = None) -> list[LesionCourse]:
    """Every lesion of ``sites`` (clinics the user may report on) whose first visit falls in
    the range; see ``_course_rows``."""
    return [LesionCourse(*row[:6], _number(row[6]), _number(row[7]), *row[8:])
            for row in _course_rows(user, sites=sites, first_from=first_from,
                                    first_to=first_to)]


def _number(text: str | None) -> float | None:
    return None if text is None else float(text)


def _course_rows(user: User, *, sites: list[Site], first_from: date | None,
                 first_to: date | None) -> list[tuple[Any, ...]]:
    """The lesions as tuples in ``LesionCourse`` field order, in three queries whatever their
    number.

    The first is an aggregate grouped by lesion over its observations, visits and assessments,
    reading each table once: first and last visit, the earliest onset recorded (the first
    visit's, as later visits only add time), and the lesion's current assessment. That is the
    newest assessment of the lesion's latest assessed visit, picked with MAX over a sortable
    text key (visit date, observation id, assessment id) followed by its entity and subtype:
    ids grow with creation, and a lesion's visits are recorded in date order under the
    patient's lock, so the key orders as the worklist's ORDER BY does. Grouped by the
    observation's lesion id, with the lesion and patient joined only to filter, so the rows
    sorted for grouping stay narrow; the lesion's own columns come from the second query. The
    third reads the decisions of assessments that were ever overridden.

    At 100,000 patients (250,000 lesions, PostgreSQL, two cores) the three queries take about
    2.5 s and building the rows 0.7 s; the first version (window functions for the first
    observation, the latest assessment and the latest decision) took 4 s in its queries and
    2 s in Python. What remains is the join of every observation with its visit and
    assessments: a lesion that kept its current diagnosis and first and last visit dates
    (as it keeps its next due date) would make this one table scan."""
    site_ids = _allowed(user, sites)
    if not site_ids:
        return []
    key = _Joined(_text("encounter__date"), _text("id", 19), _text("assessments__id", 19),
                  Value("|"), "assessments__leading_entity", Value("|"),
                  "assessments__primary_subtype")
    visits = LesionObservation.objects.filter(
        lesion__clinic_id__in=site_ids, lesion__patient__archived_at__isnull=True,
    ).values("lesion_id").annotate(
        first_visit=Min("encounter__date"), last_visit=Max("encounter__date"),
        # As text: a number converter on a quarter of a million rows costs a third of a
        # second, and only lesions whose window counts from onset need them (_number).
        onset=Cast(Min("onset_age_months"), CharField()),
        duration=Cast(Min("duration_weeks"), CharField()),
        current=Max(key),
    )
    # On the aggregates: a HAVING clause, so lesions are chosen by their first visit.
    if first_from is not None:
        visits = visits.filter(first_visit__gte=first_from)
    if first_to is not None:
        visits = visits.filter(first_visit__lte=first_to)
    lesions = {row[0]: row for row in Lesion.objects.filter(
        clinic_id__in=site_ids, patient__archived_at__isnull=True,
    ).values_list("id", "clinic_id", "status", "resolved_on", "patient__date_of_birth"
                  ).order_by()}
    decisions = _latest_overriding_decisions(site_ids)
    resolved = LesionStatus.RESOLVED
    courses = []
    for lesion, first, last, onset, duration, current in visits.values_list(
            "lesion_id", "first_visit", "last_visit", "onset", "duration", "current",
    ).order_by():
        _, clinic, status, resolved_on, born = lesions[lesion]
        entity, subtype, overridden = "", "", False
        if current:
            # date (10) + observation id (19) + assessment id (19) + "|entity|subtype"
            entity, subtype = current[49:].split("|")
            decision = decisions.get(int(current[29:48]))
            if decision is not None:
                overridden = True
                entity, subtype = decision[0], _final_subtype(subtype, *decision)
        courses.append((lesion, clinic, first, last,
                        resolved_on if status == resolved else None, born, onset, duration,
                        entity, subtype, overridden))
    return courses


def _latest_overriding_decisions(site_ids: list[int]) -> dict[int, tuple[str, Any]]:
    """{assessment id: (final entity, final subtypes)} where the latest decision on the
    assessment is an override. Only assessments ever overridden are read (most decisions
    agree, and an assessment never overridden keeps the engine's reading)."""
    overridden = AssessmentDecision.objects.filter(decision=Decision.OVERRIDE).values(
        "assessment_id")
    latest: dict[int, tuple[str, str, Any]] = {}
    for assessment, decision, entity, subtypes in AssessmentDecision.objects.filter(
            assessment_id__in=overridden,
            assessment__observation__lesion__clinic_id__in=site_ids,
    ).order_by("assessment_id", "decided_at", "id").values_list(
            "assessment_id", "decision", "final_entity", "final_subtypes"):
        latest[assessment] = (decision, entity, subtypes)  # the last one read is the latest
    return {assessment: (entity, subtypes) for assessment, (decision, entity, subtypes)
            in latest.items() if decision == Decision.OVERRIDE}


def _final_subtype(engine_primary: str, final_entity: str, final_subtypes: Any) -> str:
    """The primary subtype of an overridden reading: the engine's primary if the clinician
    kept it, else the final entity's own subtype if chosen, else the first chosen."""
    chosen = [code for code in final_subtypes or [] if isinstance(code, str)]
    if engine_primary and engine_primary in chosen:
        return engine_primary
    entity = ENTITIES.get(final_entity)
    if entity is not None and entity.subtype and (not chosen or entity.subtype in chosen):
        return entity.subtype
    return chosen[0] if chosen else ""


def registry_generation() -> int:
    """What the cached figures depend on: the change counter that every write of visits,
    observations, assessments, decisions, dates of birth and clinics bumps."""
    return ChangeCounter.objects.filter(name="worklist").values_list(
        "value", flat=True).first() or 0


def outcomes(user: User, *, sites: list[Site], first_from: date | None = None,
             first_to: date | None = None, grouping: str = "entity") -> dict[str, Any]:
    """The page's figures for one grouping, cached per change of the registry and filter
    values. The lesions are counted once (``tally``, cached too, and small), so switching the
    grouping only fits the curves again."""
    from django.core.cache import cache

    site_ids = _allowed(user, sites)
    generation = registry_generation()
    # "v2": the figures' shape; a shared cache must not hand an older release's to this one.
    key = (f"outcomes:v2:{generation}:{'-'.join(map(str, site_ids))}:"
           f"{first_from or ''}:{first_to or ''}")
    figures = cache.get(f"{key}:{grouping}")
    if figures is None:
        counted = cache.get(key)
        if counted is None:
            counted = tally(_course_rows(user, sites=[s for s in sites if s.pk in site_ids],
                                         first_from=first_from, first_to=first_to))
            cache.set(key, counted, CACHE_SECONDS)
        figures = summarise(counted, grouping, {site.pk: site.name for site in sites})
        cache.set(f"{key}:{grouping}", figures, CACHE_SECONDS)
    return figures


def tally(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """What the figures need of the lesions (``_course_rows`` tuples), in one pass: lesions
    per (diagnosis, subtype, clinic, days followed, resolved?), counted in C by Counter (a
    few thousand keys for a quarter of a million lesions), and each windowed diagnosis's
    expected window as the median over its lesions."""
    counted = Counter((row[8], row[9], row[1], ((row[4] or row[3]) - row[2]).days,
                       row[4] is not None) for row in rows)
    windows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    windowed = {code for code, entity in ENTITIES.items() if entity.window is not None}
    for (_, _, first, _, _, born, onset, duration, entity, _, _) in rows:
        if entity in windowed:
            window = _expected_weeks(entity, first, born, onset, duration)
            if window is not None:
                windows[entity].append(window)
    return {
        "counted": counted, "lesions": len(rows),
        "overridden": sum(1 for row in rows if row[10]),
        "first_visit_from": min((row[2] for row in rows), default=None),
        "first_visit_to": max((row[2] for row in rows), default=None),
        "windows": {code: (statistics.median(w[0] for w in found),
                           statistics.median(w[1] for w in found), len(found))
                    for code, found in windows.items()},
    }


def summarise(counted: dict[str, Any], grouping: str,
              clinic_names: dict[int, str]) -> dict[str, Any]:
    """Kaplan–Meier figures overall and per group of ``grouping``, from a ``tally`` (no
    database)."""
    if not counted["lesions"]:
        return {"lesions": 0, "overall": None, "overridden": 0, "groups": [],
                "chart": {"groups": [], "hidden": 0, "windows": []}}
    position = {"entity": 0, "subtype": 1, "clinic": 2}[grouping]
    overall: Counter[tuple[float, bool]] = Counter()
    members: dict[Any, Counter[tuple[float, bool]]] = defaultdict(Counter)
    for key, count in counted["counted"].items():
        pair = (key[3] / 7, key[4])
        overall[pair] += count
        members[key[position]][pair] += count
    groups = [_group(grouping, code, pairs, clinic_names, counted["windows"].get(code))
              for code, pairs in members.items()]
    groups.sort(key=lambda group: (-group["lesions"], group["label"]))
    return {
        "lesions": counted["lesions"], "overall": _figures_dict(_km(overall)),
        "overridden": counted["overridden"],
        "first_visit_from": counted["first_visit_from"],
        "first_visit_to": counted["first_visit_to"],
        "groups": groups, "chart": _chart(groups),
    }


def _km(pairs: Counter[tuple[float, bool]]) -> KmFigures:
    return km_figures_counted(pairs, AT_RISK_WEEKS)


def _group(grouping: str, code: Any, pairs: Counter[tuple[float, bool]],
           clinic_names: dict[int, str],
           window: tuple[float, float, int] | None) -> dict[str, Any]:
    label, legend = _labels(grouping, code, clinic_names)
    group = {"label": label, "legend": legend, **_figures_dict(_km(pairs)),
             "window": None, "window_text": ""}
    if grouping == "entity":
        group.update(_expected(code, window, group["lesions"]))
    return group


def _labels(grouping: str, code: Any, clinic_names: dict[int, str]) -> tuple[str, str]:
    """(table label, short legend label), in words."""
    if grouping == "clinic":
        name = clinic_names.get(code, "Another clinic")
        return name, _shorten(name)
    if grouping == "subtype":
        label = f"{words(code).capitalize()} calcinosis" if code else \
            "No calcinosis subtype (a mimic)"
        return label, label
    entity = ENTITIES.get(code)
    if entity is None:
        return "Not in the current knowledge base", "Other diagnosis"
    short = SHORT_NAMES.get(code) or entity.label
    return entity.label, _shorten(short[:1].upper() + short[1:])


def _shorten(text: str) -> str:
    if len(text) <= LEGEND_CHARACTERS:
        return text
    cut = text[:LEGEND_CHARACTERS - 1].rsplit(" ", 1)[0].rstrip(",;:(")
    return f"{cut}…"


def _figures_dict(figures: KmFigures) -> dict[str, Any]:
    return {
        "lesions": figures.lesions, "events": figures.events, "censored": figures.censored,
        "median": figures.median, "median_low": figures.median_low,
        "median_high": figures.median_high, "median_text": median_words(figures),
        "curve": [[round(t, 3), round(s, 4)] for t, s in figures.curve],
        "at_risk": [count for _, count in figures.at_risk],
        "unresolved_at": [None if value is None else round(value * 100)
                          for _, value in figures.unresolved_at],
        "last_weeks": figures.last_time,
    }


def weeks_words(value: float) -> str:
    rounded = round(value, 1)
    return f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"


def median_words(figures: KmFigures) -> dict[str, str]:
    """The median and its 95% confidence interval in words: "not reached" where the curve
    (or the confidence band) never falls to one half."""
    median = "not reached" if figures.median is None else \
        f"{weeks_words(figures.median)} weeks"
    low = "not reached" if figures.median_low is None else weeks_words(figures.median_low)
    high = "not reached" if figures.median_high is None else weeks_words(figures.median_high)
    if figures.median_low is None and figures.median_high is None:
        interval = "95% CI not estimable"
    else:
        interval = f"95% CI {low} to {high}"
    return {"median": median, "interval": interval}


def window_words(code: str) -> str:
    """The knowledge base's window in words: "18–30 months of age"."""
    entity = ENTITIES.get(code)
    if entity is None or entity.window is None:
        return ""
    start, end = (f"{value:g}" for value in entity.window)
    if entity.window_kind == "absolute":
        return f"{start}–{end} months of age"
    low, high = (value * DAYS_PER_MONTH / 7 for value in entity.window)
    return f"{start}–{end} months after the lesion appeared (about {low:.0f}–{high:.0f} weeks)"


def _expected(code: str, window: tuple[float, float, int] | None,
              lesions: int) -> dict[str, Any]:
    """The group's expected window: (median start, median end, lesions with a window) of the
    per-lesion windows in weeks after the first visit, clipped at 0 here."""
    text = window_words(code)
    if not text:
        return {"window": None, "window_text": "No expected window in the knowledge base."}
    if window is None:
        return {"window": None,
                "window_text": f"Knowledge base: {text}; no onset recorded, so not placed on "
                               "the time axis."}
    start, end, placed = max(0.0, window[0]), max(0.0, window[1]), window[2]
    counted = "" if placed == lesions else \
        f" ({placed} of {lesions} lesions had an onset recorded)"
    if end <= 0:
        where = "already passed at the first visit for most of these lesions"
    else:
        where = (f"for these lesions about {weeks_words(start)}–{weeks_words(end)} weeks "
                 "after the first visit (median)")
    return {"window": [round(start, 2), round(end, 2)],
            "window_text": f"Knowledge base: {text}; {where}{counted}.",
            "window_kb": text}


def _chart(groups: list[dict[str, Any]]) -> dict[str, Any]:
    drawn = groups[:CHART_GROUPS]
    for index, group in enumerate(drawn):
        group["color"] = PALETTE[index % len(PALETTE)]  # the table's key to the chart
    return {
        "groups": [{"label": group["legend"], "color": group["color"],
                    "curve": group["curve"], "window": group["window"],
                    "window_label": f"Expected (knowledge base): {group['legend']}, "
                                    f"{group.get('window_kb', '')}",
                    "window_label_short": f"Expected: {group['legend']}"}
                   for group in drawn],
        "hidden": len(groups) - len(drawn),
        "windows": [{"label": group["legend"], "text": group["window_text"]}
                    for group in drawn if group["window"] and group["window"][1] > 0],
    }
