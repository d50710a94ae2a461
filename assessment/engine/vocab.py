"""Coded values of the assessment contract (version 1).

Tuples keep a fixed order so that everything derived from them (form choices, error messages,
output ordering) is deterministic.
"""

from __future__ import annotations

CONTRACT_VERSION = 1

SEXES = ("female", "male", "unknown")

HISTORY_FLAGS = (
    "preterm_birth",
    "nicu_stay",
    "neonatal_heel_sticks",
    "iv_calcium_received",
    "iv_calcium_at_lesion_site",
    "extravasation_documented",
    "electrode_paste_at_site",
    "calcium_dressing_at_site",
    "local_trauma_at_site",
    "renal_disease",
    "hyperparathyroidism",
    "vitamin_d_excess",
    "milk_alkali",
    "sarcoidosis",
    "malignancy",
    "connective_tissue_disease",
    "ctd_signs",
    "down_syndrome",
    "perinatal_asphyxia_or_cooling",
    "family_history_calcinosis",
    "lesion_present_at_birth",
    "fever",
    "hypercalcemia_symptoms",
)
HISTORY_NUMBERS = {"gestational_age_weeks": (22.0, 44.0)}
HISTORY_KEYS = HISTORY_FLAGS + tuple(HISTORY_NUMBERS)

SITES = (
    "heel", "sole", "toe", "foot_dorsum", "ankle", "leg", "knee", "thigh", "buttock", "trunk",
    "hand", "finger", "arm", "elbow", "shoulder", "head_neck", "face", "eyelid", "ear", "scalp",
    "scrotum", "other",
)
HEEL_SUBSITES = ("lateral", "medial", "posterior", "central_plantar")
LATERALITIES = ("left", "right", "bilateral", "midline")
DISTRIBUTIONS = ("localized", "grouped", "acral", "periarticular", "widespread")
COLORS = (
    "white", "yellow", "white_yellow", "skin_colored", "erythematous", "violaceous", "bluish",
    "brown", "black",
)
MORPHOLOGIES = ("papule", "nodule", "plaque", "subcutaneous_nodule", "mass", "cyst", "swelling")
SURFACES = (
    "smooth", "verrucous", "hyperkeratotic", "umbilicated", "punctum", "crusted", "ulcerated",
    "necrotic",
)
CONSISTENCIES = ("soft", "rubbery", "firm", "hard", "fluctuant")
FEATURES = (
    "chalky_discharge", "white_core", "tent_sign", "faceted", "interrupted_dermatoglyphics",
    "black_dots", "pain", "tenderness", "pain_limits_walking", "pruritus", "erythema_around",
    "warmth", "swelling", "livedo", "retiform_purpura", "linear_along_vein", "mobile",
    "appears_on_standing",
)
TRENDS = ("growing", "stable", "shrinking")

XRAY = ("radiopaque", "no_calcification")
ULTRASOUND = (
    "calcification_with_shadowing", "hyperechoic_without_shadowing", "cystic",
    "solid_hypoechoic", "normal",
)
DERMOSCOPY = (
    "white_yellow_structureless", "white_clods", "central_crust", "red_black_dots",
    "interrupted_dermatoglyphics", "linear_vessels",
)
HISTOLOGY = (
    "calcium_deposits", "epidermal_cyst", "pilomatricoma", "vascular_calcification", "bone",
    "fibroadipose_tissue", "other",
)

# Output vocabularies.
CALCINOSIS_LEVELS = ("likely", "possible", "unlikely", "secondary")
SUBTYPES = ("dystrophic", "metastatic", "iatrogenic", "idiopathic")
SUBTYPE_ROLES = ("primary", "contributing", "alternative")
MANAGEMENT_CATEGORIES = ("watchful_waiting", "treat", "refer", "urgent")
FLAG_ACTIONS = ("urgent", "refer", "review")
WORKUP_PRIORITIES = ("essential", "recommended", "consider")
LAB_FLAGS = ("low", "normal", "high", "no_reference")
CAXP_FLAGS = ("normal", "above_target", "high")

# Severity order: management is never milder than the most severe urgent/refer flag.
MANAGEMENT_RANK = {code: rank for rank, code in enumerate(MANAGEMENT_CATEGORIES)}
ACTION_TO_MINIMUM_MANAGEMENT = {"urgent": "urgent", "refer": "refer"}

# Human-readable words for coded values, used when rules quote findings back to the clinician.
LABELS: dict[str, str] = {
    "head_neck": "head or neck",
    "localized": "localised",
    "foot_dorsum": "dorsum of the foot",
    "central_plantar": "central plantar",
    "white_yellow": "white-yellow",
    "skin_colored": "skin-coloured",
    "subcutaneous_nodule": "subcutaneous nodule",
    "white_yellow_structureless": "white-yellow structureless areas",
    "red_black_dots": "red-black dots",
    # History answers, as they read inside a sentence.
    "preterm_birth": "preterm birth",
    "nicu_stay": "a NICU stay",
    "neonatal_heel_sticks": "neonatal heel sticks",
    "iv_calcium_received": "IV calcium",
    "iv_calcium_at_lesion_site": "IV calcium at this site",
    "renal_disease": "renal disease",
    "hyperparathyroidism": "hyperparathyroidism",
    "vitamin_d_excess": "vitamin D excess",
    "milk_alkali": "milk-alkali syndrome",
    "sarcoidosis": "sarcoidosis",
    "malignancy": "malignancy",
    "connective_tissue_disease": "connective tissue disease",
    "ctd_signs": "signs of connective tissue disease",
    "down_syndrome": "Down syndrome",
    "perinatal_asphyxia_or_cooling": "perinatal asphyxia or cooling",
    "family_history_calcinosis": "a family history of calcinosis",
    "erythema_around": "erythema",
    "retiform_purpura": "retiform purpura",
    "pain_limits_walking": "pain limiting walking",
}


def sentence_start(text: str) -> str:
    """Capitalise the first letter only ("a NICU stay" -> "A NICU stay"; acronyms kept)."""
    return text[:1].upper() + text[1:]


def age_words(months: float) -> str:
    """An age as a clinician says it: "10 days", "6 weeks", "8 months", "7 years 10 months"."""
    if months < 1:
        days = round(months * 30.4375)
        if days < 14:
            return "1 day" if days == 1 else f"{days} days"
        return f"{round(days / 7)} weeks"
    if months < 24:
        whole = round(months)
        return "1 month" if whole == 1 else f"{whole} months"
    years, rest = divmod(round(months), 12)
    if rest == 0:
        return f"{years} years"
    return f"{years} years {rest} month{'s' if rest != 1 else ''}"


def words(code: str | None) -> str:
    """A coded value as words for a sentence ("white_yellow" -> "white-yellow")."""
    if code is None:
        return "unknown"
    labels: dict[str, str] = LABELS  # declared: the compiled engine reads it as a dict
    label = labels.get(code)
    # The replacement only when there is no label (as a default argument it ran every time).
    return code.replace("_", " ") if label is None else label
