"""The top of the assessment page in words: the answer a clinician reads in ten seconds (summary
card) and the findings that were entered, from the stored contract input (never codes)."""

from __future__ import annotations

from typing import Any

from .engine.knowledge import ENTITIES
from .engine.labs import ANALYTES
from .engine.vocab import words
from .models import FLAG_LABELS

MANAGEMENT_CSS = {"urgent": "danger", "refer": "warning", "treat": "primary",
                  "watchful_waiting": "success"}


def entity_label(code: str) -> str:
    entity = ENTITIES.get(code)
    return entity.label if entity else words(code).capitalize()


def management_label(code: str) -> str:
    return words(code).capitalize()


def history_label(key: str) -> str:
    return FLAG_LABELS.get(key, words(key).capitalize())


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def strongest_flag(output: dict[str, Any]) -> dict[str, Any] | None:
    # The engine lists red flags most severe first (urgent, refer, review).
    flags = output.get("red_flags", [])
    return flags[0] if flags else None


def summary(output: dict[str, Any], decision: Any) -> dict[str, Any]:
    """What the engine concluded and, when the clinician decided, the final answer beside it."""
    engine = {
        "entity": output["leading_entity"]["label"],
        "subtypes": [f"{words(s['code'])} ({words(s['role'])})" for s in output["subtypes"]],
        "management": management_label(output["management"]["category"]),
        "management_code": output["management"]["category"],
        "refer_to": output["management"].get("refer_to") or [],
        "calcinosis": output["calcinosis"],
    }
    result: dict[str, Any] = {"engine": engine, "flag": strongest_flag(output),
                              "final": None, "decision": decision}
    if decision is not None and decision.decision == "override":
        result["final"] = {
            "entity": entity_label(decision.final_entity),
            "subtypes": [words(code) for code in decision.final_subtypes or []],
            "management": management_label(decision.final_management),
            "management_code": decision.final_management,
        }
    shown = result["final"] or engine
    result["css"] = MANAGEMENT_CSS.get(shown["management_code"], "secondary")
    return result


def entered_findings(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings as entered, grouped: [{"title": ..., "items": [(label, text), ...]}]."""
    from .clinical import age_words

    patient, lesion = data["patient"], data["lesion"]
    history = patient.get("history", {})
    child = [("Age", age_words(float(patient["age_months"]))),
             ("Sex", words(patient.get("sex")).capitalize())]
    if history.get("gestational_age_weeks") is not None:
        child.append(("Gestation", f"{history['gestational_age_weeks']:g} weeks"))
    answers: dict[bool, list[str]] = {True: [], False: []}
    unanswered = 0
    for key, value in history.items():
        if key == "gestational_age_weeks":
            continue
        if value is None:
            unanswered += 1
        else:
            answers[value].append(history_label(key))
    story = [("Yes", ", ".join(answers[True]) or "none"),
             ("No", ", ".join(answers[False]) or "none")]
    if unanswered:
        story.append(("Not answered", f"{unanswered} questions"))

    where = words(lesion["site"])
    if lesion.get("heel_subsite"):
        where = f"{words(lesion['heel_subsite'])} {where}"
    if lesion.get("laterality"):
        where = f"{words(lesion['laterality'])} {where}"
    size = _number(lesion.get("largest_diameter_mm"))
    if size and lesion.get("perpendicular_diameter_mm") is not None:
        size += f" × {_number(lesion['perpendicular_diameter_mm'])}"
    look = [words(lesion[k]) for k in ("color", "morphology", "surface", "consistency")
            if lesion.get(k)]
    items = [("Site", where.capitalize()),
             ("Number", f"{lesion['count']}"
              + (f", {words(lesion['distribution'])}" if lesion.get("distribution") else ""))]
    if size:
        items.append(("Size", f"{size} mm"))
    if look:
        items.append(("Appearance", ", ".join(look).capitalize()))
    if lesion.get("features"):
        items.append(("Features", ", ".join(words(f) for f in lesion["features"]).capitalize()))
    onset = []
    if lesion.get("onset_age_months") is not None:
        onset.append(f"first noticed at {age_words(float(lesion['onset_age_months']))}")
    if lesion.get("duration_weeks") is not None:
        onset.append(f"present for {_number(lesion['duration_weeks'])} weeks")
    if lesion.get("trend"):
        onset.append(words(lesion["trend"]))
    if onset:
        items.append(("Course", "; ".join(onset).capitalize()))

    imaging = data.get("imaging", {})
    seen = [(name, words(imaging[key]).capitalize())
            for key, name in (("xray", "X-ray"), ("ultrasound", "Ultrasound"),
                              ("histology", "Histology")) if imaging.get(key)]
    if imaging.get("dermoscopy"):
        seen.append(("Dermoscopy", ", ".join(words(d) for d in imaging["dermoscopy"])
                     .capitalize()))
    labs = [(ANALYTES[row["analyte"]].label, f"{_number(row['value'])} {row['unit']}")
            for row in data.get("labs", [])]
    groups = [{"title": "Child", "items": child}, {"title": "History", "items": story},
              {"title": "Lesion", "items": items}]
    groups.append({"title": "Imaging", "items": seen or [("Recorded", "none")]})
    groups.append({"title": "Laboratory", "items": labs or [("Recorded", "none")]})
    return groups
