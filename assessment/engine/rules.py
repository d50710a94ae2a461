"""The rule table.

Each rule is a row: an id, a source tag from KNOWLEDGE.md, a condition on the facts, a sentence a
clinician reads (quoting the findings that made it fire) and its effects: points for or against
entities, a red flag, a workup item, a management floor, or a subtype. The engine only walks the
table; the clinical content lives here.

Points are log-odds-like weights: a strong, specific finding is worth 3–6, a supportive one 1–2,
and a finding that lowers but does not exclude is -1 or -2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import labs as catalog
from .facts import (
    HEEL_STICK_WINDOW,
    LOCAL_CAUSES,
    METASTATIC_CAUSES,
)
from .knowledge import CALCINOSIS_ENTITIES, ENTITIES, MIMIC_ENTITIES
from .vocab import age_words, sentence_start, words

if TYPE_CHECKING:
    from .facts import CriticalValue, Facts

Text = str | Callable[["Facts"], str]


@dataclass(frozen=True)
class Rule:
    id: str
    source: str
    when: Callable[[Facts], bool]
    text: Text
    scores: tuple[tuple[str, float], ...] = ()
    flag: tuple[str, str] | None = None  # (code, action)
    workup: tuple[str, str] | None = None  # (code, priority)
    not_needed: str | None = None  # workup code that is not needed, with the reason
    management: str | None = None  # a floor for the management category
    option: str | None = None  # a management option this rule adds
    # False for generic evidence (e.g. "radiopaque": supports every calcinosis entity): it
    # moves scores but does not by itself put an entity in the differential.
    qualifies: bool = True
    # The specialty a refer flag sends the child to (a callable when it depends on the facts).
    refer_to: str | Callable[[Facts], str] | None = None
    # Evaluated after ranking, with ``facts.leader`` set (a flag that depends on the reading).
    late: bool = False
    # A fact the condition needs, declared where gates.gate_of cannot read it off the condition
    # (a closure): ("lab", analyte) means the rule cannot fire unless the analyte is measured.
    gate: tuple[str, str] | None = None

    def sentence(self, facts: Facts) -> str:
        """The rule's sentence for these facts, without its source tag."""
        return self.text(facts) if callable(self.text) else self.text


def each(entities: tuple[str, ...], points: float) -> tuple[tuple[str, float], ...]:
    return tuple((entity, points) for entity in entities)


def _num(value: float | None) -> str:
    return "unknown" if value is None else f"{value:g}"


HS = "calcified_heel_stick_nodule"
EX = "calcium_extravasation_calcinosis"
EP = "electrode_paste_calcinosis"
IO = "iatrogenic_calcinosis_other"
MICC = "milia_like_idiopathic_calcinosis_cutis"
SCN = "subepidermal_calcified_nodule"
DT = "dystrophic_calcinosis_post_traumatic"
MR = "metastatic_calcinosis_renal_failure"
MO = "metastatic_calcinosis_other"
CP = "calciphylaxis"
CTD = "ctd_calcinosis"
TC = "tumoral_calcinosis"
SCFN = "subcutaneous_fat_necrosis_with_hypercalcemia"
ICC = "idiopathic_calcinosis_cutis"
PM = "pilomatricoma"
OC = "osteoma_cutis"
VP = "verruca_plantaris"
VV = "verruca_vulgaris"
EIC = "epidermal_inclusion_cyst"
MC = "molluscum_contagiosum"
MI = "milia"
CH = "cutaneous_horn"
PCFH = "precalcaneal_congenital_fibrolipomatous_hamartoma"
PPP = "piezogenic_pedal_papules"
CC = "callus_corn"
FBG = "foreign_body_granuloma"
CELL = "cellulitis_abscess"
OM = "osteomyelitis"
HEM = "hematoma"
PHL = "infusion_phlebitis"
SYR = "syringoma"

TRUE_CALCINOSIS = tuple(e for e in CALCINOSIS_ENTITIES if e != PM)
IDIOPATHIC = (SCN, MICC, ICC)


def _site_words(f: Facts) -> str:
    where = words(f.site)
    if f.lesion.heel_subsite:
        where = f"{words(f.lesion.heel_subsite)} {where}"
    if f.lesion.laterality == "bilateral":
        return f"both {where}s" if f.site == "heel" else f"{where} on both sides"
    if f.lesion.laterality in ("left", "right"):
        where = f"{f.lesion.laterality} {where}"
    return where


def _no_cause(f: Facts) -> bool:
    return f.no_cause


def _no_cause_text(f: Facts) -> str:
    unknown = [words(k) for k in ("local_trauma_at_site", "iv_calcium_received",
                                  "renal_disease") if f.unknown(k)]
    if unknown:
        return ("No local injury, procedure or metabolic disorder is recorded, but "
                + ", ".join(unknown) + " " + ("is" if len(unknown) == 1 else "are")
                + " not answered: idiopathic only once these are excluded.")
    return "No local injury, procedure or metabolic disorder is recorded: idiopathic by exclusion."


def _onset_words(f: Facts) -> str:
    return "at birth" if f.onset_age < 1 / 30 else f"at about {age_words(f.onset_age)}"


def _in_window(f: Facts) -> bool:
    low, high = HEEL_STICK_WINDOW
    return low <= f.onset_age <= high


_PLANTAR = ("heel", "sole", "toe")


def _wart_signs(f: Facts) -> bool:
    return f.wart_signs


def _papular(f: Facts) -> bool:
    return f.papular


def _infection_urgent(f: Facts) -> bool:
    """Urgent: a threat to life or limb. Inflammation with fever at any age (sepsis,
    osteomyelitis); in an infant, fluctuance, a raised CRP or an inflamed heel soon after
    neonatal heel pricks as well [V R10]."""
    if not f.inflammation:
        return False
    if f.yes("fever"):
        return True
    return f.age < 12 and (f.lesion.consistency == "fluctuant" or f.lab_is("crp", "high")
                           or (f.on_heel and f.age < 3))


def _infection_local(f: Facts) -> bool:
    """An older child's fluctuant or CRP-raised inflamed lesion without fever: drainage or
    antibiotics soon, not an emergency."""
    return (bool(f.inflammation) and not _infection_urgent(f)
            and (f.lesion.consistency == "fluctuant" or f.lab_is("crp", "high")))


def _infection_urgent_reason(f: Facts) -> str:
    why = []
    if f.yes("fever"):
        why.append("fever")
    if f.lab_is("crp", "high"):
        why.append("a raised CRP")
    if f.on_heel and f.age < 3:
        why.append(f"a heel lesion at {age_words(f.age)}, in the early weeks after neonatal "
                   "heel pricks")
    text = f"Suspected abscess or osteomyelitis: {', '.join(f.inflammation)}"
    if why:
        text += f" with {', '.join(why)}"
    text += ". Same-day assessment"
    if f.on_heel:
        text += "; inflammation after a heel prick is not calcinosis until proved otherwise"
    return text + "."


EVIDENCE_RULES: tuple[Rule, ...] = (
    # --- Heel-stick nodule (H1-H3, entity card 3.1) --------------------------------------
    Rule("HS-SITE", "[V R3][V R5]", lambda f: f.on_heel,
         lambda f: f"Lesion on the {_site_words(f)}, where heel-stick nodules occur."
         .replace("on the both", "on both"),
         scores=((HS, 2),)),
    Rule("HS-SUBSITE", "[V R9][M]",
         lambda f: f.on_heel and f.lesion.heel_subsite in ("medial", "lateral"),
         lambda f: f"The {f.lesion.heel_subsite} margin of the plantar heel is a recommended "
                   "puncture site (an inference from puncture-site guidance).",
         scores=((HS, 1),), qualifies=False),
    Rule("HS-OFF-HEEL", "[V R3][V R5]", lambda f: not f.on_heel,
         lambda f: f"Site is the {words(f.site)}: heel-stick nodules are confined to the heels.",
         scores=((HS, -6),)),
    Rule("HS-AGE-WINDOW", "[V R3]", lambda f: f.on_heel and _in_window(f),
         lambda f: f"First noticed {_onset_words(f)}, inside the 4–12-month "
                   "window in which heel-stick nodules appear.",
         scores=((HS, 2),)),
    Rule("HS-AGE-OUTSIDE", "[V R3][V R5]", lambda f: f.on_heel and not _in_window(f),
         lambda f: f"First noticed {_onset_words(f)}, outside the usual "
                   "4–12-month window; this lowers the likelihood but does not exclude a "
                   "heel-stick nodule.",
         scores=((HS, -1),)),
    Rule("HS-STICKS-YES", "[V R3][V R6]", lambda f: f.yes("neonatal_heel_sticks"),
         "Neonatal heel sticks are recorded.", scores=((HS, 3),)),
    Rule("HS-HIGH-RISK", "[V R4][V R5]",
         lambda f: f.on_heel and bool(f.any_yes(("preterm_birth", "nicu_stay"))),
         lambda f: sentence_start(" and ".join(
             words(k) for k in f.any_yes(("preterm_birth", "nicu_stay"))))
         + ": many heel pricks; 16 of 20 high-risk infants had heel lesions in one survey.",
         scores=((HS, 2),)),
    Rule("HS-STICKS-UNKNOWN", "[V R8]", lambda f: f.on_heel and f.unknown("neonatal_heel_sticks"),
         "Heel-stick history not recorded: newborn screening uses a heel prick almost "
         "everywhere, so exposure is likely.", scores=((HS, 1),), qualifies=False),
    Rule("HS-STICKS-DENIED", "[V R8][V R6]",
         lambda f: f.on_heel and f.no("neonatal_heel_sticks"),
         "Heel sticks reported as not done. A parent's 'no' is weak evidence (newborn "
         "screening uses a heel prick almost everywhere, and nodules follow even a few "
         "pricks), so the heel-stick nodule is ranked lower but kept in the differential.",
         scores=((HS, -2),)),
    Rule("HS-LOOK", "[V R5][V R6]", lambda f: f.on_heel and f.calcium_clinical,
         lambda f: f"{sentence_start(words(f.lesion.color))}, {f.lesion.consistency} lesion, as "
                   "described for heel-stick nodules.",
         scores=((HS, 1),)),
    Rule("HS-SIZE-TYPICAL", "[V R5][V R6]",
         lambda f: f.on_heel and f.size is not None and 1.5 <= f.size <= 5,
         lambda f: f"{f.size:g} mm, within the 1.5–5 mm typical of heel-stick nodules.",
         scores=((HS, 1),), qualifies=False),
    Rule("HS-SIZE-LARGE", "[V R5][V R6][M]", lambda f: f.size is not None and f.size > 5,
         lambda f: f"{f.size:g} mm is larger than the 1.5–5 mm typical of heel-stick nodules.",
         scores=((HS, -1),)),
    Rule("HS-INFLAMED", "[V R5]", lambda f: f.on_heel and bool(f.inflammation),
         lambda f: f"{sentence_start(', '.join(f.inflammation))}: heel-stick nodules sit on "
                   "normal, uninflamed skin.",
         scores=((HS, -3),)),
    Rule("HS-LATE", "[V R5][M]", lambda f: f.on_heel and f.age > 36,
         lambda f: f"Child is {age_words(f.age)} old: a heel lesion persisting past about 3 "
                   "years should make one reconsider wart, epidermal cyst or SCN.",
         scores=((HS, -2), (VP, 1), (EIC, 1), (SCN, 1)), qualifies=False),
    # --- Idiopathic (H4, cards 3.4 and 3.5) -----------------------------------------------
    Rule("ID-NO-CAUSE", "[V R1]", _no_cause, lambda f: _no_cause_text(f),
         scores=((SCN, 2), (MICC, 2)), qualifies=False),
    Rule("ICC-NO-CAUSE", "[V R1]", _no_cause, lambda f: _no_cause_text(f),
         scores=((ICC, 2),), qualifies=False),
    Rule("ICC-DEEP", "[V R1][V R18][M]",
         lambda f: _no_cause(f) and bool(f.calcium_clinical or f.calcium_shown)
         and f.lesion.surface not in ("verrucous", "hyperkeratotic") and not _wart_signs(f)
         and (f.lesion.morphology in ("subcutaneous_nodule", "mass", "plaque")
              or (f.size is not None and f.size > 5)),
         lambda f: (f"{sentence_start(words(f.lesion.morphology or 'deposit'))}"
                    + (f" of {f.size:g} mm" if f.size is not None else "")
                    + " with no local or metabolic cause: idiopathic calcinosis cutis, not the "
                      "1–4 mm papules of MICC or the superficial papule of SCN."),
         scores=((ICC, 3), (MICC, -2), (SCN, -1))),
    Rule("SCN-SOLITARY", "[V R25][V R22]", lambda f: f.lesion.count == 1,
         "Solitary lesion: about 80% of subepidermal calcified nodules are solitary, and a "
         "solitary idiopathic lesion is conventionally called SCN.", scores=((SCN, 2),),
         qualifies=False),
    Rule("SCN-MULTIPLE", "[V R25]", lambda f: f.multiple,
         lambda f: f"{f.lesion.count} lesions: SCN is mostly solitary.", scores=((SCN, -1),)),
    Rule("SCN-AGE", "[V R24]", lambda f: f.onset_age <= 24,
         "Noticed in the first 2 years of life, when most SCN appear.", scores=((SCN, 1),),
         qualifies=False),
    Rule("SCN-HEAD-NECK", "[V R25][V R26]", lambda f: f.head_neck,
         lambda f: f"Site ({words(f.site)}): SCN favours the head and neck (ear, eyelid, "
                   "cheek).", scores=((SCN, 3),)),
    Rule("SCN-FOOT", "[V R27]", lambda f: f.on_foot,
         "SCN has also been reported on the foot (a congenital case in a 10-month-old).",
         scores=((SCN, 0.5),), qualifies=False),
    Rule("SCN-LOOK", "[V R26]",
         lambda f: _papular(f) and (f.size is None or f.size <= 10)
         and (f.calcium_clinical or (f.lesion.surface == "verrucous" and f.whiteish)),
         lambda f: ("Yellow-white warty papule: two-thirds of SCN are warty."
                    if f.lesion.surface == "verrucous" else
                    "Yellow-white firm papule, as described for SCN."),
         scores=((SCN, 1),)),
    Rule("MICC-MULTIPLE-ACRAL", "[V R18][V R20][V R22]",
         lambda f: f.multiple and (f.lesion.distribution == "acral"
                                   or f.site in ("hand", "finger")),
         "Multiple milia-like papules on the hands or feet: the pattern of MICC.",
         scores=((MICC, 3),)),
    Rule("MICC-DOWN", "[V R22][V R18]", lambda f: f.yes("down_syndrome"),
         "Down syndrome: present in up to two-thirds of children with MICC.",
         scores=((MICC, 3),)),
    Rule("MICC-SOLITARY", "[V R22]", lambda f: f.lesion.count == 1,
         "Solitary lesion: MICC is almost always multiple; a solitary idiopathic lesion is "
         "better called SCN.", scores=((MICC, -3),)),
    Rule("MICC-SMALL", "[V R18]",
         lambda f: f.whiteish and f.size is not None and f.size <= 4,
         lambda f: f"{f.size:g} mm white papule, within the 1–4 mm of MICC.",
         scores=((MICC, 1),), qualifies=False),
    Rule("MICC-YOUNG", "[V R21]", lambda f: 6 <= f.age < 19,
         lambda f: f"Age {age_words(f.age)}: MICC is mostly reported from 19 months to "
                   "adolescence (mean 9.9 years).", scores=((MICC, -1),)),
    Rule("MICC-CRUST", "[V R28][S]", lambda f: "central_crust" in f.imaging.dermoscopy,
         "Central crust on dermoscopy: transepidermal elimination, common in MICC and SCN.",
         scores=((MICC, 1), (SCN, 1))),
    Rule("ICC-SCROTUM", "[V R24][S]", lambda f: f.site == "scrotum",
         "Scrotal calcinosis is an idiopathic form.", scores=((ICC, 4),)),
    Rule("MIM-SCROTAL-CYST", "[V R24][M]", lambda f: f.site == "scrotum",
         "Scrotal calcinosis may be dystrophic calcification of epidermal cysts: look for cysts "
         "beside the nodules.", scores=((EIC, 1),)),
    # --- Iatrogenic (H7, cards 3.2 and 3.3) -----------------------------------------------
    Rule("EX-AT-SITE", "[V R14][V R17]", lambda f: f.yes("iv_calcium_at_lesion_site"),
         "IV calcium was given at this site or limb: iatrogenic even when no extravasation "
         "was documented.", scores=((EX, 5),)),
    Rule("EX-RECEIVED", "[V R17]",
         lambda f: f.yes("iv_calcium_received") and not f.yes("iv_calcium_at_lesion_site"),
         "IV calcium was received (site not recorded as this one); calcinosis has occurred at "
         "a site distant from the catheter.", scores=((EX, 1),)),
    Rule("EX-DOCUMENTED", "[V R12][V R13]", lambda f: f.yes("extravasation_documented"),
         "Extravasation was documented.", scores=((EX, 3),)),
    Rule("EX-NONE", "[V R12]", lambda f: f.no("iv_calcium_received"),
         "No IV calcium was received.", scores=((EX, -6),)),
    Rule("EX-LINEAR", "[V R14][V R77b]", lambda f: f.has("linear_along_vein"),
         "Linear along a vein: extravasation and venous calcification follow the vein.",
         scores=((EX, 2),)),
    Rule("EX-EARLY-INFLAMMATION", "[V R16][V R13]",
         lambda f: bool(f.inflammation) and f.yes("iv_calcium_received"),
         lambda f: f"{sentence_start(', '.join(f.inflammation))} after IV calcium: erythema and "
                   "induration within hours, nodules by about 1–2 weeks.",
         scores=((EX, 1),)),
    Rule("EX-CRUST", "[V R17][S]",
         lambda f: f.yes("iv_calcium_received")
         and (f.has("chalky_discharge") or f.lesion.surface in ("crusted", "ulcerated")),
         "White-yellow chalky crust or superficial ulcers, as after calcium extravasation.",
         scores=((EX, 1),)),
    Rule("EP-AT-SITE", "[V R72][M]", lambda f: f.yes("electrode_paste_at_site"),
         "Calcium-containing EEG/EMG/ABR electrode paste was used at this site.",
         scores=((EP, 6),)),
    Rule("IO-DRESSING", "[V R72]", lambda f: f.yes("calcium_dressing_at_site"),
         "A calcium-containing dressing was used at this site.", scores=((IO, 6),)),
    # --- Dystrophic (H8, cards 3.8 and 3.10) ------------------------------------------------
    Rule("DT-TRAUMA", "[V R1][S]", lambda f: f.yes("local_trauma_at_site"),
         "Local injury at the site (trauma, burn, scar, surgery or ischaemia): dystrophic "
         "calcification of damaged tissue.", scores=((DT, 5),)),
    Rule("DT-NO-CALCIUM-SIGNS", "[V R76][M]",
         lambda f: f.yes("local_trauma_at_site") and not (f.calcium_clinical or f.calcium_shown),
         "No sign of calcium at the injury (a white-yellow hard lesion, chalk or a radiopaque "
         "X-ray): a haematoma, a foreign body or a scar is as likely as calcium.",
         scores=((DT, -2),)),
    Rule("MIM-SCAR-NODULE", "[M]",
         lambda f: f.yes("local_trauma_at_site") and f.lesion.morphology in ("papule", "nodule",
                                                                          "subcutaneous_nodule"),
         "A nodule at an injury or in a scar can be a suture or foreign-body granuloma.",
         scores=((FBG, 1),)),
    Rule("MIM-FOREIGN-BODY", "[M]",
         lambda f: f.yes("local_trauma_at_site") and (bool(f.inflammation) or f.painful)
         and not f.calcium_shown and f.lesion.color not in ("bluish", "violaceous"),
         "A tender or inflamed papule at a penetrating injury: a retained foreign body (a "
         "splinter) granuloma.", scores=((FBG, 3),)),
    Rule("MIM-CYST-IMPLANTATION", "[V R54][V R55]",
         lambda f: f.on_foot and (f.yes("local_trauma_at_site")
                                  or (f.on_heel and f.yes("neonatal_heel_sticks"))),
         lambda f: ("Heel pricks can implant epidermis: an epidermal inclusion cyst at a "
                    "puncture site." if not f.yes("local_trauma_at_site") else
                    "A penetrating injury can implant epidermis: an epidermal inclusion cyst "
                    "on the sole."), scores=((EIC, 1),)),
    Rule("CTD-KNOWN", "[V R38]", lambda f: f.yes("connective_tissue_disease"),
         "Connective tissue disease (JDM, SLE or scleroderma) is diagnosed.",
         scores=((CTD, 5),)),
    Rule("CTD-SIGNS", "[V R40]", lambda f: f.yes("ctd_signs"),
         "Signs of connective tissue disease (weakness, heliotrope, Gottron papules or "
         "Raynaud): calcinosis can be the presenting feature of JDM.", scores=((CTD, 3),)),
    Rule("CTD-SITES", "[V R38]",
         lambda f: f.lesion.distribution in ("periarticular", "widespread")
         or f.site in ("elbow", "knee", "buttock", "thigh"),
         lambda f: (sentence_start(words(f.lesion.distribution)) + " distribution"
                    if f.lesion.distribution in ("periarticular", "widespread")
                    else "Site " + words(f.site))
         + ": a typical site of JDM calcinosis (elbows, knees, thighs, trunk, hands, "
           "buttocks).",
         scores=((CTD, 1),), qualifies=False),
    Rule("CTD-EXCLUDE", "[V R38][V R40]",
         lambda f: f.age >= 24 and not f.yes("connective_tissue_disease")
         and not f.yes("ctd_signs") and bool(f.calcium_clinical or f.calcium_shown)
         and (f.lesion.morphology in ("subcutaneous_nodule", "mass", "plaque")
              or f.lesion.distribution in ("periarticular", "widespread")
              or f.site in ("elbow", "knee", "buttock", "thigh")),
         lambda f: "Subcutaneous calcinosis in a child can be the presenting sign of JDM"
         + (" (no signs recorded now; re-examine as it evolves)." if f.no("ctd_signs") else
            ": examine for weakness, Gottron papules and a heliotrope rash."),
         scores=((CTD, 1),)),
    Rule("CTD-CK", "[V R40][M]", lambda f: f.lab_is("creatine_kinase", "high"),
         "Creatine kinase is raised: active myositis.", scores=((CTD, 2),)),
    Rule("SCFN-CONTEXT", "[V R47][V R87]",
         lambda f: f.yes("perinatal_asphyxia_or_cooling") and f.age <= 6,
         "Perinatal asphyxia or therapeutic cooling in a young infant: the setting of "
         "subcutaneous fat necrosis.", scores=((SCFN, 4),)),
    Rule("SCFN-LOOK", "[V R47]",
         lambda f: f.age < 3 and f.lesion.morphology in ("subcutaneous_nodule", "plaque")
         and f.lesion.color in ("erythematous", "violaceous"),
         "Firm erythematous-violaceous subcutaneous nodules or plaques in the first weeks of "
         "life.", scores=((SCFN, 2),)),
    Rule("SCFN-SITE", "[M]",
         lambda f: f.age < 3 and f.site in ("trunk", "buttock", "thigh", "shoulder", "face"),
         "Back, shoulders, buttocks, thighs or cheeks: typical SCFN sites.",
         scores=((SCFN, 1),), qualifies=False),
    # --- Metastatic (H5, H6, H9, cards 3.6, 3.7, 3.9, 3.11) -------------------------------------
    Rule("MR-RENAL", "[V R30]", lambda f: f.yes("renal_disease"),
         "Renal disease (CKD, ESRD or dialysis) is recorded.", scores=((MR, 4), (CP, 1))),
    Rule("MR-CREATININE", "[V R59][V R30]", lambda f: f.lab_is("creatinine", "high"),
         lambda f: f"Creatinine {f.labs['creatinine'].value:g} {f.labs['creatinine'].unit} is "
                   "above the interval for age: impaired renal function.",
         scores=((MR, 2),)),
    Rule("MR-PHOSPHATE", "[V R30][V R80]", lambda f: f.lab_is("phosphate", "high"),
         lambda f: f"Phosphate {f.labs['phosphate'].value:g} {f.labs['phosphate'].unit} is "
                   "high: hyperphosphataemia drives metastatic calcification.",
         scores=((MR, 2), (MO, 1), (TC, 1))),
    Rule("MR-CAXP-HIGH", "[V R2]", lambda f: f.caxp_high,
         lambda f: f"Ca×P {f.caxp:.1f} mg²/dL² is at or above 70, the classic threshold for "
                   "metastatic calcification.", scores=((MR, 2), (MO, 1))),
    Rule("MR-CAXP-TARGET", "[V R31]", lambda f: f.caxp_above_target and not f.caxp_high,
         lambda f: f"Ca×P {f.caxp:.1f} mg²/dL² is above the KDOQI paediatric target "
                   f"({f.caxp_target:g} at this age): increased risk.",
         scores=((MR, 1), (MO, 1))),
    Rule("MR-HEEL", "[S][V R79b]", lambda f: f.on_heel,
         "Metastatic calcinosis at the heel is unusual (periarticular sites are typical).",
         scores=((MR, -1), (MO, -1))),
    Rule("MR-PERIARTICULAR", "[V R79b]", lambda f: f.lesion.distribution == "periarticular",
         "Periarticular nodules: the usual pattern of metastatic calcinosis in renal failure.",
         scores=((MR, 1),)),
    Rule("MR-NORMAL-MINERALS", "[V R1][V R3]",
         lambda f: f.measured("calcium_total", "phosphate")
         and f.lab_is("calcium_total", "normal", "low") and f.lab_is("phosphate", "normal", "low")
         and not f.metastatic_evidence,
         "Serum calcium and phosphate are not raised for age: metastatic calcinosis needs "
         "high calcium or phosphate, or renal failure.",
         scores=((MR, -4), (MO, -4), (TC, -2))),
    Rule("MR-NO-RENAL", "[V R30]",
         lambda f: f.no("renal_disease") and not f.renal_impairment,
         "No renal disease is recorded.", scores=((MR, -3), (CP, -2))),
    Rule("MR-CREATININE-NORMAL", "[V R59]",
         lambda f: f.lab_is("creatinine", "normal") and not f.lab_is("creatinine", "high")
         and not f.yes("renal_disease"),
         lambda f: f"Creatinine {f.labs['creatinine'].value:g} {f.labs['creatinine'].unit} is "
                   "normal for age: no renal failure.", scores=((MR, -3), (CP, -2))),
    Rule("MO-CAUSE", "[S]", lambda f: bool(f.any_yes(METASTATIC_CAUSES)),
         lambda f: f"{sentence_start(', '.join(words(k) for k in f.any_yes(METASTATIC_CAUSES)))}"
                   ": a cause of hypercalcaemia and metastatic calcinosis.",
         scores=((MO, 4), (TC, -3))),
    Rule("MO-CALCIUM-HIGH", "[V R1][S]",
         lambda f: f.lab_is("calcium_total", "high") or f.lab_is("calcium_ionized", "high"),
         lambda f: sentence_start(" and ".join(
             name for name, analyte in (("total calcium", "calcium_total"),
                                        ("ionised calcium", "calcium_ionized"))
             if f.lab_is(analyte, "high")))
         + (" are" if f.lab_is("calcium_total", "high") and f.lab_is("calcium_ionized", "high")
            else " is") + " high for age.",
         scores=((MO, 2), (SCFN, 2))),
    Rule("MO-VITAMIN-D-HIGH", "[M]", lambda f: f.vitamin_d_toxic,
         "25-hydroxyvitamin D above 150 ng/mL: possible vitamin D excess.", scores=((MO, 2),)),
    Rule("MO-PTH-HIGH", "[V R30][M]", lambda f: f.lab_is("pth", "high"),
         "PTH is raised for age.", scores=((MO, 1), (MR, 1))),
    Rule("MO-LOW-CALCIUM-ALONE", "[V R15][V R30]",
         lambda f: f.lab_is("calcium_total", "low") and not f.lab_is("phosphate", "high"),
         "Low calcium alone does not make calcinosis metastatic: it is often the reason IV "
         "calcium was given.", scores=((MO, -1),)),
    Rule("CP-SIGNS", "[V R37][V R36]", lambda f: bool(f.ischaemic_signs),
         lambda f: f"{sentence_start(', '.join(f.ischaemic_signs))}: the course of calciphylaxis "
                   "(livedo, retiform purpura, necrosis).", scores=((CP, 4),)),
    Rule("CP-RENAL-SIGNS", "[V R35][V R37]",
         lambda f: bool(f.ischaemic_signs) and bool(f.renal_impairment),
         "Ischaemic skin signs in a child with renal impairment.", scores=((CP, 5),)),
    Rule("CP-RENAL-PAIN", "[V R35]", lambda f: f.painful and bool(f.renal_impairment),
         "Pain in a child with renal impairment: hyperaesthetic pain is the sentinel symptom of "
         "calciphylaxis in children.", scores=((CP, 1),)),
    Rule("CP-HISTOLOGY", "[V R37]", lambda f: f.imaging.histology == "vascular_calcification",
         "Histology shows calcification of small and medium vessels.", scores=((CP, 6),)),
    Rule("TC-PERIARTICULAR-MASS", "[V R42][V R69]",
         lambda f: f.lesion.distribution == "periarticular"
         or (f.lesion.morphology == "mass" and f.site in ("shoulder", "elbow", "thigh")),
         "Periarticular calcified mass (hips, elbows, shoulders): the pattern of tumoral "
         "calcinosis.", scores=((TC, 2),)),
    Rule("TC-HYPERPHOSPHATAEMIA-NORMAL-RENAL", "[V R42]",
         lambda f: f.lab_is("phosphate", "high") and f.measured("creatinine")
         and not f.renal_impairment,
         "High phosphate with normal renal function: the biochemistry of HFTC.",
         scores=((TC, 3), (MR, -2))),
    Rule("TC-FAMILY", "[V R42]", lambda f: f.yes("family_history_calcinosis"),
         "Family history of calcinosis: HFTC is autosomal recessive.", scores=((TC, 2),)),
    Rule("TC-YOUNG", "[V R69][V R85]", lambda f: 24 <= f.age < 72,
         "Tumoral calcinosis usually presents between about 6 and 25 years.",
         scores=((TC, -1),)),
    # --- Imaging and histology (H10, H11) ------------------------------------------------------
    Rule("IMG-XRAY-CALCIUM", "[V R76]", lambda f: f.imaging.xray == "radiopaque",
         "Radiopaque on X-ray: calcium is present (plain radiography is sensitive).",
         scores=each(CALCINOSIS_ENTITIES, 2) + each(MIMIC_ENTITIES, -2), qualifies=False),
    Rule("IMG-XRAY-NEGATIVE", "[V R76]",
         lambda f: f.imaging.xray == "no_calcification"
         and not (f.yes("iv_calcium_received") and f.onset_known and f.age - f.onset_age < 0.75),
         "No calcification on X-ray, which is sensitive for calcinosis.",
         scores=(*each(TRUE_CALCINOSIS, -3), (PCFH, 1), (EIC, 1), (VP, 1)), qualifies=False),
    Rule("IMG-XRAY-EARLY", "[V R13]",
         lambda f: f.imaging.xray == "no_calcification" and f.yes("iv_calcium_received")
         and f.onset_known and f.age - f.onset_age < 0.75,
         "X-ray negative within 3 weeks of IV calcium: radiographs can turn positive at 1–3 "
         "weeks; repeat it.", scores=((EX, -0.5),)),
    Rule("IMG-US-SHADOWING", "[V R51][V R48]",
         lambda f: f.imaging.ultrasound == "calcification_with_shadowing",
         "Echogenic focus with posterior acoustic shadowing on ultrasound: calcification.",
         scores=(*each(CALCINOSIS_ENTITIES, 2), (PCFH, -2), (EIC, -1)), qualifies=False),
    Rule("IMG-US-HYPERECHOIC", "[V R48]",
         lambda f: f.imaging.ultrasound == "hyperechoic_without_shadowing",
         "Hyperechoic without shadowing on ultrasound is not specific for calcium: fat in a "
         "precalcaneal fibrolipomatous hamartoma is hyperechoic too.", scores=((PCFH, 1),)),
    Rule("IMG-US-CYSTIC", "[V R54][V R55]", lambda f: f.imaging.ultrasound == "cystic",
         "Cystic on ultrasound.", scores=((EIC, 3), *each(TRUE_CALCINOSIS, -1))),
    Rule("IMG-US-HYPOECHOIC", "[V R51]", lambda f: f.imaging.ultrasound == "solid_hypoechoic",
         "Solid hypoechoic lesion on ultrasound (pilomatricoma has a hypoechoic rim).",
         scores=((PM, 1),)),
    Rule("IMG-DERMOSCOPY-CALCIUM", "[V R18][V R25]",
         lambda f: bool(f.imaging.dermoscopy & {"white_yellow_structureless", "white_clods"}),
         "White-yellow structureless areas or clods on dermoscopy: calcium.",
         scores=(*each(CALCINOSIS_ENTITIES, 1), (VP, -1), (VV, -1)), qualifies=False),
    Rule("IMG-DERMOSCOPY-SCN", "[V R25]",
         lambda f: {"white_clods", "linear_vessels"} <= f.imaging.dermoscopy,
         "Yellow-white clods surrounded by linear vessels: the dermoscopy of SCN.",
         scores=((SCN, 2),)),
    Rule("HIS-CALCIUM", "[V R29]", lambda f: f.imaging.histology == "calcium_deposits",
         "Histology shows calcium deposits (von Kossa positive): calcium confirmed, not its "
         "cause.", scores=each(CALCINOSIS_ENTITIES, 3) + each(MIMIC_ENTITIES, -4),
         qualifies=False),
    Rule("HIS-CYST", "[V R54]", lambda f: f.imaging.histology == "epidermal_cyst",
         "Histology shows an epidermal cyst.", scores=((EIC, 10),)),
    Rule("HIS-PILOMATRICOMA", "[V R50]", lambda f: f.imaging.histology == "pilomatricoma",
         "Histology shows pilomatricoma (calcified, so calcinosis is secondary).",
         scores=((PM, 12),)),
    Rule("HIS-BONE", "[V R29]", lambda f: f.imaging.histology == "bone",
         "Histology shows bone with osteocytes in lacunae: osteoma cutis, a different entity.",
         scores=((OC, 12), *each(TRUE_CALCINOSIS, -2))),
    Rule("HIS-FAT", "[V R48]", lambda f: f.imaging.histology == "fibroadipose_tissue",
         "Histology shows fibroadipose tissue.", scores=((PCFH, 8),)),
    Rule("CA-KERATIN", "[V R3][M]",
         lambda f: f.lesion.surface == "hyperkeratotic" and not f.calcium_shown,
         "Hyperkeratotic surface: keratin (a horn, wart or callus) rather than calcium.",
         scores=each(TRUE_CALCINOSIS, -2), qualifies=False),
    Rule("CA-CHALKY", "[V R3][V R5][V R50]", lambda f: f.has("chalky_discharge"),
         "Chalky white material extrudes: calcinosis migrating to the surface.",
         scores=each(CALCINOSIS_ENTITIES, 1), qualifies=False),
    Rule("CA-LOOK-NOT-CALCIUM", "[V R3][M]",
         lambda f: f.lesion.consistency in ("soft", "fluctuant") and not f.calcium_shown,
         lambda f: f"{f.lesion.consistency.capitalize()} consistency: calcium deposits are "
                   "firm to hard.", scores=each(TRUE_CALCINOSIS, -2), qualifies=False),
    # --- Mimics (H13, section 4) -------------------------------------------------------------
    # Look-alikes of a white-yellow heel papule (VisualDx's differential [V R3]): each says what
    # in this lesion resembles that mimic, so no sentence is shared between entries.
    Rule("LA-WART", "[V R3][V R53]",
         lambda f: _papular(f) and f.hard and not f.inflammation,
         lambda f: f"Firm {words(f.lesion.morphology or 'papule')}: a wart is firm too; look for "
                   "a rough surface, interrupted skin lines and black dots.",
         scores=((VV, 0.5),)),
    Rule("LA-CYST", "[V R3][V R54]",
         lambda f: _papular(f) and f.hard and f.on_foot and not f.inflammation,
         lambda f: f"Firm dome-shaped {words(f.lesion.morphology or 'papule')} on the foot: a "
                   "plantar epidermal inclusion cyst looks alike (look for a punctum).",
         scores=((EIC, 0.5),)),
    Rule("LA-MOLLUSCUM", "[V R3]",
         lambda f: f.lesion.morphology in (None, "papule")
         and f.lesion.color in ("white", "white_yellow", "yellow", "skin_colored")
         and f.lesion.surface in ("smooth", "umbilicated", "verrucous")
         and (f.size is None or f.size <= 6),
         lambda f: f"Small {words(f.lesion.color)} papule: molluscum looks alike (but is soft, "
                   "pearly and umbilicated).",
         scores=((MC, 0.5),)),
    Rule("LA-MILIA", "[V R3]",
         lambda f: _papular(f) and f.whiteish and f.size is not None and f.size <= 3,
         lambda f: f"{sentence_start(words(f.lesion.color))} papule of {f.size:g} mm: the size "
                   "and colour of milia.",
         scores=((MI, 0.5),)),
    Rule("LA-HORN", "[V R3]",
         lambda f: _papular(f) and f.whiteish and f.hard and f.on_foot,
         "White, firm papule on the foot: an early cutaneous horn is white keratin (it grows "
         "into a column).", scores=((CH, 0.5),)),
    Rule("LA-PILOMATRICOMA", "[V R3][V R50]",
         lambda f: (f.papular or f.lesion.morphology == "subcutaneous_nodule") and f.hard
         and (f.whiteish or f.lesion.color in ("bluish", "skin_colored"))
         and (f.size is None or f.size >= 3) and not f.metastatic_evidence
         and f.lesion.count <= 3,
         lambda f: f"{sentence_start(words(f.lesion.consistency))} {words(f.lesion.color)} "
                   f"{words(f.lesion.morphology or 'papule')}: pilomatricoma is calcified and "
                   "rock-hard.",
         scores=((PM, 0.5),)),
    Rule("MIM-WART-SIGNS", "[V R53]",
         lambda f: f.site in _PLANTAR and _wart_signs(f),
         "Interrupted skin lines or black/red-black dots (thrombosed capillaries): a wart.",
         scores=((VP, 5), (VV, 2), *each(TRUE_CALCINOSIS, -2))),
    Rule("MIM-WART-SIGNS-OFF-SOLE", "[V R53]",
         lambda f: f.site not in _PLANTAR and _wart_signs(f),
         "Interrupted skin lines or black/red-black dots (thrombosed capillaries): a wart.",
         scores=((VV, 5), *each(TRUE_CALCINOSIS, -2))),
    Rule("MIM-WART-SURFACE", "[V R53][V R3]",
         lambda f: f.lesion.surface in ("verrucous", "hyperkeratotic"),
         lambda f: f"{f.lesion.surface.capitalize()} surface: warts are rough and "
                   "hyperkeratotic.", scores=((VV, 2),)),
    Rule("MIM-WART-SURFACE-PLANTAR", "[V R53][V R3]",
         lambda f: f.lesion.surface in ("verrucous", "hyperkeratotic") and f.site in _PLANTAR,
         lambda f: f"{f.lesion.surface.capitalize()} surface on the sole: a plantar wart or a "
                   "callus.", scores=((VP, 2), (CC, 1))),
    Rule("MIM-WART-PLANTAR-SITE", "[V R53]",
         lambda f: f.site in ("heel", "sole", "toe") and _papular(f) and not f.inflammation
         and f.lesion.consistency not in ("soft", "fluctuant"),
         lambda f: f"{sentence_start(words(f.lesion.morphology or 'papule'))} on the "
                   f"{words(f.site)}, a pressure point where plantar warts occur.",
         scores=((VP, 1),)),
    Rule("MIM-WART-NOT-PLANTAR", "[V R53]", lambda f: f.site not in ("heel", "sole", "toe"),
         "Not on the sole: not a plantar wart.", scores=((VP, -4),)),
    Rule("MIM-WART-AGE", "[V R53]", lambda f: 72 <= f.age <= 168 and _papular(f),
         "Age 6–14 years, the peak for warts.", scores=((VP, 1), (VV, 1)), qualifies=False),
    Rule("MIM-WART-INFANT", "[M]", lambda f: 6 <= f.age < 24,
         "Warts are uncommon under 2 years.", scores=((VP, -1), (VV, -1))),
    Rule("MIM-WART-XRAY", "[V R53]", lambda f: f.imaging.xray == "radiopaque",
         "Warts are not radiopaque.", scores=((VP, -2), (VV, -2))),
    Rule("MIM-WART-SMOOTH", "[V R53]", lambda f: f.lesion.surface == "smooth",
         "Smooth surface: warts are rough.", scores=((VP, -1), (VV, -1))),
    Rule("MIM-KERATIN-SMOOTH", "[V R3][M]", lambda f: f.lesion.surface == "smooth",
         "Smooth surface: no keratin column or callus.", scores=((CH, -1), (CC, -1))),
    Rule("MIM-CYST", "[V R54][V R55][V R3]",
         lambda f: f.lesion.morphology == "cyst" or f.lesion.surface == "punctum"
         or f.has("mobile"),
         "Cystic, mobile or with a punctum: an epidermal inclusion cyst.",
         scores=((EIC, 3),)),
    Rule("MIM-MOLLUSCUM", "[V R3]",
         lambda f: f.lesion.surface == "umbilicated" or f.has("white_core"),
         "Umbilicated or with a white central core: molluscum contagiosum.",
         scores=((MC, 4),)),
    Rule("MIM-MOLLUSCUM-AGAINST", "[V R3][M]",
         lambda f: f.on_foot or f.lesion.consistency == "hard",
         "Molluscum is soft and rare on the sole.", scores=((MC, -1),)),
    Rule("MIM-MILIA-FACE", "[V R3]", lambda f: f.site in ("face", "eyelid", "head_neck"),
         "Milia favour the cheeks and periorbital skin.", scores=((MI, 3),)),
    Rule("MIM-MILIA-NEWBORN", "[V R3][M]",
         lambda f: f.age < 3 and f.site in ("face", "head_neck") and f.whiteish
         and f.multiple and (f.size is None or f.size <= 2),
         "Multiple 1–2 mm white papules on a newborn's face: neonatal milia, seen in about half "
         "of newborns.", scores=((MI, 4), (SCN, -2))),
    Rule("MIM-HORN", "[V R3]", lambda f: f.lesion.surface == "hyperkeratotic",
         "Columnar hyperkeratosis: a cutaneous horn is keratin, not calcium.",
         scores=((CH, 3),)),
    Rule("MIM-HORN-HARD", "[V R3][M]",
         lambda f: f.lesion.surface == "hyperkeratotic" and f.hard
         and f.lesion.color in ("yellow", "white", "white_yellow", "brown"),
         lambda f: f"Hard {words(f.lesion.color)} keratin: a cutaneous horn (warts are "
                   "skin-coloured).", scores=((CH, 2),)),
    Rule("MIM-PILOMATRICOMA-SIGNS", "[V R50]", lambda f: f.has("tent_sign", "faceted"),
         "Tent sign or faceted rock-hard nodule: pilomatricoma.", scores=((PM, 5),)),
    Rule("MIM-PILOMATRICOMA-COLOUR", "[V R50]",
         lambda f: f.lesion.color == "bluish" and f.hard,
         "Bluish hue: pilomatricoma.", scores=((PM, 2),)),
    Rule("MIM-PILOMATRICOMA-SITE", "[V R50][V R52]",
         lambda f: f.head_neck or f.site in ("arm", "shoulder", "elbow"),
         "Head, neck or upper limb: where pilomatricomas arise.", scores=((PM, 2),),
         qualifies=False),
    Rule("MIM-PILOMATRICOMA-HEEL", "[V R50]", lambda f: f.on_heel,
         "Pilomatricoma is rare on the heel.", scores=((PM, -1),)),
    Rule("MIM-PCFH", "[V R48][V R49]",
         lambda f: f.on_heel and f.lesion.heel_subsite in ("medial", None)
         and f.lesion.consistency in ("soft", "rubbery") and f.lesion.color == "skin_colored",
         "Soft, skin-coloured nodule on the medial plantar heel: precalcaneal fibrolipomatous "
         "hamartoma.", scores=((PCFH, 4),)),
    Rule("MIM-PCFH-BIRTH", "[V R48][V R49]",
         lambda f: f.on_heel and f.yes("lesion_present_at_birth"),
         "Present since birth, as precalcaneal fibrolipomatous hamartomas are.",
         scores=((PCFH, 2),)),
    Rule("MIM-PCFH-BILATERAL", "[V R48]",
         lambda f: f.on_heel and f.lesion.laterality == "bilateral"
         and f.lesion.consistency in ("soft", "rubbery"),
         "Bilateral, symmetric soft heel nodules.", scores=((PCFH, 1),)),
    Rule("MIM-PPP", "[V R49]", lambda f: f.has("appears_on_standing"),
         "Appears on standing: piezogenic pedal papules.", scores=((PPP, 5),)),
    Rule("MIM-CALLUS", "[M]",
         lambda f: f.on_foot and f.lesion.surface == "hyperkeratotic" and f.age >= 24,
         "Hyperkeratosis at a pressure point in a walking child: callus or corn.",
         scores=((CC, 2),)),
    Rule("MIM-CALLUS-PLAQUE", "[M]",
         lambda f: f.on_foot and f.lesion.surface == "hyperkeratotic"
         and f.lesion.morphology == "plaque" and not _wart_signs(f),
         "A hyperkeratotic plaque without wart signs under a pressure point: a callus (warts "
         "are papules that interrupt the skin lines).", scores=((CC, 3),)),
    Rule("MIM-INFECTION", "[V R10][V R13]", lambda f: bool(f.inflammation),
         lambda f: f"{sentence_start(', '.join(f.inflammation))}: cellulitis or abscess must be "
                   "considered.", scores=((CELL, 2),)),
    Rule("MIM-INFECTION-FEVER", "[V R10]", lambda f: f.yes("fever"),
         "Fever is recorded.", scores=((CELL, 2), (OM, 1))),
    Rule("MIM-INFECTION-FLUCTUANT", "[V R10]", lambda f: f.lesion.consistency == "fluctuant",
         "Fluctuant: an abscess.", scores=((CELL, 3),)),
    Rule("MIM-INFECTION-CRP", "[V R10]", lambda f: f.lab_is("crp", "high"),
         "CRP is raised.", scores=((CELL, 2), (OM, 1))),
    Rule("MIM-HEEL-PRICK-INFANT", "[V R10]",
         lambda f: f.on_heel and f.age < 3 and bool(f.inflammation),
         "Inflamed heel lesion in a young infant, weeks after neonatal heel pricks: abscess or "
         "calcaneal osteomyelitis.", scores=((CELL, 3), (OM, 3))),
    Rule("MIM-OSTEOMYELITIS-DEEP", "[V R10]",
         lambda f: f.age < 12 and f.lesion.morphology == "swelling"
         and f.lesion.consistency != "fluctuant"
         and (f.yes("fever") or f.lab_is("crp", "high")) and bool(f.inflammation),
         "Deep, diffuse, non-fluctuant swelling with fever or a raised CRP in an infant: "
         "osteomyelitis of the underlying bone rather than a skin abscess (MRI is the test; "
         "X-ray is normal early).", scores=((OM, 3),)),
    Rule("MIM-HEMATOMA", "[M]",
         lambda f: f.yes("local_trauma_at_site") and f.lesion.color in ("bluish", "violaceous"),
         "Bluish or violaceous after injury: a haematoma.", scores=((HEM, 4),)),
    Rule("MIM-HEMATOMA-SHRINKING", "[M]",
         lambda f: f.yes("local_trauma_at_site") and f.lesion.trend == "shrinking"
         and not f.calcium_shown,
         "Shrinking since the injury: a resolving haematoma.", scores=((HEM, 1),)),
    Rule("MIM-PHLEBITIS", "[M]",
         lambda f: f.has("linear_along_vein") and bool(f.inflammation),
         "Inflamed and linear along a vein: infusion phlebitis.", scores=((PHL, 4),)),
    Rule("MIM-SYRINGOMA", "[V R18][V R23]", lambda f: f.site == "eyelid",
         "Eyelid papules: syringomas are periorbital (and coexist with MICC in Down syndrome, "
         "which is acral; SCN is usually solitary).", scores=((SYR, 5), (MICC, -2), (SCN, -2))),
)


# --- Critical values (KNOWLEDGE.md section 9.7): urgent on the number alone -----------------
CRITICAL_NAMES = {
    "calcium_total": "total calcium", "calcium_ionized": "ionised calcium",
    "phosphate": "phosphate", "creatinine": "creatinine", "urea": "urea",
    "bun": "blood urea nitrogen (BUN)",
}
CRITICAL_OPTION = ("Act on the critical result today: same-day assessment by the paediatric "
                   "team (emergency department if need be); a confirmatory repeat sample must "
                   "not delay action [M].")


def _shown(value: float, decimals: int, limit: float) -> str:
    """A converted value, with more decimals when rounding would make it equal the limit."""
    shown = round(value, decimals)
    while shown == round(limit, 9) and decimals < 6:
        decimals += 1
        shown = round(value, decimals)
    return f"{shown:g}"


def critical_text(f: Facts, c: CriticalValue) -> str:
    """"Total calcium 3.9 mg/dL (0.97 mmol/L) is below the critical limit of 6.533 mg/dL
    (1.63 mmol/L) ...": the value and unit as entered, converted when the units differ."""
    r = c.reading
    si_unit, decimals = catalog.SI_UNITS[r.analyte]
    value = f"{r.value:g} {r.unit}"
    limit = f"{c.applied_limit:.4g} {si_unit}"
    if r.unit != si_unit:
        value += f" ({_shown(c.si_value, decimals, c.applied_limit)} {si_unit})"
        in_unit = c.applied_limit / catalog.to_si(r.analyte, 1.0, r.unit)
        # Enough digits that the limit never reads as equal to the value (12.99 vs 12.986).
        # Printed as laboratories print it (6.53 mg/dL), with enough digits that the limit never
        # reads as equal to the value (12.99 vs 12.986).
        shown = f"{in_unit:.3g}"
        if float(shown) == r.value:
            shown = f"{in_unit:.6g}"
        limit = f"{shown} {r.unit} ({limit})"
    side = "below" if c.limit.direction == "low" else "above"
    text = (f"Critical value: {CRITICAL_NAMES[r.analyte]} {value} is {side} the critical limit "
            f"of {limit}")
    if r.analyte == "creatinine":
        builtin = r.builtin
        multiple = f"{catalog.CREATININE_CRITICAL_TIMES_UPPER_LIMIT:g} times"
        if builtin is not None and builtin.high:
            text += (f", the lower of {c.limit.limit:g} {si_unit} and {multiple} the upper limit "
                     f"for age ({builtin.high:g} mg/dL at {builtin.age_label})")
        else:
            text += f" (no age-specific upper limit to take {multiple})"
    text = text[0].upper() + text[1:]
    text += ". Act on it today, whatever the lesion looks like."
    if f.yes("renal_disease"):
        text += (" Renal disease is recorded and may explain this value, but it is still "
                 "critical: act on it now.")
    return text


def _critical_rule(limit: catalog.CriticalLimit, when: Callable[[Facts], bool] | None = None,
                   ) -> Rule:
    key = (limit.analyte, limit.direction)
    code = f"critical_{limit.analyte}_{limit.direction}"
    return Rule(
        f"RF-{code.upper().replace('_', '-')}", limit.source,
        when or (lambda f: key in f.critical),
        lambda f: critical_text(f, f.critical[key]),
        flag=(code, "urgent"), option=CRITICAL_OPTION,
        refer_to="same-day paediatric assessment", gate=("lab", limit.analyte))


_ION_HIGH = ("calcium_ionized", "high")


def _calcium_severe_low(f: Facts) -> bool:
    reading = f.labs.get("calcium_total")
    return (reading is not None and ("calcium_total", "low") not in f.critical
            and f.lab_is("calcium_total", "low")
            and catalog.to_si("calcium_total", reading.value, reading.unit)
            < catalog.CALCIUM_TOTAL_SEVERE_LOW)


def _calcium_severe_low_text(f: Facts) -> str:
    r = f.labs["calcium_total"]
    si = catalog.to_si("calcium_total", r.value, r.unit)
    value = f"{r.value:g} {r.unit}"
    limit = f"{catalog.CALCIUM_TOTAL_SEVERE_LOW:g} mmol/L"
    if r.unit != "mmol/L":
        value += f" ({_shown(si, 2, catalog.CALCIUM_TOTAL_SEVERE_LOW)} mmol/L)"
        limit += f" ({catalog.CALCIUM_TOTAL_SEVERE_LOW * 4.008:.3g} mg/dL)"
    return (f"Total calcium {value} is low for age and below {limit}, a level that predicts "
            "high-dependency or intensive care admission in children (critical below 1.63 "
            "mmol/L): same-day discussion with paediatrics; repeat with ionised calcium and "
            "albumin.")


def _critical_rules() -> tuple[Rule, ...]:
    rules: list[Rule] = []
    for limit in catalog.CRITICAL_LIMITS:
        if (limit.analyte, limit.direction) != _ION_HIGH:
            rules.append(_critical_rule(limit))
            continue
        rules.append(_critical_rule(limit, lambda f: f.age >= 12 and _ION_HIGH in f.critical))
        # Infants: the section 5 rule, with its own source and advice; one flag, not two.
        rules.append(Rule(
            "RF-IONISED-CALCIUM-INFANT", "[V R45]",
            lambda f: f.age < 12 and _ION_HIGH in f.critical,
            lambda f: critical_text(f, f.critical[_ION_HIGH])
            + " In an infant: risk of hypercalcaemic crisis and nephrocalcinosis.",
            flag=("ionised_calcium_above_1_6_infant", "urgent"),
            refer_to="paediatric endocrinology (same day)",
            option="Admit for hypercalcaemia management; renal ultrasound for nephrocalcinosis "
                   "[V R45]."))
    return tuple(rules)


# Listed first among the red flags, so that a critical value is the first thing read.
CRITICAL_RULES: tuple[Rule, ...] = _critical_rules()


# A disease that explains a growing deposit: not a reason to suspect a neoplasm.
SYSTEMIC_EXPLANATIONS = (*METASTATIC_CAUSES, "renal_disease", "connective_tissue_disease",
                         "ctd_signs")


def _mineral_specialty(f: Facts) -> str:
    """Renal impairment makes it nephrology's; otherwise the cause is endocrine or metabolic."""
    if f.renal_impairment:
        return "paediatric nephrology"
    return "paediatric endocrinology/metabolic bone"


def _neoplasm_found(f: Facts) -> list[str]:
    found = [words(x) for x in ("tent_sign", "faceted") if f.has(x)]
    if f.lesion.color == "bluish" and f.hard:
        found.append("firm bluish nodule")
    if f.lesion.trend == "growing" and not f.on_foot:
        found.append(f"growing on the {words(f.site)}")
    return found


def _neoplasm_signs(f: Facts) -> bool:
    """Tent sign or faceting always; a bluish hue or growth off the foot only in a firm,
    uninflamed lesion with no local cause (a haematoma, an infusion site, an infection or a
    scrotal deposit also grow or look blue)."""
    if f.has("tent_sign", "faceted"):
        return True
    if (f.inflammation or f.site == "scrotum" or f.any_yes(LOCAL_CAUSES) or not f.hard
            or _wart_signs(f) or f.lesion.surface in ("verrucous", "hyperkeratotic")
            or f.imaging.histology is not None or f.metastatic_evidence or f.ischaemic_signs
            or f.any_yes(SYSTEMIC_EXPLANATIONS)
            or f.lesion.distribution in ("periarticular", "widespread")):
        return False
    return f.lesion.color == "bluish" or (f.lesion.trend == "growing" and not f.on_foot)


# --- Red flags: each with its minimum action (KNOWLEDGE.md section 5) -----------------------
RED_FLAG_RULES: tuple[Rule, ...] = (
    *CRITICAL_RULES,
    Rule("RF-TUMOUR-LYSIS", "[M]",
         lambda f: f.yes("malignancy") and ("phosphate", "high") in f.critical,
         "Malignancy with a critical phosphate: tumour lysis syndrome until proved otherwise. "
         "Give IV calcium only for symptomatic hypocalcaemia (calcium and phosphate "
         "precipitate).", flag=("tumour_lysis", "urgent"),
         refer_to="paediatric oncology (same day)",
         option="Tumour lysis: hyperhydration, phosphate and potassium monitoring with the "
                "oncology team; IV calcium only for symptomatic hypocalcaemia [M]."),
    Rule("RF-CALCIUM-LOW-SEVERE", "[V R95]", _calcium_severe_low, _calcium_severe_low_text,
         flag=("calcium_total_below_1_9", "refer"), refer_to="same-day paediatric assessment"),
    Rule("RF-CALCIPHYLAXIS", "[V R35][V R36][V R37]",
         lambda f: bool(f.ischaemic_signs) and bool(f.renal_impairment),
         lambda f: f"Possible calciphylaxis: {', '.join(f.ischaemic_signs)} with "
                   f"{', '.join(f.renal_impairment)}. Same-day assessment.",
         flag=("calciphylaxis", "urgent"),
         option="Same-day assessment for calciphylaxis: IV sodium thiosulfate is first-line; "
                "correct Ca, P and PTH [V R37][V R35]."),
    Rule("RF-NECROSIS", "[V R45][V R77][M]",
         lambda f: bool(f.ischaemic_signs) and not f.renal_impairment,
         lambda f: f"{sentence_start(', '.join(f.ischaemic_signs))}: same-day assessment "
                   "(calciphylaxis can occur with normal calcium and phosphate; exclude "
                   "infection and compromised perfusion).",
         flag=("necrosis_or_ischaemia", "urgent"),
         option="Same-day assessment of the ischaemic or necrotic skin [V R45][M]."),
    Rule("RF-INFECTION", "[V R10]", _infection_urgent, _infection_urgent_reason,
         refer_to=lambda f: ("same-day paediatric assessment; paediatric orthopaedics if the "
                             "bone is involved" if f.on_foot else "same-day paediatric "
                             "assessment"),
         flag=("suspected_abscess_or_osteomyelitis", "urgent"),
         workup=("infection_screen", "essential"),
         option="Same-day assessment: CRP, blood count and blood culture; X-ray or MRI of the "
                "calcaneus; drainage if fluctuant [V R10]."),
    Rule("RF-INFECTION-YOUNG-INFANT", "[M]",
         lambda f: _infection_urgent(f) and f.age < 3 and f.yes("fever"),
         "Fever in an infant under 3 months: full septic screen and empirical IV antibiotics "
         "without waiting for results.", flag=("febrile_young_infant", "urgent"),
         option="Admit: blood and urine cultures (lumbar puncture as indicated) and empirical "
                "IV antibiotics now [M]."),
    Rule("RF-INFECTION-LOCAL", "[V R10][M]", _infection_local,
         lambda f: f"Possible abscess: {', '.join(f.inflammation)}"
                   + (" with a raised CRP" if f.lab_is("crp", "high") else "")
                   + ", without fever: drainage or antibiotics within days, before any "
                     "calcinosis care.",
         flag=("possible_abscess", "refer"),
         workup=("infection_screen", "recommended"),
         refer_to="paediatric surgery for drainage if fluctuant",
         option="Drain if fluctuant, antibiotics for cellulitis, and review within 48 hours "
                "[V R10][M]."),
    Rule("RF-INFLAMMATION-REVIEW", "[V R10][V R13]",
         lambda f: bool(f.inflammation) and not _infection_urgent(f)
         and not _infection_local(f),
         lambda f: f"{sentence_start(', '.join(f.inflammation))} at the lesion: exclude "
                   "cellulitis or abscess before accepting a benign reading"
                   + (" (extravasation calcinosis is often mistaken for infection, and the "
                      "reverse)." if f.yes("iv_calcium_received") else "."),
         flag=("exclude_infection", "review"), workup=("infection_screen", "recommended"),
         option="Examine for cellulitis or abscess (warmth, fluctuance, fever, a red streak); "
                "CRP and blood count if unsure [V R10][M]."),
    Rule("RF-HYPERCALCAEMIA-SYMPTOMS", "[V R45][V R88]",
         lambda f: f.yes("hypercalcemia_symptoms")
         and (f.lab_is("calcium_total", "high") or f.lab_is("calcium_ionized", "high")
              or not (f.measured("calcium_total") or f.measured("calcium_ionized"))),
         lambda f: "Symptoms of hypercalcaemia (vomiting, poor feeding, irritability, "
                   "constipation or polyuria) "
                   + ("with high calcium" if f.lab_is("calcium_total", "high")
                      or f.lab_is("calcium_ionized", "high")
                      else "and no calcium measured")
                   + ": same-day calcium, ionised calcium and renal function.",
         flag=("symptomatic_hypercalcaemia", "urgent"), workup=("ionised_calcium", "essential"),
         option="Same-day assessment of hypercalcaemia: hydration, stop calcium and vitamin D "
                "intake; endocrinology/nephrology [V R45][V R47]."),
    Rule("RF-CAXP-HIGH", "[V R2]", lambda f: f.caxp_high,
         lambda f: f"Ca×P {f.caxp:.1f} mg²/dL² is at or above 70: high risk of metastatic "
                   "calcification.", flag=("calcium_phosphate_product_high", "refer"),
         refer_to=lambda f: _mineral_specialty(f)),
    # KDOQI's targets are for children with CKD: read only beside renal impairment.
    Rule("RF-CAXP-TARGET", "[V R31]",
         lambda f: f.caxp_above_target and not f.caxp_high and bool(f.renal_impairment),
         lambda f: f"Ca×P {f.caxp:.1f} mg²/dL² is above the KDOQI paediatric CKD target "
                   f"({f.caxp_target:g} mg²/dL² at this age).",
         flag=("calcium_phosphate_product_above_target", "refer"),
         refer_to="paediatric nephrology"),
    Rule("RF-RENAL", "[V R30][V R31]", lambda f: bool(f.renal_impairment),
         lambda f: f"Renal impairment ({', '.join(f.renal_impairment)}): metastatic calcinosis "
                   "needs nephrology.", flag=("renal_failure", "refer"),
         refer_to="paediatric nephrology",
         option="Paediatric nephrology: phosphate, PTH and dialysis management [V R31]."),
    # Not when a critical flag already names every abnormal mineral: one flag per finding.
    Rule("RF-MINERALS", "[V R1][S]",
         lambda f: any(f.lab_is(a, "high") and (a, "high") not in f.critical
                       for a in ("calcium_total", "calcium_ionized", "phosphate")),
         lambda f: "Abnormal mineral results for age: "
                   + ", ".join(r for r in f.mineral_abnormal if not r.startswith("Ca×P")) + ".",
         flag=("abnormal_calcium_or_phosphate", "refer"),
         refer_to=lambda f: _mineral_specialty(f)),
    Rule("RF-METASTATIC-ULCERATED", "[V R33][V R35]",
         lambda f: bool(f.renal_impairment) and (f.ulcerated or f.painful),
         lambda f: f"{'Ulcerated' if f.ulcerated else 'Painful'} lesion with "
                   f"{', '.join(f.metastatic_evidence)}: same-day assessment to exclude "
                   "calciphylaxis (pain is its sentinel symptom in children) and infection.",
         flag=("ulcerated_or_painful_metastatic_calcinosis", "urgent"),
         option="Same-day review with nephrology: wound care and exclusion of calciphylaxis "
                "and infection [V R33][V R35]."),
    Rule("RF-ULCERATED-MINERALS", "[V R1][M]",
         lambda f: bool(f.mineral_abnormal) and not f.renal_impairment and f.ulcerated,
         lambda f: f"Ulcerated lesion with {', '.join(f.mineral_abnormal)}: wound care, watch "
                   "for infection, and find the cause of the abnormal minerals.",
         flag=("ulcerated_calcinosis_abnormal_minerals", "refer"),
         refer_to="paediatric endocrinology/metabolic bone"),
    Rule("RF-CTD", "[V R38][V R40]",
         lambda f: f.yes("connective_tissue_disease") or f.yes("ctd_signs"),
         "Connective tissue disease or its signs: calcinosis of JDM/CTD needs paediatric "
         "rheumatology.", flag=("connective_tissue_disease", "refer"),
         refer_to="paediatric rheumatology",
         option="Paediatric rheumatology referral [V R38]."),
    Rule("RF-WIDESPREAD", "[V R38][V R42]",
         lambda f: f.lesion.distribution in ("widespread", "periarticular")
         and not (f.yes("connective_tissue_disease") or f.yes("ctd_signs")),
         lambda f: f"{sentence_start(words(f.lesion.distribution))} deposits: exclude JDM/CTD, "
                   "HFTC and metastatic calcinosis.", flag=("widespread_or_periarticular",
                                                            "refer"),
         refer_to=lambda f: (_mineral_specialty(f) if f.metastatic_evidence
                             else "paediatric rheumatology")),
    Rule("RF-HFTC", "[V R42]",
         lambda f: f.lesion.distribution == "periarticular" and f.lab_is("phosphate", "high")
         and not f.renal_impairment,
         "Periarticular deposits with high phosphate and no renal impairment: hyperphosphataemic "
         "familial tumoral calcinosis.", flag=("possible_hftc", "refer"),
         refer_to="paediatric endocrinology/metabolic bone"),
    Rule("RF-NEOPLASM", "[V R50]",
         _neoplasm_signs, lambda f: f"{sentence_start(', '.join(_neoplasm_found(f)))}: "
                                    "pilomatricoma or another neoplasm; refer for excision.",
         flag=("possible_neoplasm", "refer"),
         refer_to="paediatric surgery or dermatology for excision",
         option="Refer for excision and histology [V R50]."),
    Rule("RF-ATYPICAL-HEEL", "[V R5][M]",
         lambda f: f.on_heel and not f.metastatic_evidence and not f.inflammation
         and (f.leader is None or ENTITIES[f.leader].calcinosis != "no")
         and (f.age > 36 or f.lesion.trend == "growing" or (f.size is not None and f.size > 5)
              or f.has("pain_limits_walking") or f.ulcerated),
         lambda f: "Atypical for a benign heel nodule ("
                   + ", ".join(x for x in (
                       f"age {age_words(f.age)}, past about 3 years" if f.age > 36 else "",
                       "growing" if f.lesion.trend == "growing" else "",
                       f"{f.size:g} mm, over 5 mm" if f.size is not None and f.size > 5 else "",
                       "pain limits walking" if f.has("pain_limits_walking") else "",
                       "ulcerated" if f.ulcerated else "") if x)
                   + "): reconsider wart, epidermal cyst or SCN; biopsy if in doubt.",
         flag=("atypical_heel_nodule", "review"), workup=("biopsy_von_kossa", "consider"),
         late=True),
    Rule("RF-SCFN-CALCIUM", "[V R45][V R47]",
         lambda f: f.yes("perinatal_asphyxia_or_cooling") and f.age <= 6
         and not f.measured("calcium_ionized"),
         "Perinatal asphyxia or cooling in a young infant: hypercalcaemia follows SCFN in about "
         "half within the first month; measure ionised calcium now and monitor for 3 months.",
         flag=("scfn_hypercalcaemia_risk", "review"), workup=("ionised_calcium", "essential")),
    Rule("RF-LAB-INTERVAL-ADULT", "[V R59][V R57]",
         lambda f: any(r.lab_interval and r.flag == "normal" and r.builtin_flag not in
                       (None, "normal", "no_reference") for r in f.labs.values()),
         lambda f: "The laboratory's interval calls "
                   + ", ".join(f"{catalog.ANALYTES[r.analyte].label.lower()} {r.value:g} "
                               f"{r.unit}" for r in f.labs.values()
                               if r.lab_interval and r.flag == "normal"
                               and r.builtin_flag not in (None, "normal", "no_reference"))
                   + " normal, but it is abnormal for the child's age: the printed interval may "
                     "be an adult one; confirm with the laboratory.",
         flag=("lab_interval_not_paediatric", "review")),
    Rule("RF-VITAMIN-D-EXCESS", "[M]", lambda f: f.vitamin_d_toxic,
         "25-hydroxyvitamin D above 150 ng/mL: possible vitamin D toxicity.",
         flag=("vitamin_d_excess", "refer"),
         refer_to="paediatric endocrinology/metabolic bone",
         option="Stop all vitamin D and calcium supplements now [M]."),
)


# --- Where each rule can fire -------------------------------------------------------------
# A rule whose condition requires a site is evaluated only for lesions at that site: the engine
# indexes the tables by site once (core.RULES_BY_SITE), so a knee lesion never walks the heel
# rules. tests/unit/test_engine_speed.py checks on generated inputs that no listed rule fires
# elsewhere, so the index cannot change an answer.
_HEEL = frozenset({"heel"})
_FOOT_SITES = frozenset({"heel", "sole", "toe", "foot_dorsum"})
_PLANTAR_SITES = frozenset(_PLANTAR)
SITE_BOUND: dict[str, frozenset[str]] = {
    **dict.fromkeys(("HS-SITE", "HS-SUBSITE", "HS-AGE-WINDOW", "HS-AGE-OUTSIDE", "HS-HIGH-RISK",
                     "HS-STICKS-UNKNOWN", "HS-STICKS-DENIED", "HS-LOOK", "HS-SIZE-TYPICAL",
                     "HS-INFLAMED", "HS-LATE", "MR-HEEL", "MIM-PILOMATRICOMA-HEEL", "MIM-PCFH",
                     "MIM-PCFH-BIRTH", "MIM-PCFH-BILATERAL", "MIM-HEEL-PRICK-INFANT"), _HEEL),
    **dict.fromkeys(("SCN-FOOT", "MIM-CYST-IMPLANTATION", "MIM-CALLUS", "MIM-CALLUS-PLAQUE",
                     "LA-CYST", "LA-HORN"), _FOOT_SITES),
    **dict.fromkeys(("MIM-WART-SIGNS", "MIM-WART-PLANTAR-SITE", "MIM-WART-SURFACE-PLANTAR"),
                    _PLANTAR_SITES),
    **dict.fromkeys(("ICC-SCROTUM", "MIM-SCROTAL-CYST"), frozenset({"scrotum"})),
    "SCN-HEAD-NECK": frozenset({"head_neck", "face", "eyelid", "ear", "scalp"}),
    "MIM-MILIA-FACE": frozenset({"face", "eyelid", "head_neck"}),
    "MIM-MILIA-NEWBORN": frozenset({"face", "head_neck"}),
    "MIM-SYRINGOMA": frozenset({"eyelid"}),
}

