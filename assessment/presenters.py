"""Turn a stored assessment into what the page (and the admin) show: the engine's output in the
order a clinician acts on it, with this child's dates."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from .clinical import age_words, date_at_age
from .engine.vocab import words
from .models import Assessment
from .summaries import entered_findings, entity_label, summary

ACTION_LABELS = {"urgent": "Urgent", "refer": "Refer", "review": "Review"}
FLAG_CLASS = {"urgent": "danger", "refer": "warning", "review": "info"}
LAB_FLAG_LABELS = {"high": "High", "low": "Low", "normal": "Normal",
                   "no_reference": "No interval", "": ""}
LAB_FLAG_CLASS = {"high": "text-bg-danger", "low": "text-bg-warning", "normal": "text-bg-success",
                  "no_reference": "text-bg-secondary"}


def assessment_view_model(assessment: Assessment) -> dict[str, Any]:
    out = assessment.output_json
    observation = assessment.observation
    encounter = observation.encounter
    patient = encounter.patient
    course = dict(out["expected_course"])
    window = course.get("resolution_expected_by_age_months")
    if window:
        start, end = date_at_age(patient.date_of_birth, window[0]), date_at_age(
            patient.date_of_birth, window[1])
        course["dates"] = {"from": start, "to": end}
        course["sentence"] = (f"Expected to resolve between {start:%Y-%m} and {end:%Y-%m}, at "
                              f"{window[0]:g}–{window[1]:g} months of age")
        if course.get("basis"):
            course["sentence"] += f" ({entity_label(course['basis']).split(' (')[0].lower()})"
        course["sentence"] += "."
    follow = dict(out["follow_up"])
    follow["date"] = encounter.date + timedelta(weeks=follow["interval_weeks"])
    flags = [dict(flag, css=FLAG_CLASS[flag["action"]], action_label=ACTION_LABELS[flag["action"]])
             for flag in out["red_flags"]]
    labs = [dict(row, css=LAB_FLAG_CLASS.get(row["flag"], "text-bg-secondary"),
                 age_css=LAB_FLAG_CLASS.get((row.get("age_reference") or {}).get("flag") or "",
                                            "text-bg-secondary"),
                 value_text=f"{row['value']:g}", flag_label=LAB_FLAG_LABELS[row["flag"]],
                 age_flag_label=LAB_FLAG_LABELS.get(
                     (row.get("age_reference") or {}).get("flag") or "", ""))
            for row in out["labs"]]
    decisions = list(assessment.decisions.all())
    return {
        "out": out,
        "age": age_words(float(assessment.age_months)),
        "patient": patient,
        "encounter": encounter,
        "observation": observation,
        "urgent_flags": [f for f in flags if f["action"] == "urgent"],
        "other_flags": [f for f in flags if f["action"] != "urgent"],
        "subtypes": [dict(s, role_label=words(s["role"]).capitalize(),
                          label=words(s["code"]).capitalize()) for s in out["subtypes"]],
        "labs": labs,
        "caxp": out["calcium_phosphate_product"],
        "course": course,
        "follow_up": follow,
        "management_label": words(out["management"]["category"]).capitalize(),
        "decisions": [dict(decision=d, entity_label=entity_label(d.final_entity),
                           management_label=words(d.final_management).capitalize(),
                           subtype_labels=[words(code) for code in d.final_subtypes or []])
                      for d in decisions],
        "current_decision": decisions[0] if decisions else None,
        "course_flags": assessment.course_flags,
        "summary": summary(out, decisions[0] if decisions else None),
        "findings": entered_findings(assessment.input_json),
        "flag_count": len(out["red_flags"]),
    }


# Rendered bodies (assessment_body_html), newest last; the oldest goes first once full.
_BODIES: dict[tuple[Any, ...], str] = {}
_MAX_BODIES = 128


def assessment_body_html(assessment: Assessment, view: dict[str, Any]) -> str:
    """``_assessment_body.html`` for ``view`` (``assessment_view_model(assessment)``): the
    engine's output in the order a clinician acts on it. Its template took 2.5 ms of a
    typical output, a sixth of the assessment page's server time, so it is rendered once per
    process for each assessment and reused (the admin renders it each time).

    An assessment's output is stored once and never recomputed; whatever else the markup
    shows is in the key: the course flags a later visit may add, the birth date and the
    visit date its dates count from, and the language. ``created_at`` tells apart two
    assessments that had the same id in two databases (tests)."""
    from django.template.loader import render_to_string
    from django.utils import translation

    key = (assessment.pk, assessment.created_at, translation.get_language(),
           repr(assessment.course_flags), view["patient"].date_of_birth,
           view["encounter"].date)
    html = _BODIES.pop(key, None)
    if html is None:
        html = render_to_string("assessment/_assessment_body.html", {"view": view})
        while len(_BODIES) >= _MAX_BODIES:
            _BODIES.pop(next(iter(_BODIES)), None)
    _BODIES[key] = html
    return html


def worklist_sections_html(context: dict[str, Any]) -> str:
    """The worklist's sections (``_worklist_sections.html``) for ``context`` as
    ``selectors.worklist`` returns it, kept in the cache under the same key as its rows, so
    every process of a deployment renders one user's worklist once per change of the registry
    (rendering the rows was most of a cached worklist's time: 6-7x the trivial view's).

    The template's own source and the language are in the key: a release that changes the
    markup never receives the previous release's from a shared cache."""
    import hashlib

    from django.core.cache import cache
    from django.template.loader import get_template, render_to_string
    from django.utils import translation
    from django.utils.safestring import mark_safe

    from .selectors import WORKLIST_CACHE_SECONDS

    global _SECTIONS_DIGEST
    if _SECTIONS_DIGEST is None:
        source = get_template(_SECTIONS_TEMPLATE).template.source
        _SECTIONS_DIGEST = hashlib.sha256(source.encode()).hexdigest()[:12]
    key = f"{context['cache_key']}:html:{_SECTIONS_DIGEST}:{translation.get_language()}"
    html = cache.get(key)
    if html is None:
        html = render_to_string(_SECTIONS_TEMPLATE, context)
        cache.set(key, html, WORKLIST_CACHE_SECONDS)
    # Rendered by the template engine, which escaped every value.
    return mark_safe(html)


_SECTIONS_TEMPLATE = "assessment/_worklist_sections.html"
_SECTIONS_DIGEST: str | None = None


def _forget_bodies(**kwargs: Any) -> None:
    global _SECTIONS_DIGEST
    _BODIES.clear()
    _SECTIONS_DIGEST = None  # read the worklist template's source again


def _connect_body_resets() -> None:
    # A template edited under runserver is reloaded without a restart; a setting changed by a
    # test (language, time zone, template options) may change the markup.
    from django.core.signals import setting_changed
    from django.utils.autoreload import file_changed

    file_changed.connect(_forget_bodies, dispatch_uid="presenters_bodies_file_changed")
    setting_changed.connect(_forget_bodies, dispatch_uid="presenters_bodies_setting_changed")


_connect_body_resets()


# --- The child's age, the patient chart and the lesion timeline --------------------------------

# Longest first, so " months" is abbreviated before " month" could match inside it.
AGE_ABBREVIATIONS = ((" years", " y"), (" year", " y"), (" months", " mo"), (" month", " mo"),
                     (" weeks", " wk"), (" days", " d"), (" day", " d"))
ANSWER_WORDS = {True: "Yes", False: "No", None: "Unknown"}
# Patient history as a clinician reads it; a flag missing here lands in the last group.
HISTORY_GROUPS = (
    ("Birth and neonatal", ("preterm_birth", "nicu_stay", "neonatal_heel_sticks",
                            "perinatal_asphyxia_or_cooling")),
    ("Renal and metabolic", ("renal_disease", "hyperparathyroidism", "vitamin_d_excess",
                             "milk_alkali")),
    ("Medicines and procedures", ("iv_calcium_received",)),
    ("Family and other", ("family_history_calcinosis", "down_syndrome",
                          "connective_tissue_disease", "sarcoidosis", "malignancy")),
)
SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 160, 44, 6


def child_age(months: float) -> str:
    """The child's age as the patient page and the timeline write it ("15 mo", "3 y 4 mo",
    "10 d"): the engine's own rounding and wording (vocab.age_words), abbreviated, so a page
    never says "14 months 30 days" beside the engine's "at 15 months"."""
    from .engine.vocab import age_words as spoken

    text = spoken(months)
    for long, short in AGE_ABBREVIATIONS:
        text = text.replace(long, short)
    return text


def _mm(value: Any) -> str:
    return f"{float(value):g} mm"


def follow_up_state(due: date | None, today: date) -> dict[str, Any] | None:
    """The next follow-up date and, once it has passed, by how many days it is overdue."""
    if due is None:
        return None
    late = (today - due).days
    if late > 0:
        note = f"overdue {late} day{'s' if late != 1 else ''}"
    elif late == 0:
        note = "due today"
    else:
        note = ""
    return {"date": due, "overdue_days": max(late, 0), "note": note}


def size_change(current: Any, previous: Any | None) -> str:
    """How a lesion changed since its previous observation: the two measurements when both
    were taken (the numbers are the record), otherwise what the clinician recorded."""
    if current.course_status == "resolved":
        return "resolved"
    if previous is None:
        return ""
    now, before = current.largest_diameter_mm, previous.largest_diameter_mm
    if now is not None and before is not None:
        return "larger" if now > before else "smaller" if now < before else "same size"
    return {"larger": "larger", "smaller": "smaller",
            "present": "unchanged"}.get(current.course_status, "")


def timeline_view_model(lesion: Any, today: date) -> dict[str, Any]:
    """Every observation of a lesion in visit order with the child's age, the chart series and,
    once resolved, the time to resolution.

    The chart holds only what was observed: a resolved visit adds an event (a labelled marker
    at that age), never a size of 0 mm, because nothing was measured there.
    """
    from .clinical import age_in_months
    from .engine.course import resolution_sentence
    from .engine.vocab import age_words as spoken

    born = lesion.patient.date_of_birth
    rows, points, events = [], [], []
    window = None
    for observation in lesion.observations.all():
        encounter = observation.encounter
        age = age_in_months(born, encounter.date)
        assessments = list(observation.assessments.all())
        latest = assessments[0] if assessments else None
        largest = observation.largest_diameter_mm
        perpendicular = observation.perpendicular_diameter_mm
        resolved = observation.course_status == "resolved"
        area = None
        if largest is not None and perpendicular is not None:
            # Area of an ellipse with these two diameters.
            area = round(math.pi * float(largest) * float(perpendicular) / 4, 1)
        if latest is not None:
            expected = latest.output_json["expected_course"]
            if expected.get("resolution_expected_by_age_months"):
                window = {"from": expected["resolution_expected_by_age_months"][0],
                          "to": expected["resolution_expected_by_age_months"][1],
                          "basis": expected.get("basis") or ""}
        rows.append({"observation": observation, "encounter": encounter, "age": age,
                     "age_words": child_age(age), "assessment": latest,
                     "photos": list(observation.photos.all()), "resolved": resolved})
        if resolved:
            events.append({"age_months": age, "date": encounter.date.isoformat(),
                           "label": f"Resolved at {child_age(age)}"})
        # A resolved visit keeps its age (the x axis reaches it) but no size.
        points.append({"date": encounter.date.isoformat(), "age_months": age,
                       "largest_mm": None if resolved or largest is None else float(largest),
                       "area_mm2": None if resolved else area})
    measured = [p for p in points if p["largest_mm"] is not None]
    described = "; ".join([f"{p['largest_mm']:g} mm at {spoken(p['age_months'])}"
                           for p in measured] + [f"resolved at {spoken(e['age_months'])}"
                                                 for e in events])
    resolution = None
    if lesion.status == "resolved" and rows:
        resolution = resolution_sentence(rows[0]["encounter"].date, lesion.resolved_on,
                                         age_in_months(born, lesion.resolved_on))
    return {"rows": rows, "resolution": resolution,
            "chart": {"points": points, "window": window, "events": events},
            "chart_description": described,
            "due": (follow_up_state(lesion.next_follow_up_due, today)
                    if lesion.status == "active" else None),
            "age_now": child_age(age_in_months(born, today)) if today >= born else "",
            # The one photo form's visits, latest first (the default without JavaScript).
            "photo_choices": [{"observation": row["observation"], "encounter": row["encounter"],
                               "age_words": row["age_words"],
                               "status": row["observation"].get_course_status_display()
                               or "First visit"} for row in reversed(rows)],
            "photos_by_visit": [row for row in rows if row["photos"]]}


def sparkline(sizes: list[tuple[float, float]], resolved_at: float | None
              ) -> dict[str, Any] | None:
    """A small line of the observed sizes, drawn on the server as SVG coordinates.

    ``sizes`` holds (age in months, largest diameter in mm) of the measured observations only;
    the y axis starts at 0 mm so a line's slope is honest. A resolution is a marker at its age,
    never a point at 0 mm (a resolved lesion is not measured).
    """
    from .engine.vocab import age_words as spoken

    if not sizes:
        return None
    ages = [age for age, _ in sizes] + ([resolved_at] if resolved_at is not None else [])
    first, last = min(ages), max(ages)
    top = max(mm for _, mm in sizes)
    inner_w, inner_h = SPARK_WIDTH - 2 * SPARK_PAD, SPARK_HEIGHT - 2 * SPARK_PAD

    def x(age: float) -> float:
        if last == first:
            return SPARK_WIDTH / 2
        return round(SPARK_PAD + (age - first) / (last - first) * inner_w, 1)

    def y(mm: float) -> float:
        return round(SPARK_PAD + inner_h - mm / top * inner_h, 1)

    dots = [{"x": x(age), "y": y(mm)} for age, mm in sizes]
    said = ", ".join(f"{mm:g} mm at {spoken(age)}" for age, mm in sizes)
    label = f"Largest diameter: {said}"
    if resolved_at is not None:
        label += f"; resolved at {spoken(resolved_at)}"
    return {"width": SPARK_WIDTH, "height": SPARK_HEIGHT, "dots": dots,
            "line": " ".join(f"{d['x']},{d['y']}" for d in dots) if len(dots) > 1 else "",
            "resolved_x": x(resolved_at) if resolved_at is not None else None,
            "bottom": SPARK_HEIGHT - SPARK_PAD, "top": SPARK_PAD, "label": label + "."}


def _leading(assessment: Any) -> dict[str, Any]:
    """What the latest assessment concluded, or the clinician's override of it."""
    decisions = list(assessment.decisions.all())
    decision = decisions[0] if decisions else None
    if decision is not None and decision.decision == "override":
        return {"assessment": assessment, "entity": entity_label(decision.final_entity),
                "management": decision.get_final_management_display(), "overridden": True,
                "decision": decision}
    return {"assessment": assessment,
            "entity": assessment.output_json["leading_entity"]["label"],
            "management": assessment.get_management_category_display(), "overridden": False,
            "decision": decision}


def patient_list_rows(patients: list[dict[str, Any]]) -> list[dict[str, str | int]]:
    """The patient list's lines, as text: the most visited list, so its row loop prints
    strings; a {% url %}, two |date filters and a choice lookup per row were half the page's
    template time. Dates as the |date:"j M Y" filter writes them ("5 Jan 2026")."""
    from django.urls import reverse
    from django.utils.dates import MONTHS_3

    from .models import Sex

    months = {number: str(name).title() for number, name in MONTHS_3.items()}
    sexes = {value: str(label) for value, label in Sex.choices}
    prefix = reverse("patient-detail", args=[0])[:-2]  # "/patients/0/" -> "/patients/"

    def day(value: date | None) -> str:
        return f"{value.day} {months[value.month]} {value.year:04d}" if value else ""

    return [{"url": f"{prefix}{patient['pk']}/", "record_number": patient["record_number"],
             "born": day(patient["date_of_birth"]),
             "sex": sexes.get(patient["sex"], patient["sex"]),
             "visits": patient["encounter_count"], "last_visit": day(patient["last_visit"]) or "—",
             "active_lesions": patient["active_lesions"]} for patient in patients]


def patient_chart_view_model(patient: Any, today: date) -> dict[str, Any]:
    """The patient page as a chart: who the child is, the history answers grouped, every
    lesion's course (active first) and what happened to each lesion at each visit.

    Built only from what ``selectors.patient_overview`` prefetched, so the page costs the same
    number of queries however many lesions and visits the child has.
    """
    from itertools import pairwise

    from .clinical import age_in_months
    from .models import LESION_HISTORY_FLAGS, PATIENT_HISTORY_FLAGS

    born = patient.date_of_birth
    encounters = list(patient.encounters.all())
    by_lesion: dict[int, list[Any]] = {}
    for encounter in sorted(encounters, key=lambda e: (e.date, e.pk)):
        for observation in encounter.observations.all():
            by_lesion.setdefault(observation.lesion_id, []).append(observation)
    previous = {after.pk: before for course in by_lesion.values()
                for before, after in pairwise(course)}

    def answers(record: Any, names: tuple[str, ...]) -> list[dict[str, str]]:
        return [{"label": str(record._meta.get_field(name).verbose_name),
                 "answer": ANSWER_WORDS[getattr(record, name)],
                 "kind": ANSWER_WORDS[getattr(record, name)].lower()} for name in names]

    grouped = {name for _, names in HISTORY_GROUPS for name in names}
    groups = [{"title": title, "rows": answers(patient, names)}
              for title, names in HISTORY_GROUPS]
    groups[-1]["rows"] += answers(patient, tuple(n for n in PATIENT_HISTORY_FLAGS
                                                 if n not in grouped))
    gestation = patient.gestational_age_weeks
    groups[0]["rows"].insert(0, {
        "label": "Gestation",
        "answer": f"{gestation.normalize():f} weeks" if gestation is not None else "Unknown",
        "kind": "value" if gestation is not None else "unknown"})

    lesions = sorted(patient.lesions.all(), key=lambda x: (x.status != "active", x.pk))
    cards = [_lesion_card(lesion, by_lesion.get(lesion.pk, []), born, today,
                          answers(lesion, LESION_HISTORY_FLAGS)) for lesion in lesions]

    visits = []
    for encounter in encounters:
        lines = []
        for observation in encounter.observations.all():
            size = observation.largest_diameter_mm
            change = size_change(observation, previous.get(observation.pk))
            if change == "resolved":
                said = "resolved"
            else:
                said = ", ".join(filter(None, [_mm(size) if size is not None else "not measured",
                                               change]))
            assessments = list(observation.assessments.all())
            lines.append({"observation": observation, "lesion": observation.lesion,
                          "said": said, "resolved": change == "resolved",
                          "leading": _leading(assessments[0]) if assessments else None})
        visits.append({"encounter": encounter, "lines": lines,
                       "age": child_age(age_in_months(born, encounter.date))})
    return {"age": child_age(age_in_months(born, today)) if today >= born else "",
            "history": groups, "lesions": cards, "visits": visits,
            "active_count": sum(1 for card in cards if not card["resolved"])}


def _lesion_card(lesion: Any, course: list[Any], born: date, today: date,
                 site_answers: list[dict[str, str]]) -> dict[str, Any]:
    """One lesion on the patient page: status, latest size and its change, the next follow-up,
    a sparkline of the measured sizes, the latest assessment and the photos."""
    from .clinical import age_in_months

    # A resolved visit may carry the size prefilled from the visit before; it was not measured.
    measured = [o for o in course
                if o.largest_diameter_mm is not None and o.course_status != "resolved"]
    latest = measured[-1] if measured else None
    resolved = lesion.status == "resolved"
    assessed = [o for o in course if list(o.assessments.all())]
    resolved_at = (age_in_months(born, lesion.resolved_on)
                   if resolved and lesion.resolved_on >= born else None)
    return {
        "lesion": lesion,
        "resolved": resolved,
        "latest_size": _mm(latest.largest_diameter_mm) if latest else "",
        "latest_date": latest.encounter.date if latest else None,
        # Against the previous visit, whatever was measured there.
        "change": size_change(course[-1], course[-2]) if len(course) > 1 and not resolved else "",
        "due": None if resolved else follow_up_state(lesion.next_follow_up_due, today),
        "spark": sparkline([(age_in_months(born, o.encounter.date), float(o.largest_diameter_mm))
                            for o in measured], resolved_at),
        "leading": _leading(assessed[-1].assessments.all()[0]) if assessed else None,
        "leading_date": assessed[-1].encounter.date if assessed else None,
        "photos": [photo for o in course for photo in o.photos.all()],
        "site_answers": site_answers,
        "site_yes": sum(1 for row in site_answers if row["answer"] == "Yes"),
    }


# --- The printed visit summary (templates/assessment/print_summary.html) ----------------------

SUMMARY_LIST_LIMIT = 3


def _first(items: list[Any], limit: int = SUMMARY_LIST_LIMIT) -> dict[str, Any]:
    """A list cut for one printed page: the first ``limit`` items and how many were left out."""
    return {"items": items[:limit], "more": max(len(items) - limit, 0)}


# Sentences the engine repeats in its critical-value and same-day flags; the printed "Urgent:"
# label already says them. Should the engine reword one, it is printed in full: never less.
REPEATED_ADVICE = (
    "Act on it today, whatever the lesion looks like.",
    "Renal disease is recorded and may explain this value, but it is still critical: act on it "
    "now.",
    "Same-day assessment.",
)


def brief_flag(message: str) -> str:
    """A red flag's message without the advice every urgent flag repeats."""
    for sentence in REPEATED_ADVICE:
        message = message.replace(f" {sentence}", "").replace(sentence, "")
    return message.strip()


def visit_summary_view_model(assessment: Assessment) -> dict[str, Any]:
    """The one-page visit summary for the medical record, built on the assessment page's view
    model: every red flag, lab and missing workup item, but the differential and the
    management options cut to the first three (the rest counted, to be read in the app)."""
    view = assessment_view_model(assessment)
    out, encounter = view["out"], view["encounter"]
    groups = {group["title"]: dict(group["items"]) for group in view["findings"]}
    course = view["course"]
    window = course.get("resolution_expected_by_age_months")
    expected = ""
    if course.get("dates"):
        expected = (f"Expected to resolve between {course['dates']['from']:%b %Y} and "
                    f"{course['dates']['to']:%b %Y}, at {window[0]:g}–{window[1]:g} months of "
                    "age")
        if course.get("basis"):
            expected += f" ({entity_label(course['basis']).split(' (')[0].lower()})"
        expected += "."
    clinician = encounter.clinician
    flags = [dict(flag, brief=brief_flag(flag["message"]))
             for flag in view["urgent_flags"] + view["other_flags"]]
    return {
        "view": view,
        "clinician": clinician.get_full_name() or clinician.get_username(),
        "lesion": groups.get("Lesion", {}),
        "history_yes": groups.get("History", {}).get("Yes", ""),
        "imaging": [f"{name} {text.lower()}" for name, text in groups.get("Imaging", {}).items()
                    if name != "Recorded"],
        # Names without their parenthesised synonyms: the app shows the full labels.
        "differential": _first([dict(item, name=item["label"].split(" (")[0])
                                for item in out["differential"]]),
        "options": _first(out["management"]["options"]),
        "flags": flags,
        "flags_cut": any(flag["brief"] != flag["message"] for flag in flags),
        "expected": expected,
        # Without a dated window the engine's course text says what is known instead.
        "course_text": "" if expected else course.get("text", ""),
    }
