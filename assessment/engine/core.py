"""Walk the rule tables over one presentation and build the contract output.

Order of work: evidence rules score entities and raise red flags; the leading entity and the
ranked differential follow from the scores; then subtypes, management (never milder than the most
severe urgent or refer flag), workup, expected course and follow-up. Every rule that contributed
is listed in ``rules_fired`` with its sentence and source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import labs as catalog
from .facts import CAXP_HIGH_RISK, Facts
from .knowledge import ENTITIES, ENTITY_ORDER, Entity
from .rules import (
    EVIDENCE_RULES,
    HS,
    IDIOPATHIC,
    MR,
    RED_FLAG_RULES,
    TC,
    Rule,
)
from .sources import EVIDENCE_TAGS, REFERENCE_ORDER, REFERENCES, references_in
from .validation import Findings, validate
from .vocab import ACTION_TO_MINIMUM_MANAGEMENT, CONTRACT_VERSION, MANAGEMENT_RANK, words

RULESET_VERSION = "2026.11.2"
ALTERNATIVE_MARGIN = 3.0  # points: an entity this close to the leader is a defensible reading
MAX_DIFFERENTIAL = 15
ACTION_ORDER = {"urgent": 0, "refer": 1, "review": 2}
PRIORITY_ORDER = {"essential": 0, "recommended": 1, "consider": 2}
BENIGN_LOCAL = (HS, "calcium_extravasation_calcinosis", "electrode_paste_calcinosis",
                *IDIOPATHIC, "iatrogenic_calcinosis_other")

WORKUP_LABELS = {
    "serum_calcium_phosphate": "Serum total calcium and phosphate (with albumin)",
    "renal_function": "Creatinine and urea",
    "pth": "Parathyroid hormone (PTH)",
    "vitamin_d_25oh": "25-hydroxyvitamin D",
    "albumin_or_ionised_calcium": "Albumin (for corrected calcium) or ionised calcium",
    "ionised_calcium": "Ionised calcium",
    "infection_screen": "CRP, blood count and blood culture; X-ray or MRI of the calcaneus when "
                        "the heel is involved",
    "muscle_enzymes": "CK, aldolase, LDH, AST and myositis antibodies",
    "trp_fgf23": "Tubular reabsorption of phosphate and intact FGF23",
    "dermoscopy": "Dermoscopy",
    "xray": "Plain X-ray of the area",
    "ultrasound": "Ultrasound of the lesion",
    "biopsy_von_kossa": "Biopsy or excision with von Kossa stain",
    "examine_eyelids": "Examine the eyelids for syringoma",
    "imaging": "X-ray or ultrasound",
}

_TAGS = re.compile(r"\s*(\[(?:V R\d+b?|S|M)[^\]]*\])")


def split_source(text: str) -> tuple[str, str]:
    """Separate trailing source tags from a sentence: ("Text.", "[V R3][M]")."""
    tags = "".join(m.group(1) for m in _TAGS.finditer(text))
    return _TAGS.sub("", text).strip(), tags


@dataclass
class EntityScore:
    code: str
    score: float = 0.0
    supporting: list[str] = field(default_factory=list)
    against: list[str] = field(default_factory=list)
    qualified: bool = False  # a specific finding, not only generic evidence, points to it


@dataclass
class State:
    facts: Facts
    scores: dict[str, EntityScore]
    fired: list[dict[str, str]] = field(default_factory=list)
    fired_ids: set[str] = field(default_factory=set)
    flags: list[dict[str, Any]] = field(default_factory=list)
    workup: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_needed: dict[str, dict[str, str]] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)

    def fire(self, rule_id: str, text: str, source: str) -> None:
        if rule_id in self.fired_ids:
            return
        self.fired_ids.add(rule_id)
        self.fired.append({"id": rule_id, "text": text, "source": source})

    def add_workup(self, code: str, priority: str, reason: str, rule_id: str) -> None:
        current = self.workup.get(code)
        if current is None:
            self.workup[code] = {"code": code, "what": WORKUP_LABELS[code], "priority": priority,
                                 "reason": reason, "rule": rule_id}
            return
        if PRIORITY_ORDER[priority] < PRIORITY_ORDER[current["priority"]]:
            current["priority"] = priority
        if reason not in current["reason"]:
            current["reason"] = f"{current['reason']} {reason}"


def _apply(state: State, rule: Rule) -> None:
    text = rule.sentence(state.facts)
    sentence = f"{text} {rule.source}"
    state.fire(rule.id, text, rule.source)
    for entity, points in rule.scores:
        score = state.scores[entity]
        score.score += points
        (score.supporting if points > 0 else score.against).append(sentence)
        if points > 0 and rule.qualifies:
            score.qualified = True
    if rule.flag:
        code, action = rule.flag
        state.flags.append({"code": code, "message": text, "action": action,
                            "source": rule.source, "rule": rule.id})
    if rule.workup:
        code, priority = rule.workup
        state.add_workup(code, priority, sentence, rule.id)
    if rule.option and rule.option not in state.options:
        state.options.append(rule.option)


def _ranked(state: State) -> list[EntityScore]:
    considered = [s for s in state.scores.values() if s.qualified]
    return sorted(considered, key=lambda s: (-s.score, ENTITY_ORDER[s.code]))


def assess_findings(findings: Findings) -> dict[str, Any]:
    f = Facts(findings)
    state = State(facts=f, scores={code: EntityScore(code) for code in ENTITIES})
    for rule in EVIDENCE_RULES:
        if rule.when(f):
            _apply(state, rule)
    for rule in RED_FLAG_RULES:
        if rule.when(f):
            _apply(state, rule)

    ranked = _ranked(state)
    if not ranked:
        fallback = state.scores["idiopathic_calcinosis_cutis"]
        fallback.qualified = True
        fallback.supporting.append("No finding points to a specific entity: record the site, "
                                   "colour, consistency and history to rank the differential. "
                                   "[M]")
        state.fire("DX-FALLBACK", "No finding points to a specific entity.", "[M]")
        ranked = [fallback]
    leading = ranked[0]
    entity = ENTITIES[leading.code]

    calcinosis = _calcinosis_level(state, ranked)
    subtypes = _subtypes(state, ranked)
    management = _management(state, entity)
    _workup(state, ranked, calcinosis, management["category"])
    course = _course(state, ranked)
    follow_up = _follow_up(state, entity, management["category"], course)

    return {
        "contract": CONTRACT_VERSION,
        "ruleset_version": RULESET_VERSION,
        "calcinosis": calcinosis,
        "subtypes": subtypes,
        "leading_entity": {"code": entity.code, "label": entity.label,
                           "reasons": list(leading.supporting),
                           "against": list(leading.against)},
        "differential": [
            {"code": s.code, "label": ENTITIES[s.code].label, "rank": index + 1,
             "for": list(s.supporting), "against": list(s.against)}
            for index, s in enumerate(ranked[:MAX_DIFFERENTIAL])
        ],
        "red_flags": sorted(state.flags, key=lambda x: ACTION_ORDER[x["action"]]),
        "labs": _labs_output(f),
        "calcium_phosphate_product": _caxp_output(f),
        "workup": sorted(state.workup.values(), key=lambda w: PRIORITY_ORDER[w["priority"]]),
        "workup_not_needed": list(state.not_needed.values()),
        "management": management,
        "expected_course": course,
        "follow_up": follow_up,
        "rules_fired": state.fired,
        "sources": _sources(state),
    }


def assess(data: Any) -> dict[str, Any]:
    """Contract input in, contract output out; raises InvalidInput on bad input."""
    return assess_findings(validate(data))


# --- Interpretation --------------------------------------------------------------------------

def _calcinosis_level(state: State, ranked: list[EntityScore]) -> str:
    f = state.facts
    leading = ENTITIES[ranked[0].code]
    if leading.calcinosis == "secondary":
        level, why = "secondary", "the leading entity is calcified as part of another lesion"
    elif leading.calcinosis == "yes":
        negative_xray = f.imaging.xray == "no_calcification" and not f.calcium_shown
        if (f.calcium_shown or f.calcium_clinical) and not negative_xray:
            shown = f.calcium_shown or ["a white-yellow, firm-to-hard lesion"]
            level, why = "likely", "calcium is supported by " + ", ".join(shown)
        else:
            level, why = "possible", "no objective sign of calcium is recorded yet"
    else:
        best = next((s for s in ranked if ENTITIES[s.code].calcinosis != "no"), None)
        if best is not None and best.score >= ranked[0].score - 2:
            level, why = "possible", f"{ENTITIES[best.code].label} remains close behind"
        else:
            level, why = "unlikely", f"{leading.label} explains the findings better"
    state.fire("CALCINOSIS-LEVEL", f"Calcinosis {level}: {why}.", "[V R76][V R29]")
    return level


def _reason_list(score: EntityScore, limit: int = 4) -> list[str]:
    return score.supporting[:limit]


def _subtypes(state: State, ranked: list[EntityScore]) -> list[dict[str, Any]]:
    f = state.facts
    result: dict[str, dict[str, Any]] = {}
    leading = ranked[0]
    entity = ENTITIES[leading.code]

    def add(code: str, role: str, reasons: list[str], rule_id: str, text: str, source: str) -> None:
        if code in result:
            return
        result[code] = {"code": code, "role": role, "reasons": reasons}
        state.fire(rule_id, text, source)

    if entity.calcinosis != "no" and entity.subtype:
        add(entity.subtype, "primary",
            [f"Leading entity: {entity.label}.", *_reason_list(leading)],
            "SUB-PRIMARY", f"Primary subtype {entity.subtype}, from the leading entity "
                           f"({entity.label}).", "[V R1][S]")
    primary = entity.subtype if entity.calcinosis != "no" else None
    minerals_normal = (f.measured("calcium_total", "phosphate")
                       and f.lab_is("calcium_total", "normal", "low")
                       and f.lab_is("phosphate", "normal", "low"))
    metastatic_reasons = f.mineral_abnormal + ([] if minerals_normal else f.renal_impairment)
    if primary and primary != "metastatic" and metastatic_reasons:
        add("metastatic", "contributing",
            [f"Mixed etiology: {', '.join(metastatic_reasons)}. [S][V R46]"],
            "SUB-MIXED-METASTATIC", "Metastatic contribution: "
            + ", ".join(metastatic_reasons) + ".", "[S][V R46]")
    if primary and primary != "iatrogenic" and f.yes("iv_calcium_at_lesion_site"):
        add("iatrogenic", "contributing",
            ["Mixed etiology: IV calcium was given at this site. [V R14][S]"],
            "SUB-MIXED-IATROGENIC", "Iatrogenic contribution: IV calcium given at this site.",
            "[V R14][S]")
    if primary and entity.alternative_subtype:
        code, reason = entity.alternative_subtype
        text, source = split_source(reason)
        add(code, "alternative", [reason], "SUB-ALTERNATIVE-READING", text, source)
    for other in ranked[1:]:
        other_entity = ENTITIES[other.code]
        if other_entity.calcinosis == "no" or not other_entity.subtype:
            continue
        if other.score < ranked[0].score - ALTERNATIVE_MARGIN or other.score <= 0:
            continue
        add(other_entity.subtype, "alternative",
            [f"Alternative reading: {other_entity.label}.", *_reason_list(other, 3)],
            f"SUB-ALTERNATIVE-{other.code.upper()}",
            f"Alternative subtype {other_entity.subtype}: {other_entity.label} is a close "
            "reading.", "[V R1]")
    roles = {"primary": 0, "contributing": 1, "alternative": 2}
    return sorted(result.values(), key=lambda s: roles[s["role"]])


def _management(state: State, entity: Entity) -> dict[str, Any]:
    f = state.facts
    category = entity.management
    reason_text, reason_source = split_source(entity.management_reason)
    reasons = [f"Default for {entity.label}: {entity.management_reason}"]
    state.fire("MG-DEFAULT", f"Default management for {entity.label}: {reason_text}",
               reason_source)
    options = list(entity.options)

    benign = entity.code in BENIGN_LOCAL and not f.metastatic_evidence
    if benign and category == "watchful_waiting":
        symptomatic = []
        if f.has("pain_limits_walking"):
            symptomatic.append("pain limits walking")
        elif f.painful and f.on_foot:
            symptomatic.append("painful on the foot (pain with footwear)")
        if f.ulcerated:
            symptomatic.append("ulcerated")
        if entity.window and entity.window_kind == "absolute" and f.age > entity.window[1]:
            symptomatic.append(f"persisting at {f.age:g} months, past the expected window")
        if symptomatic:
            category = "treat"
            text = ("Symptomatic or persistent benign calcinosis (" + ", ".join(symptomatic)
                    + "): an active local treatment is indicated.")
            reasons.append(text + " [V R5][S]")
            state.fire("MG-TREAT-SYMPTOMATIC", text, "[V R5][S]")
            options.append("Curettage, shave or excision; topical or intralesional sodium "
                           "thiosulfate (adult evidence only) [S][V R84][V R66].")

    for flag in sorted(state.flags, key=lambda x: ACTION_ORDER[x["action"]]):
        floor = ACTION_TO_MINIMUM_MANAGEMENT.get(flag["action"])
        if floor and MANAGEMENT_RANK[floor] > MANAGEMENT_RANK[category]:
            category = floor
            reasons.append(f"Raised to {floor} by the red flag: {flag['message']} "
                           f"{flag['source']}")
            state.fire("MG-FLAG-FLOOR", f"Management raised to {floor}: no rule may keep it "
                                        "milder than an urgent or refer red flag.", "[M]")
    if any(flag["action"] == "review" for flag in state.flags):
        state.fire("MG-REVIEW-FLAGS", "Review flags are shown first; they ask the clinician to "
                                      "exclude something and do not by themselves change "
                                      "management.", "[M]")
    options.extend(o for o in state.options if o not in options)
    if category != entity.management and category in ("refer", "urgent"):
        # Urgent or referral options first: they are what must happen next.
        options = [o for o in state.options] + [o for o in options if o not in state.options]
    return {"category": category, "options": options, "reasons": reasons}


def _workup(state: State, ranked: list[EntityScore], calcinosis: str, category: str) -> None:
    f = state.facts
    leading = ranked[0].code
    # Only readings close to the leader justify a test to separate them.
    top = [s.code for s in ranked[:5] if s.score >= ranked[0].score - ALTERNATIVE_MARGIN]

    def need(code: str, priority: str, text: str, source: str, rule_id: str) -> None:
        state.fire(rule_id, text, source)
        state.add_workup(code, priority, f"{text} {source}", rule_id)

    ca_p_missing = [a for a in ("calcium_total", "phosphate") if not f.measured(a)]
    missing_words = " and ".join(a.replace("calcium_total", "calcium") for a in ca_p_missing)
    clues = f.systemic_clues
    if ca_p_missing and clues:
        priority = ("essential" if f.yes("renal_disease") or f.yes("hypercalcemia_symptoms")
                    else "recommended")
        need("serum_calcium_phosphate", priority,
             f"No {missing_words} recorded in a child with {', '.join(clues)}.",
             "[S][V R31]", "WU-CA-P-SYSTEMIC")
    elif ca_p_missing and leading in IDIOPATHIC and not (f.on_heel and f.age <= 36):
        need("serum_calcium_phosphate", "consider",
             f"No {missing_words} recorded and no plausible local cause for this idiopathic "
             "reading; idiopathic calcinosis requires normal calcium and phosphate.",
             "[V R1][V R67][M]", "WU-CA-P-NO-CAUSE")
    elif ca_p_missing and any(flag["code"] == "atypical_heel_nodule" for flag in state.flags):
        need("serum_calcium_phosphate", "consider",
             f"No {missing_words} recorded for an atypical heel nodule.", "[M][S]",
             "WU-CA-P-ATYPICAL")
    if not f.measured("creatinine") and (f.mineral_abnormal or f.yes("renal_disease")
                                         or leading == MR):
        why = f.mineral_abnormal or ["renal disease recorded"]
        need("renal_function", "essential" if f.yes("renal_disease") else "recommended",
             f"No creatinine recorded, with {', '.join(why)}.", "[V R30][V R59]",
             "WU-RENAL-FUNCTION")
    abnormal_minerals = [a for a in ("calcium_total", "calcium_ionized", "phosphate")
                         if f.lab_is(a, "high", "low")]
    if abnormal_minerals:
        names = ", ".join(a.replace("_", " ") for a in abnormal_minerals)
        if not f.measured("pth"):
            need("pth", "recommended", f"Abnormal {names}: PTH separates hyperparathyroidism "
                                       "and CKD-MBD from other causes.", "[S]", "WU-PTH")
        if not f.measured("vitamin_d_25oh"):
            need("vitamin_d_25oh", "recommended", f"Abnormal {names}: check vitamin D status "
                                                  "(deficiency or excess).", "[S][V R89]",
                 "WU-VITAMIN-D")
        if f.measured("calcium_total") and not (f.measured("albumin")
                                                or f.measured("calcium_ionized")):
            need("albumin_or_ionised_calcium", "consider",
                 "Total calcium is abnormal and falls with low albumin: add albumin or ionised "
                 "calcium.", "[M]", "WU-ALBUMIN")
    if (f.yes("connective_tissue_disease") or f.yes("ctd_signs")) and not f.measured(
            "creatine_kinase"):
        need("muscle_enzymes", "recommended", "Connective tissue disease or its signs: check "
                                              "muscle enzymes and myositis antibodies.",
             "[V R40][M]", "WU-MYOSITIS")
    if TC in top and f.lab_is("phosphate", "high") and not f.renal_impairment and not (
            f.measured("tubular_reabsorption_phosphate") and f.measured("fgf23_intact")):
        need("trp_fgf23", "recommended", "High phosphate without renal impairment: TRP and FGF23 "
                                         "identify HFTC.", "[V R42][V R43]", "WU-HFTC")
    warts_considered = any(c in top for c in ("verruca_plantaris", "verruca_vulgaris"))
    if f.on_foot and not f.imaging.dermoscopy and warts_considered and calcinosis != "unlikely":
        need("dermoscopy", "consider", "Warts are in the differential: dermoscopy separates "
                                       "them (interrupted skin lines, red-black dots) from "
                                       "calcinosis (white-yellow structureless areas).",
             "[V R53][V R18]", "WU-DERMOSCOPY")
    if f.imaging.xray is None and f.imaging.histology is None:
        if calcinosis == "possible":
            need("xray", "recommended", "Calcinosis is possible but not shown: plain X-ray is "
                                        "sensitive for calcium.", "[V R76]", "WU-XRAY-POSSIBLE")
        elif leading in ("calcium_extravasation_calcinosis", MR, "metastatic_calcinosis_other",
                         "ctd_calcinosis", TC, "calciphylaxis"):
            need("xray", "recommended", "X-ray shows the extent and depth of the deposits (after "
                                        "IV calcium it may turn positive only at 1–3 weeks).",
                 "[V R76][V R13]", "WU-XRAY-EXTENT")
    cyst_or_fat = [c for c in ("epidermal_inclusion_cyst",
                               "precalcaneal_congenital_fibrolipomatous_hamartoma",
                               "pilomatricoma") if c in top]
    if f.imaging.ultrasound is None and cyst_or_fat:
        need("ultrasound", "consider", "Ultrasound separates calcification (shadowing) from a "
                                       "cyst or fat: " + ", ".join(ENTITIES[c].label
                                                                   for c in cyst_or_fat) + ".",
             "[V R48][V R51]", "WU-ULTRASOUND")
    close = len(ranked) > 1 and ranked[1].score >= ranked[0].score - 1
    if (f.imaging.histology is None and close
            and ENTITIES[ranked[0].code].management != ENTITIES[ranked[1].code].management):
        need("biopsy_von_kossa", "consider",
             f"{ENTITIES[ranked[0].code].label} and {ENTITIES[ranked[1].code].label} are close "
             "and are managed differently: histology settles it.", "[S][V R29]", "WU-BIOPSY")
    if f.yes("down_syndrome") and "milia_like_idiopathic_calcinosis_cutis" in top:
        need("examine_eyelids", "consider", "Down syndrome with possible MICC: syringomas "
                                            "coexist in up to a quarter.", "[V R18][V R23]",
             "WU-EYELIDS")

    classic = (leading in BENIGN_LOCAL and calcinosis == "likely" and category in
               ("watchful_waiting", "treat") and not clues and not f.metastatic_evidence
               and not any(flag["action"] in ("urgent", "refer") for flag in state.flags))
    if classic:
        label = ENTITIES[leading].label
        if ca_p_missing and "serum_calcium_phosphate" not in state.workup:
            text = (f"Classic presentation of {label.lower()} with no systemic clue: serum "
                    "calcium and phosphate are expected to be normal and routine labs add "
                    "little.")
            state.not_needed["serum_calcium_phosphate"] = {
                "code": "serum_calcium_phosphate", "reason": f"{text} [V R3][V R67][M]"}
            state.fire("WU-NOT-NEEDED-LABS", text, "[V R3][V R67][M]")
        if (f.imaging.xray is None and f.imaging.ultrasound is None
                and "xray" not in state.workup and "ultrasound" not in state.workup):
            text = "Imaging is not required for a classic presentation."
            state.not_needed["imaging"] = {"code": "imaging", "reason": f"{text} [M]"}
            state.fire("WU-NOT-NEEDED-IMAGING", text, "[M]")


def _course(state: State, ranked: list[EntityScore]) -> dict[str, Any]:
    f = state.facts
    leading = ENTITIES[ranked[0].code]
    text = leading.course
    window: list[float] | None = None
    basis = None
    if leading.window:
        basis = leading.code
        if leading.window_kind == "absolute":
            window = [leading.window[0], leading.window[1]]
        else:
            window = [round(f.onset_age + leading.window[0], 1),
                      round(f.onset_age + leading.window[1], 1)]
    else:
        heel_stick = state.scores[HS]
        if (f.on_heel and heel_stick.supporting
                and heel_stick.score >= ranked[0].score - ALTERNATIVE_MARGIN):
            hs = ENTITIES[HS]
            window = [hs.window[0], hs.window[1]] if hs.window else None
            basis = HS
            text += (" If this is a heel-stick nodule (a close alternative reading), it is "
                     "expected to resolve by 18–30 months of age [V R3].")
    if window and basis == HS and f.age > window[1]:
        text += (f" At {f.age:g} months the child is already past that window: persistence to "
                 "4–7 years is reported, but reconsider the diagnosis [V R5][M].")
    if window:
        state.fire("COURSE-WINDOW", f"Expected resolution between {window[0]:g} and "
                                    f"{window[1]:g} months of age ({ENTITIES[basis].label}).",
                   split_source(ENTITIES[basis].course)[1])
    return {"text": text, "resolution_expected_by_age_months": window, "basis": basis}


def _follow_up(state: State, entity: Entity, category: str,
               course: dict[str, Any]) -> dict[str, Any]:
    if category == "urgent":
        weeks, reason = 0, "Same-day assessment; further follow-up as the specialist directs."
    elif category == "refer":
        weeks = min(entity.follow_up_weeks or 4, 4)
        reason = (f"Review within {weeks} weeks, after the specialist assessment, to check the "
                  "referral happened and the lesion's course.")
    elif category == "treat":
        weeks, reason = 4, "Review 4 weeks after treatment."
    else:
        weeks = entity.follow_up_weeks
        reason = f"Recheck in {weeks} weeks to confirm the expected course of {entity.label}."
        if course["resolution_expected_by_age_months"]:
            reason += (" Resolution expected by "
                       f"{course['resolution_expected_by_age_months'][1]:g} months of age.")
    state.fire("FOLLOW-UP", f"Follow-up in {weeks} weeks ({words(category)}).", "[M]")
    return {"interval_weeks": weeks, "reason": reason + " [M]"}


# --- Output pieces ---------------------------------------------------------------------------

def _labs_output(f: Facts) -> list[dict[str, Any]]:
    rows = []
    for reading in f.labs.values():
        spec = catalog.ANALYTES[reading.analyte]
        row: dict[str, Any] = {
            "analyte": reading.analyte, "label": spec.label, "value": reading.value,
            "unit": reading.unit, "reference_low": reading.low, "reference_high": reading.high,
            "reference_source": reading.source, "flag": reading.flag,
        }
        if reading.unit != spec.canonical_unit:
            row["converted"] = {"value": catalog.rounded(reading.analyte, reading.canonical),
                                "unit": spec.canonical_unit,
                                "conversion_source": spec.conversion_source}
        if reading.lab_interval and reading.builtin is not None:
            b = reading.builtin
            row["age_reference"] = {
                "reference_low": b.low, "reference_high": b.high,
                "unit": spec.canonical_unit, "source": f"{b.source}, {b.age_label}",
                "flag": reading.builtin_flag,
            }
        times = reading.times_upper_limit()
        if reading.age_flag == "high" and times is not None and times >= 2:
            row["times_upper_limit_for_age"] = times
        rows.append(row)
    return rows


def _caxp_output(f: Facts) -> dict[str, Any] | None:
    if f.caxp is None:
        return None
    value = round(f.caxp, 1)
    flag = "high" if f.caxp_high else "above_target" if f.caxp_above_target else "normal"
    return {
        "value_mg2_dl2": value, "value_mmol2_l2": round(f.caxp / (4.008 * 3.097), 2),
        "flag": flag, "threshold": CAXP_HIGH_RISK, "kdoqi_target": f.caxp_target,
        "source": "≥70 mg²/dL² classic threshold [V R2]; KDOQI paediatric target 65 (≤12 y) "
                  "or 55 (>12 y) [V R31]",
    }


def _sources(state: State) -> dict[str, str]:
    cited: set[str] = set()
    tags_seen: set[str] = set()
    for item in state.fired:
        source = item["source"]
        cited.update(references_in(source))
        if "[S]" in source:
            tags_seen.add("S")
        if "[M]" in source:
            tags_seen.add("M")
    result = {code: REFERENCES[code] for code in sorted(cited, key=REFERENCE_ORDER.__getitem__)}
    for tag in sorted(tags_seen):
        result[tag] = EVIDENCE_TAGS[tag]
    return result
