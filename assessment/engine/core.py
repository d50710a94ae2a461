"""Walk the rule tables over one presentation and build the contract output.

Order of work: evidence rules score entities and raise red flags; the leading entity and the
ranked differential follow from the scores; then subtypes, management (never milder than the most
severe urgent or refer flag), workup, expected course and follow-up. Every rule that contributed
is listed in ``rules_fired`` with its sentence and source.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from . import labs as catalog
from . import rules as rules_module
from .facts import CAXP_HIGH_RISK, LAB_NAMES, METASTATIC_CAUSES, Facts
from .gates import GateIndex, gate_of
from .knowledge import ENTITIES, ENTITY_ORDER, PLAUSIBILITY, REFER_TO, Entity, short
from .rulecode import compile_pass
from .rules import (
    EVIDENCE_RULES,
    HS,
    IDIOPATHIC,
    MR,
    RED_FLAG_RULES,
    SITE_BOUND,
    TC,
    Rule,
)
from .sources import EVIDENCE_TAGS, REFERENCE_ORDER, REFERENCES, references_in
from .validation import Findings, validate
from .vocab import (
    ACTION_TO_MINIMUM_MANAGEMENT,
    CONTRACT_VERSION,
    MANAGEMENT_RANK,
    SITES,
    age_words,
    sentence_start,
    words,
)

RULESET_VERSION = "2026.11.3"
ALTERNATIVE_MARGIN = 3.0  # points: an entity this close to the leader is a defensible reading
# The leading entity and at most 8 alternatives: a differential a specialist reads at a glance.
MAX_DIFFERENTIAL = 9
# A finding that moves more than this many entities the same way (radiopaque on X-ray supports
# every calcinosis entity) is stated once under the classification, not under each entity.
SHARED_ENTITY_COUNT = 3
IMPLAUSIBLE_POINTS = -3.0
# An entity outside its age or site window leads only on this much specific evidence (e.g. a
# histology result), never on generic findings.
IMPLAUSIBLE_MAY_LEAD_POINTS = 6.0
# Outside its age window, an entity is listed only on this much specific evidence; outside its
# site window it is listed (after the plausible ones) as a look-alike argued against.
IMPLAUSIBLE_LISTED_POINTS = 3.0
# Options that reassure or hold back: wrong beside an urgent flag or a suspected infection.
CALM_OPTION_STARTS = ("Reassur", "Avoid unnecessary", "Watchful waiting", "Observe",
                      "Expectant management", "Recheck in")
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
    "infection_screen": "CRP, blood count and blood culture (X-ray or MRI when bone may be "
                        "involved)",
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


@lru_cache(maxsize=4096)
def split_source(text: str) -> tuple[str, str]:
    """Separate trailing source tags from a sentence: ("Text.", "[V R3][M]")."""
    tags = "".join(m.group(1) for m in _TAGS.finditer(text))
    return _TAGS.sub("", text).strip(), tags


class EntityScore:
    """An entity's running score and the sentences for and against it (a slotted class: the
    engine makes a dozen per assessment)."""

    __slots__ = ("against", "code", "implausible", "qualified", "score", "specific_points",
                 "supporting", "wrong_age")

    def __init__(self, code: str) -> None:
        self.code = code
        self.score = 0.0
        self.supporting: list[str] = []
        self.against: list[str] = []
        self.qualified = False  # a specific finding, not only generic evidence, points to it
        self.specific_points = 0.0  # points from specific (qualifying) findings for it
        self.implausible = False  # outside the entity's age or site window
        self.wrong_age = False  # outside the entity's age window


class State:
    """What one assessment has found so far (a plain class, not a dataclass: the compiled engine
    declares it as a C struct in core.pxd)."""

    __slots__ = ("cited", "facts", "fired", "fired_ids", "flags", "not_needed", "options",
                 "scores", "shared_against", "shared_for", "workup")

    def __init__(self, facts: Facts, scores: dict[str, EntityScore]) -> None:
        self.facts = facts
        self.scores = scores
        self.fired: list[dict[str, str]] = []
        self.fired_ids: set[str] = set()
        self.flags: list[dict[str, Any]] = []
        self.workup: dict[str, dict[str, Any]] = {}
        self.not_needed: dict[str, dict[str, str]] = {}
        self.options: list[str] = []
        self.shared_for: list[str] = []
        self.shared_against: list[str] = []
        # The references and evidence tags cited so far, as a bit mask (see _sources).
        self.cited = 0

    def fire(self, rule_id: str, text: str, source: str) -> None:
        if rule_id in self.fired_ids:
            return
        self.fired_ids.add(rule_id)
        self.fired.append({"id": rule_id, "text": text, "source": source})
        masks: dict[str, int] = _MASK_OF  # declared: the compiled engine reads it as a dict
        found = masks.get(source)
        self.cited |= _mask(source) if found is None else found

    def add_workup(self, code: str, priority: str, reason: str, rule_id: str) -> None:
        if _already_done(self.facts, code):
            return
        current = self.workup.get(code)
        if current is None:
            self.workup[code] = {"code": code, "what": _workup_what(self.facts, code),
                                 "priority": priority,
                                 "reason": reason, "rule": rule_id}
            return
        if PRIORITY_ORDER[priority] < PRIORITY_ORDER[current["priority"]]:
            current["priority"] = priority
        current["reason"] = join_sourced(current["reason"], reason)


# The analytes each workup item measures: it is asked for only while one is missing.
WORKUP_ANALYTES: dict[str, tuple[str, ...]] = {
    "serum_calcium_phosphate": ("calcium_total", "phosphate"),
    "renal_function": ("creatinine",),
    "pth": ("pth",),
    "vitamin_d_25oh": ("vitamin_d_25oh",),
    "ionised_calcium": ("calcium_ionized",),
    "muscle_enzymes": ("creatine_kinase",),
    "trp_fgf23": ("tubular_reabsorption_phosphate", "fgf23_intact"),
}


def _workup_what(f: Facts, code: str) -> str:
    """The test to order, without what is already recorded."""
    if code == "infection_screen" and "crp" in f.labs:
        return "Blood count and blood culture (CRP is recorded)"
    if code == "trp_fgf23":
        if "tubular_reabsorption_phosphate" in f.labs:
            return "Intact FGF23 (TRP is recorded)"
        if "fgf23_intact" in f.labs:
            return "Tubular reabsorption of phosphate (FGF23 is recorded)"
    return WORKUP_LABELS[code]


def _already_done(f: Facts, code: str) -> bool:
    """Never ask for what was recorded: an X-ray when one is recorded, labs that were measured."""
    imaging = f.imaging
    if code == "xray":
        return imaging.xray is not None
    if code == "ultrasound":
        return imaging.ultrasound is not None
    if code == "imaging":
        return imaging.xray is not None or imaging.ultrasound is not None
    if code == "dermoscopy":
        return bool(imaging.dermoscopy)
    if code == "biopsy_von_kossa":
        return imaging.histology is not None
    if code == "albumin_or_ionised_calcium":
        return "albumin" in f.labs or "calcium_ionized" in f.labs
    analytes = WORKUP_ANALYTES.get(code)
    return analytes is not None and f.measured(*analytes)


def append_sourced(text: str, addition: str) -> str:
    """``text`` and one more sentence, whose tags already cited in ``text`` are not repeated."""
    sentence, tags = split_source(addition)
    cited = set(_TAGS.findall(text))
    new_tags = "".join(tag for tag in _TAGS.findall(tags) if tag not in cited)
    if sentence.endswith("."):
        sentence = sentence[:-1]
    return f"{text} {sentence}" + (f" {new_tags}." if new_tags else ".")


def join_sourced(*parts: str) -> str:
    """Sentences with their tags, joined with each source tag cited once, at the end."""
    texts: list[str] = []
    tags: list[str] = []
    for part in parts:
        text, tag_text = split_source(part)
        if text and text not in texts:
            texts.append(text)
        for tag in _TAGS.findall(tag_text):
            if tag not in tags:
                tags.append(tag)
    return " ".join(texts) + (" " + "".join(tags) if tags else "")


def _is_shared(rule: Rule) -> tuple[bool, bool]:
    """(shared for, shared against): does the rule move many entities the same way?"""
    ups = sum(1 for _, points in rule.scores if points > 0)
    downs = sum(1 for _, points in rule.scores if points < 0)
    return ups > SHARED_ENTITY_COUNT, downs > SHARED_ENTITY_COUNT


_CITED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def _cited(source: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(reference codes, evidence tags) of one source text; a few hundred distinct texts, so
    each is parsed once per process."""
    found = _CITED.get(source)
    if found is None:
        tags = tuple(tag for tag in ("M", "S") if f"[{tag}]" in source)
        found = _CITED[source] = (references_in(source), tags)
    return found


# Each source text cites some references and evidence tags; as a bit mask (bits in reference
# order, then the tags), the sources section of an assessment is the OR of its texts' masks,
# read back a byte at a time through precomputed tables.
_BITS = [*sorted(REFERENCES, key=REFERENCE_ORDER.__getitem__), *sorted(EVIDENCE_TAGS)]
_TEXT_OF = {**REFERENCES, **EVIDENCE_TAGS}
_BIT_OF = {code: 1 << index for index, code in enumerate(_BITS)}
_BYTES = [(8 * chunk, [tuple(code for bit, code in enumerate(_BITS[8 * chunk: 8 * chunk + 8])
                             if byte >> bit & 1) for byte in range(256)])
          for chunk in range((len(_BITS) + 7) // 8)]
_TABLES = [table for _, table in _BYTES]
_MASK_OF: dict[str, int] = {}


def _mask(source: str) -> int:
    refs, tags = _cited(source)
    mask = 0
    for code in (*refs, *tags):
        mask |= _BIT_OF[code]
    _MASK_OF[source] = mask
    return mask


class Compiled:
    """A rule prepared once for the loop: its static sentence with its source, its points split
    by sign and whether its sentence is shared (stated once under the classification)."""

    __slots__ = (
        "acts",
        "downs",
        "entry",
        "flag",
        "gate",
        "id",
        "mask",
        "option",
        "qualifies",
        "refer_to",
        "rule",
        "sentence",
        "shared_against",
        "shared_for",
        "source",
        "static",
        "text",
        "ups",
        "when",
        "workup",
    )

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.id = rule.id
        self.source = rule.source
        self.mask = _mask(rule.source)  # what its source cites, for the sources section
        self.when = rule.when
        # The condition's first fact: when it is absent the condition is not called (gates.py).
        self.gate = rule.gate or gate_of(rule.when)
        self.text = rule.text
        self.static = None if callable(rule.text) else rule.text
        self.sentence = None if self.static is None else f"{self.static} {rule.source}"
        self.shared_for, self.shared_against = _is_shared(rule)
        self.ups = tuple((e, p) for e, p in rule.scores if p > 0)
        self.downs = tuple((e, p) for e, p in rule.scores if p < 0)
        self.qualifies = rule.qualifies
        self.flag = rule.flag
        self.refer_to = rule.refer_to
        self.workup = rule.workup
        self.option = rule.option
        self.acts = bool(rule.flag or rule.workup or rule.option)
        # Its line in rules_fired; the text is the static sentence or, for a sentence that
        # quotes the findings, replaced when it fires (_apply).
        self.entry = {"id": rule.id, "text": self.static, "source": rule.source}


def _run(state: State, rules: tuple[Compiled, ...] | list[Compiled]) -> None:
    """Apply each rule whose condition holds, in table order (the interpreted twin of the
    generated passes in rulecode.py)."""
    f = state.facts
    for c in rules:
        if not c.when(f):
            continue
        text = c.static
        if text is None:
            text = c.text(f)  # type: ignore[operator]
            _apply(state, c, text, f"{text} {c.source}")
        else:
            _apply(state, c, text, c.sentence)  # type: ignore[arg-type]


def _apply(state: State, c: Compiled, text: str, sentence: str) -> None:
    """What a fired rule writes: its line in rules_fired, its sources, its points for and
    against entities, and its red flag, workup item or option. Called by the generated passes
    too: in the compiled engine this loop runs as C, where the passes' conditions do not gain."""
    state.cited |= c.mask
    # Rule ids and the engine's own step ids (state.fire) never share a prefix, and each rule
    # is walked once per assessment, so no duplicate check is needed here.
    # A copy of the rule's prepared line, not a dict built key by key (a copy of a small dict
    # is one allocation and a memcpy); a sentence that quotes the findings replaces the text.
    entry = c.entry.copy()
    if c.static is None:
        entry["text"] = text
    state.fired.append(entry)
    scores = state.scores
    # Declared, so that the compiled engine reads and writes the score's fields directly and
    # adds the points as C doubles (the score's fields are doubles already: core.pxd).
    score: EntityScore | None
    points: float
    if c.ups:
        shared = c.shared_for
        if shared:
            state.shared_for.append(sentence)
        qualifies = c.qualifies
        for entity, points in c.ups:
            score = scores.get(entity)
            if score is None:
                score = scores[entity] = EntityScore(entity)
            score.score += points
            if not shared:
                score.supporting.append(sentence)
            if qualifies:
                score.qualified = True
                score.specific_points += points
    if c.downs:
        shared = c.shared_against
        if shared and not c.shared_for:
            # A finding for calcium is against the mimics by implication: stated once.
            state.shared_against.append(sentence)
        for entity, points in c.downs:
            score = scores.get(entity)
            if score is None:
                score = scores[entity] = EntityScore(entity)
            score.score += points
            if not shared:
                score.against.append(sentence)
    if c.acts:
        _act(state, c, text, sentence)


def _act(state: State, c: Compiled, text: str, sentence: str) -> None:
    """A fired rule's red flag, workup item and management option."""
    if c.flag:
        code, action = c.flag
        flag = {"code": code, "message": text, "action": action, "source": c.source,
                "rule": c.id}
        if c.refer_to is not None:
            flag["refer_to"] = c.refer_to(state.facts) if callable(c.refer_to) else c.refer_to
        state.flags.append(flag)
    if c.workup:
        code, priority = c.workup
        state.add_workup(code, priority, sentence, c.id)
    if c.option and c.option not in state.options:
        state.options.append(c.option)


def _plausibility(state: State) -> None:
    """Argue against each listed entity outside its age or site window, saying so."""
    f = state.facts
    scores = state.scores
    for code, window in PLAUSIBILITY.items():  # dict order: the output stays byte-identical
        score = scores.get(code)
        if score is None or not score.qualified:
            continue
        reasons = []
        if window.ages is not None and not window.ages[0] <= f.age <= window.ages[1]:
            reasons.append(("AGE", f"Age {age_words(f.age)}: {window.age_text}."))
        if window.sites is not None and f.site not in window.sites:
            reasons.append(("SITE", f"Site {words(f.site)}: {window.site_text}."))
        for kind, text in reasons:
            score.score += IMPLAUSIBLE_POINTS
            score.against.append(f"{text} {window.source}")
            score.implausible = True
            if kind == "AGE":
                score.wrong_age = True
                if score.specific_points < IMPLAUSIBLE_LISTED_POINTS:
                    # Outside its age window on weak evidence: not a reading for this child.
                    score.qualified = False
                    continue
            state.fire(f"PL-{kind}-{score.code.upper().replace('_', '-')}", text, window.source)


def _ranked(state: State) -> list[EntityScore]:
    """The considered entities: those on weak evidence outside their window last, then by
    score, then in table order. Sorted as (demoted, -score, table order, row) tuples built in
    one loop, not through a key function called per row; the table order is unique, so rows
    are never compared."""
    keyed = []
    score: EntityScore
    for score in state.scores.values():
        if score.qualified:
            demoted = (score.implausible
                       and score.specific_points < IMPLAUSIBLE_MAY_LEAD_POINTS)
            keyed.append((demoted, -score.score, ENTITY_ORDER[score.code], score))
    keyed.sort()
    return [row[3] for row in keyed]


def assess_findings(findings: Findings) -> dict[str, Any]:
    f = Facts(findings)
    # Entities get a score row when a rule first moves them (most never are).
    state = State(facts=f, scores={})
    if RUN_EARLY is None:
        _run(state, GATE_INDEX[f.site].candidates(f))
    else:
        RUN_EARLY(state, f)
    _plausibility(state)

    ranked = _ranked(state)
    if ranked:
        f.leader = ranked[0].code
    if RUN_LATE is None:
        _run(state, LATE_FLAG_RULES)
    else:
        RUN_LATE(state, f)
    if not ranked:
        fallback = state.scores.setdefault("idiopathic_calcinosis_cutis",
                                           EntityScore("idiopathic_calcinosis_cutis"))
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
        # Findings that bear on calcium itself (imaging, histology, consistency): stated once
        # here, not under every entity they move.
        "calcinosis_reasons": {"for": state.shared_for, "against": state.shared_against},
        "subtypes": subtypes,
        "leading_entity": {"code": entity.code, "label": entity.label,
                           "reasons": list(leading.supporting),
                           "against": list(leading.against)},
        "differential": _differential(ranked),
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


EARLY_FLAG_RULES = tuple(rule for rule in RED_FLAG_RULES if not rule.late)
COMPILED = {rule.id: Compiled(rule) for rule in (*EVIDENCE_RULES, *RED_FLAG_RULES)}
# Evidence and early flag rules in table order, per site: rules bound to other sites
# (rules.SITE_BOUND) cannot fire there and are skipped.
RULES_BY_SITE = {
    site: tuple(COMPILED[rule.id] for rule in (*EVIDENCE_RULES, *EARLY_FLAG_RULES)
                if rule.id not in SITE_BOUND or site in SITE_BOUND[rule.id])
    for site in SITES
}
LATE_FLAG_RULES = tuple(COMPILED[rule.id] for rule in RED_FLAG_RULES if rule.late)
GATE_INDEX = {site: GateIndex(rules, site) for site, rules in RULES_BY_SITE.items()}
# The same two passes as generated straight-line code (rulecode.py); None keeps the loop above.
RUN_EARLY = compile_pass((COMPILED[rule.id] for rule in (*EVIDENCE_RULES, *EARLY_FLAG_RULES)),
                         rules_module, SITE_BOUND, _apply, "run_early_rules")
RUN_LATE = compile_pass(LATE_FLAG_RULES, rules_module, SITE_BOUND, _apply, "run_late_rules")


def assess(data: Any) -> dict[str, Any]:
    """Contract input in, contract output out; raises InvalidInput on bad input."""
    return assess_findings(validate(data))


# --- Interpretation --------------------------------------------------------------------------

# Histology that names a mimic: what is radiopaque is bone, keratin or fat, not calcinosis.
MIMIC_HISTOLOGY = ("bone", "epidermal_cyst", "fibroadipose_tissue")


def _calcinosis_level(state: State, ranked: list[EntityScore]) -> str:
    f = state.facts
    leading = ENTITIES[ranked[0].code]
    if leading.code == "calciphylaxis" and f.ischaemic_signs and f.renal_impairment:
        level, why = "likely", ("calciphylaxis calcifies small vessels: "
                                + ", ".join(f.ischaemic_signs) + " with renal impairment")
    elif leading.calcinosis == "secondary":
        level, why = "secondary", "the leading entity is calcified as part of another lesion"
    elif leading.calcinosis == "yes":
        negative_xray = f.imaging.xray == "no_calcification" and not f.calcium_shown
        if (f.calcium_shown or f.calcium_clinical) and not negative_xray:
            shown = f.calcium_shown or ["a white-yellow, firm-to-hard lesion"]
            level, why = "likely", "calcium is supported by " + ", ".join(shown)
        else:
            level, why = "possible", "no objective sign of calcium is recorded yet"
    elif f.imaging.histology in MIMIC_HISTOLOGY:
        level, why = "unlikely", (f"histology shows {words(f.imaging.histology)}, "
                                  f"{short(leading.code)}")
    elif f.calcium_shown:
        level, why = "possible", (f"{sentence_start(short(leading.code))} leads, but "
                                  + ", ".join(f.calcium_shown) + " shows calcium")
    else:
        level, why = "unlikely", f"{sentence_start(short(leading.code))} explains the findings"
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
    minerals_normal = (("calcium_total" in f.labs and "phosphate" in f.labs)
                       and f.lab_is("calcium_total", "normal", "low")
                       and f.lab_is("phosphate", "normal", "low"))
    metastatic_reasons = f.mineral_abnormal + ([] if minerals_normal else f.renal_impairment)
    if primary and primary != "metastatic" and metastatic_reasons:
        add("metastatic", "contributing",
            [f"Mixed aetiology: {', '.join(metastatic_reasons)}. [V R1][S]"],
            "SUB-MIXED-METASTATIC", "Metastatic contribution: "
            + ", ".join(metastatic_reasons) + ".", "[V R1][S]")
    if primary and primary != "iatrogenic" and f.yes("iv_calcium_at_lesion_site"):
        add("iatrogenic", "contributing",
            ["Mixed aetiology: IV calcium was given at this site. [V R14][S]"],
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


INFECTION_FLAGS = ("suspected_abscess_or_osteomyelitis", "possible_abscess", "exclude_infection")


def _symptoms(f: Facts, entity: Entity) -> list[str]:
    found = []
    if f.has("pain_limits_walking"):
        found.append("pain limits walking")
    elif f.painful and f.on_foot:
        found.append("painful on the foot")
    elif f.painful:
        found.append("painful or tender")
    if f.ulcerated and entity.code in BENIGN_LOCAL:
        found.append("ulcerated")
    if (entity.window and entity.window_kind == "absolute" and f.age > entity.window[1]
            and entity.code in BENIGN_LOCAL):
        found.append(f"persisting at {age_words(f.age)}, past the expected window")
    return found


@lru_cache(maxsize=256)
def _specialty_word(specialty: str) -> str:
    """The word that names a specialty in an option ("nephrology", "excision")."""
    return specialty.split(" (")[0].split(";")[0].split("/")[0].split()[-1].lower()


def _one_per_specialty(specialties: list[str]) -> list[str]:
    """"paediatric nephrology (same day)" and "paediatric nephrology" are one referral: keep the
    fuller wording, in the order first named."""
    kept: dict[str, str] = {}
    for text in specialties:
        key = text.split(" (")[0].split(";")[0].split("/")[0]
        if key not in kept or len(text) > len(kept[key]):
            kept[key] = text
    return list(dict.fromkeys(kept.values()))


def _distinct(options: list[str]) -> list[str]:
    """One option per action: of options opening with the same words before the colon (two
    "Same-day assessment: ..." from a flag and the entity card), keep the fuller one."""
    kept: dict[str, str] = {}
    for option in options:
        head = option.split(":", 1)[0].lower() if ":" in option else option
        if head not in kept or len(option) > len(kept[head]):
            kept[head] = option
    chosen = set(kept.values())
    return [option for option in options if option in chosen]


def _management(state: State, entity: Entity) -> dict[str, Any]:
    f = state.facts
    category = entity.management
    reason_text, reason_source = split_source(entity.management_reason)
    reasons = [f"{entity.label}: {entity.management_reason}"]
    state.fire("MG-DEFAULT", f"Default management for {short(entity.code)}: {reason_text}",
               reason_source)
    options = list(entity.options)
    known_causes = f.any_yes(METASTATIC_CAUSES)
    if entity.code == "metastatic_calcinosis_other" and known_causes:
        # The cause is recorded: treat it, rather than look for it.
        options = [f"Paediatric endocrinology: treat the recorded cause "
                   f"({', '.join(words(k) for k in known_causes)}) and its hypercalcaemia "
                   "[S][M]."]
    infection = any(flag["code"] in INFECTION_FLAGS for flag in state.flags)

    # Only what has an active treatment is escalated for symptoms (a tender haematoma is not).
    benign = (category == "watchful_waiting" and not f.metastatic_evidence and not infection
              and (entity.code in BENIGN_LOCAL or bool(entity.active_option)))
    symptomatic = _symptoms(f, entity) if benign else []
    if symptomatic:
        category = "treat"
        if entity.code in BENIGN_LOCAL:
            text = ("Symptomatic or persistent benign calcinosis (" + ", ".join(symptomatic)
                    + "): an active local treatment is indicated.")
            source = "[V R5][S]"
            active = entity.active_option or (
                "Curettage, shave or excision; topical or intralesional sodium thiosulfate "
                "(adult evidence only) [S][V R84][V R66].")
        else:
            text = (f"Symptomatic {short(entity.code)} (" + ", ".join(symptomatic)
                    + "): treat it rather than wait.")
            source = "[M]"
            active = entity.active_option
        reasons.append(f"{text} {source}")
        state.fire("MG-TREAT-SYMPTOMATIC", text, source)
        if active and active not in options:
            options.insert(0, active)

    for flag in sorted(state.flags, key=lambda x: ACTION_ORDER[x["action"]]):
        floor = ACTION_TO_MINIMUM_MANAGEMENT.get(flag["action"])
        if floor and MANAGEMENT_RANK[floor] > MANAGEMENT_RANK[category]:
            category = floor
            reasons.append(f"{sentence_start(words(floor))}, because of the red flag: "
                           f"{flag['message']} "
                           f"{flag['source']}")
            state.fire("MG-FLAG-FLOOR", f"Management raised to {words(floor)}: no rule may "
                                        "keep it milder than an urgent or refer red flag.", "[M]")
    if any(flag["action"] == "review" for flag in state.flags):
        state.fire("MG-REVIEW-FLAGS", "Review flags are shown first; they ask the clinician to "
                                      "exclude something and do not by themselves change "
                                      "management.", "[M]")
    options.extend(o for o in state.options if o not in options)
    raised = MANAGEMENT_RANK[category] > MANAGEMENT_RANK[entity.management]
    if category == "urgent" or infection or (raised and category == "refer"):
        # Reassurance and "wait" options do not belong beside an urgent flag, a suspected
        # infection or a referral the findings demand.
        options = [o for o in options if not o.startswith(CALM_OPTION_STARTS)]
    if raised and category in ("refer", "urgent"):
        # Urgent or referral options first: they are what must happen next.
        options = ([o for o in state.options if o in options]
                   + [o for o in options if o not in state.options])
    result: dict[str, Any] = {"category": category, "options": options, "reasons": reasons}
    if category in ("refer", "urgent"):
        specialties = [flag["refer_to"] for flag in
                       sorted(state.flags, key=lambda x: ACTION_ORDER[x["action"]])
                       if flag.get("refer_to") and flag["action"] in ("urgent", "refer")]
        if entity.code in REFER_TO and entity.management in ("refer", "urgent"):
            specialties.append(REFER_TO[entity.code])
        result["refer_to"] = _one_per_specialty(specialties)
        # A referral no option names yet gets its own line.
        # The options as one text, searched once per referral: a specialty word has no space,
        # so it cannot match across the " | " between two options.
        lowered = " | ".join(options).lower()
        unnamed = [sp for sp in result["refer_to"] if _specialty_word(sp) not in lowered]
        if unnamed:
            options.append(f"Refer to {' and '.join(unnamed)} [M].")
    if not options:
        options.append("Act on the red flags above first [M].")
    result["options"] = _distinct(options)
    return result


def _workup(state: State, ranked: list[EntityScore], calcinosis: str, category: str) -> None:
    f = state.facts
    leading = ranked[0].code
    # Only readings close to the leader justify a test to separate them.
    top = [s.code for s in ranked[:5] if s.score >= ranked[0].score - ALTERNATIVE_MARGIN]

    def need(code: str, priority: str, text: str, source: str, rule_id: str) -> None:
        state.fire(rule_id, text, source)
        state.add_workup(code, priority, f"{text} {source}", rule_id)

    ca_p_missing = [a for a in ("calcium_total", "phosphate") if a not in f.labs]
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
    if "creatinine" not in f.labs and (f.mineral_abnormal or f.yes("renal_disease")
                                         or leading == MR):
        why = f.mineral_abnormal or ["renal disease recorded"]
        need("renal_function", "recommended",
             f"No creatinine recorded, with {', '.join(why)}.", "[V R30][V R59]",
             "WU-RENAL-FUNCTION")
    abnormal_minerals = [a for a in ("calcium_total", "calcium_ionized", "phosphate")
                         if f.lab_is(a, "high", "low")]
    if abnormal_minerals:
        names = ", ".join(LAB_NAMES[a] for a in abnormal_minerals)
        if "pth" not in f.labs:
            need("pth", "recommended", f"Abnormal {names}: PTH helps find the cause "
                                       "(parathyroid, renal or vitamin D).", "[S]", "WU-PTH")
        if "vitamin_d_25oh" not in f.labs:
            need("vitamin_d_25oh", "recommended", f"Abnormal {names}: check vitamin D status "
                                                  "(deficiency or excess).", "[S][V R89]",
                 "WU-VITAMIN-D")
        if f.lab_is("calcium_total", "high", "low") and not ("albumin" in f.labs
                                                             or "calcium_ionized" in f.labs):
            need("albumin_or_ionised_calcium",
                 "essential" if ("calcium_total", "low") in f.critical
                 or ("calcium_total", "high") in f.critical else "consider",
                 "Total calcium is abnormal and falls with low albumin: add albumin or ionised "
                 "calcium.", "[M]", "WU-ALBUMIN")
    if ((f.yes("connective_tissue_disease") or f.yes("ctd_signs"))
            and "creatine_kinase" not in f.labs):
        need("muscle_enzymes", "recommended", "Connective tissue disease or its signs: check "
                                              "muscle enzymes and myositis antibodies.",
             "[V R40][M]", "WU-MYOSITIS")
    if TC in top and f.lab_is("phosphate", "high") and not f.renal_impairment and not (
            "tubular_reabsorption_phosphate" in f.labs and "fgf23_intact" in f.labs):
        need("trp_fgf23", "recommended", "High phosphate without renal impairment: TRP and FGF23 "
                                         "identify HFTC.", "[V R42][V R43]", "WU-HFTC")
    warts_considered = any(c in top for c in ("verruca_plantaris", "verruca_vulgaris"))
    if (f.on_foot and not f.imaging.dermoscopy and warts_considered and calcinosis != "unlikely"
            and f.imaging.histology is None):
        need("dermoscopy", "consider", "Warts are in the differential: dermoscopy separates "
                                       "them (interrupted skin lines, red-black dots) from "
                                       "calcinosis (white-yellow structureless areas).",
             "[V R53][V R18]", "WU-DERMOSCOPY")
    if f.imaging.xray is None and f.imaging.histology is None:
        if calcinosis == "possible" and leading != "subcutaneous_fat_necrosis_with_hypercalcemia":
            need("xray", "recommended", "Calcinosis is possible but not shown: plain X-ray is "
                                        "sensitive for calcium.", "[V R76]", "WU-XRAY-POSSIBLE")
        elif leading in ("calcium_extravasation_calcinosis", MR, "metastatic_calcinosis_other",
                         "ctd_calcinosis", TC, "calciphylaxis"):
            text = "X-ray shows the extent and depth of the deposits"
            text += (" (after IV calcium it may turn positive only at 1–3 weeks)."
                     if f.yes("iv_calcium_received") else ".")
            need("xray", "recommended", text, "[V R76][V R13]" if f.yes("iv_calcium_received")
                 else "[V R76]", "WU-XRAY-EXTENT")
    cyst_or_fat = [c for c in ("epidermal_inclusion_cyst",
                               "precalcaneal_congenital_fibrolipomatous_hamartoma",
                               "pilomatricoma") if c in top]
    if f.imaging.ultrasound is None and f.imaging.histology is None and cyst_or_fat:
        need("ultrasound", "consider", "Ultrasound separates calcification (shadowing) from "
                                       + " or ".join(short(c) for c in cyst_or_fat) + ".",
             "[V R48][V R51]", "WU-ULTRASOUND")
    close = len(ranked) > 1 and ranked[1].score >= ranked[0].score - 1
    if (f.imaging.histology is None and close and calcinosis != "unlikely"
            and category != "urgent"
            and ENTITIES[ranked[0].code].management != ENTITIES[ranked[1].code].management):
        need("biopsy_von_kossa", "consider",
             f"{ENTITIES[ranked[0].code].label} and {ENTITIES[ranked[1].code].label} are close "
             "and are managed differently: histology settles it.", "[S][V R29]", "WU-BIOPSY")
    if (f.yes("down_syndrome") and "milia_like_idiopathic_calcinosis_cutis" in top
            and f.site != "eyelid"):
        need("examine_eyelids", "consider", "Down syndrome with possible MICC: syringomas "
                                            "coexist in up to a quarter.", "[V R18][V R23]",
             "WU-EYELIDS")

    # Not after IV calcium: it was given for low calcium, which is followed anyway.
    classic = (leading in BENIGN_LOCAL and calcinosis == "likely" and category in
               ("watchful_waiting", "treat") and not clues and not f.metastatic_evidence
               and not f.yes("iv_calcium_received")
               and not any(flag["action"] in ("urgent", "refer") for flag in state.flags))
    if classic:
        name = short(leading)
        if ca_p_missing and "serum_calcium_phosphate" not in state.workup:
            text = (f"Classic presentation of {name} with no systemic clue: serum calcium and "
                    "phosphate are expected to be normal and routine labs add little.")
            source = "[V R3][V R67][M]" if leading == HS else "[V R67][M]"
            state.not_needed["serum_calcium_phosphate"] = {
                "code": "serum_calcium_phosphate", "reason": f"{text} {source}"}
            state.fire("WU-NOT-NEEDED-LABS", text, source)
        if (f.imaging.xray is None and f.imaging.ultrasound is None
                and "xray" not in state.workup and "ultrasound" not in state.workup):
            text = "Imaging is not required for a classic presentation."
            state.not_needed["imaging"] = {"code": "imaging", "reason": f"{text} [M]"}
            state.fire("WU-NOT-NEEDED-IMAGING", text, "[M]")


def _course(state: State, ranked: list[EntityScore]) -> dict[str, Any]:
    """The leading entity's course; an alternative's window is mentioned as the alternative's,
    and a window already behind the child is not offered as an expectation."""
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
        if leading.window_kind == "absolute" and f.age > window[1]:
            text = append_sourced(
                text, f"At {age_words(f.age)} the child is already past that window"
                + (": persistence to 4–7 years is reported, but reconsider the diagnosis "
                   "[V R5][M]." if leading.code == HS else ": reconsider the diagnosis [M]."))
            window = None
    else:
        heel_stick = state.scores.get(HS)
        hs = ENTITIES[HS]
        if (f.on_heel and heel_stick is not None and heel_stick.qualified and hs.window
                and f.age <= hs.window[1]
                and heel_stick.score >= ranked[0].score - ALTERNATIVE_MARGIN):
            text = append_sourced(
                text, "If this is a heel-stick nodule (the alternative reading), it is expected "
                "to resolve by 18–30 months of age [V R3].")
    if window:
        state.fire("COURSE-WINDOW", f"Expected resolution between {age_words(window[0])} and "
                                    f"{age_words(window[1])} of age ({short(leading.code)}).",
                   split_source(leading.course)[1])
    return {"text": text, "resolution_expected_by_age_months": window, "basis": basis}


def _follow_up(state: State, entity: Entity, category: str,
               course: dict[str, Any]) -> dict[str, Any]:
    if category == "urgent":
        weeks, reason = 0, "Same-day assessment; further follow-up as the specialist directs."
    elif category == "refer":
        weeks = min(entity.follow_up_weeks or 4, 4)
        reason = (f"Review within {weeks} weeks to check that the referral happened and how "
                  "the lesion is doing.")
    elif category == "treat":
        weeks, reason = 4, "Review 4 weeks after treatment."
    else:
        weeks = entity.follow_up_weeks
        if entity.window:
            reason = (f"Recheck in {weeks} weeks to confirm the expected course of "
                      f"{short(entity.code)}.")
        else:
            reason = f"Recheck in {weeks} weeks to check the lesion's course."
        if course["resolution_expected_by_age_months"]:
            reason += (" Resolution expected by "
                       f"{age_words(course['resolution_expected_by_age_months'][1])} of age.")
    state.fire("FOLLOW-UP", f"Follow-up in {weeks} weeks ({words(category)}).", "[M]")
    return {"interval_weeks": weeks, "reason": reason + " [M]"}


# --- Output pieces ---------------------------------------------------------------------------

_LABEL_OF: dict[str, str] = {code: entity.label for code, entity in ENTITIES.items()}


def _differential(ranked: list[EntityScore]) -> list[dict[str, Any]]:
    """The leading entity and the alternatives, each with its reasons for and against. A loop
    over declared rows, so that the compiled engine reads their fields directly."""
    rows = []
    labels: dict[str, str] = _LABEL_OF
    score: EntityScore
    for rank, score in enumerate(ranked[:MAX_DIFFERENTIAL], 1):
        rows.append({"code": score.code, "label": labels[score.code], "rank": rank,
                     "for": list(score.supporting), "against": list(score.against)})
    return rows


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
        if reading.age_flag == "high":  # before the ratio: rounding it is the costly part
            times = reading.times_upper_limit()
            if times is not None and times >= 2:
                row["times_upper_limit_for_age"] = times
        rows.append(row)
    return rows


def _caxp_output(f: Facts) -> dict[str, Any] | None:
    if f.caxp is None:
        return None
    value = round(f.caxp, 1)
    flag = ("high" if f.caxp >= CAXP_HIGH_RISK else "above_target" if f.caxp > f.caxp_target
            else "normal")
    result = {
        "value_mg2_dl2": value, "value_mmol2_l2": round(f.caxp / (4.008 * 3.097), 2),
        "flag": flag, "threshold": CAXP_HIGH_RISK, "kdoqi_target": f.caxp_target,
        "source": "≥70 mg²/dL² classic threshold [V R2]; KDOQI paediatric target 65 (≤12 y) "
                  "or 55 (>12 y) [V R31]",
    }
    if flag != "normal" and not f.caxp_relevant:
        result["note"] = ("Not read as a risk: calcium and phosphate are within the intervals "
                          "for age and renal function is not impaired (infants' normal values "
                          "give a high product). [V R31][V R57]")
    return result


def _sources(state: State) -> dict[str, str]:
    # Every text in rules_fired was OR-ed into state.cited as it fired (State.fire, _run). Its
    # bytes in one call, rather than a shift and a mask (two new integers) per byte.
    raw: bytes = state.cited.to_bytes(len(_TABLES), "little")
    text = _TEXT_OF
    section: dict[str, str] = {}
    for index in range(len(raw)):
        byte = raw[index]
        if byte:
            for code in _TABLES[index][byte]:
                section[code] = text[code]
    return section
