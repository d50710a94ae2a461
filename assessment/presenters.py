"""Turn a stored assessment into what the page (and the admin) show: the engine's output in the
order a clinician acts on it, with this child's dates."""

from __future__ import annotations

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
    }
