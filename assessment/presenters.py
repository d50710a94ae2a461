"""Turn a stored assessment into what the page (and the admin) show: the engine's output in the
order a clinician acts on it, with this child's dates."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from .clinical import age_words, date_at_age
from .engine.knowledge import ENTITIES
from .engine.vocab import words
from .models import Assessment

ACTION_LABELS = {"urgent": "Urgent", "refer": "Refer", "review": "Review"}
FLAG_CLASS = {"urgent": "danger", "refer": "warning", "review": "info"}
LAB_FLAG_CLASS = {"high": "text-bg-danger", "low": "text-bg-warning", "normal": "text-bg-success",
                  "no_reference": "text-bg-secondary"}


def _entity_label(code: str) -> str:
    entity = ENTITIES.get(code)
    return entity.label if entity else code


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
            course["sentence"] += f" ({_entity_label(course['basis']).split(' (')[0].lower()})"
        course["sentence"] += "."
    follow = dict(out["follow_up"])
    follow["date"] = encounter.date + timedelta(weeks=follow["interval_weeks"])
    flags = [dict(flag, css=FLAG_CLASS[flag["action"]], action_label=ACTION_LABELS[flag["action"]])
             for flag in out["red_flags"]]
    labs = [dict(row, css=LAB_FLAG_CLASS.get(row["flag"], "text-bg-secondary"),
                 age_css=LAB_FLAG_CLASS.get((row.get("age_reference") or {}).get("flag") or "",
                                            "text-bg-secondary"))
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
        "subtypes": [dict(s, role_label=words(s["role"])) for s in out["subtypes"]],
        "labs": labs,
        "caxp": out["calcium_phosphate_product"],
        "course": course,
        "follow_up": follow,
        "management_label": words(out["management"]["category"]).capitalize(),
        "decisions": [dict(decision=d, entity_label=_entity_label(d.final_entity),
                           management_label=words(d.final_management).capitalize())
                      for d in decisions],
        "current_decision": decisions[0] if decisions else None,
        "course_flags": assessment.course_flags,
    }


def timeline_view_model(lesion: Any) -> dict[str, Any]:
    """Every observation of a lesion in visit order with the child's age, the chart series and,
    once resolved, the time to resolution."""
    from .clinical import age_in_months
    from .engine.course import resolution_sentence

    born = lesion.patient.date_of_birth
    rows, points = [], []
    window = None
    for observation in lesion.observations.all():
        encounter = observation.encounter
        age = age_in_months(born, encounter.date)
        assessments = list(observation.assessments.all())
        latest = assessments[0] if assessments else None
        largest = observation.largest_diameter_mm
        perpendicular = observation.perpendicular_diameter_mm
        resolved = observation.course_status == "resolved"
        size = 0.0 if resolved else (float(largest) if largest is not None else None)
        area = None
        if resolved:
            area = 0.0
        elif largest is not None and perpendicular is not None:
            # Area of an ellipse with these two diameters.
            area = round(math.pi * float(largest) * float(perpendicular) / 4, 1)
        if latest is not None:
            expected = latest.output_json["expected_course"]
            if expected.get("resolution_expected_by_age_months"):
                window = {"from": expected["resolution_expected_by_age_months"][0],
                          "to": expected["resolution_expected_by_age_months"][1],
                          "basis": expected.get("basis") or ""}
        rows.append({"observation": observation, "encounter": encounter, "age": age,
                     "age_words": age_words(age), "assessment": latest,
                     "photos": list(observation.photos.all()), "resolved": resolved})
        points.append({"date": encounter.date.isoformat(), "age_months": age,
                       "largest_mm": size, "area_mm2": area,
                       "status": observation.course_status or "first visit"})
    if not any(p["area_mm2"] for p in points):
        for point in points:  # no measured area: a lone "0 at resolution" says nothing
            point["area_mm2"] = None
    resolution = None
    if lesion.status == "resolved" and rows:
        resolution = resolution_sentence(rows[0]["encounter"].date, lesion.resolved_on,
                                         age_in_months(born, lesion.resolved_on))
    return {"rows": rows, "resolution": resolution,
            "chart": {"points": points, "window": window},
            "photos_by_visit": [row for row in rows if row["photos"]]}
