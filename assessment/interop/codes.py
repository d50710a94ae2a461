"""Code tables for the FHIR export: every external code the export writes, with where it was
checked (docs/INTEROP.md, "Code table", repeats these with their sources).

Pure Python (no Django): the tables are data, tested without a database. A code that could not
be verified against a published source is not here; the export writes that concept as text only,
so a receiving system never gets a code we invented or misremembered.
"""

from __future__ import annotations

from typing import NamedTuple

# --- Code systems ------------------------------------------------------------------------------
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# Core FHIR extension (R4/R4B) whose value is a Reference(BodyStructure).
BODY_SITE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/bodySite"

# The registry's own systems. Codes in them are the app's stored codes (snake_case): they appear
# only in Coding.code, never in a display or text a person reads.
LOCAL = "urn:calcinosis"
ENTITY_SYSTEM = f"{LOCAL}:entity"
RED_FLAG_SYSTEM = f"{LOCAL}:red-flag"
RULESET_PREFIX = f"{LOCAL}:ruleset:"
CONTRACT_PREFIX = f"{LOCAL}:contract:"


def record_number_system(site_code: str) -> str:
    """Identifier.system of a patient's pseudonymous record number at one clinic."""
    return f"{LOCAL}:{site_code}:record-number"


class Code(NamedTuple):
    system: str
    code: str
    display: str


# --- Diagnosis ---------------------------------------------------------------------------------
# ICD-10 (WHO) L94.2 "Calcinosis cutis", in L94 "Other localized connective tissue disorders".
CALCINOSIS_CUTIS_ICD10 = Code(ICD10, "L94.2", "Calcinosis cutis")

# --- Body sites: SNOMED CT "skin of ..." structures ------------------------------------------
# The lesions are in the skin, so the DICOM dermatology anatomic sites (CID 4029, SNOMED CT
# "skin of" concepts) are used. A site with no matching verified concept is exported as text.
BODY_SITES: dict[str, Code] = {
    "heel": Code(SNOMED, "84607009", "Skin of heel"),
    "toe": Code(SNOMED, "52034004", "Skin of toe"),
    "buttock": Code(SNOMED, "22180002", "Skin of buttock"),
    "hand": Code(SNOMED, "33712006", "Skin of hand"),
    "finger": Code(SNOMED, "244169007", "Skin of digit of hand"),
    "face": Code(SNOMED, "73897004", "Skin of face"),
    "ear": Code(SNOMED, "1902009", "Skin of ear"),
    "scalp": Code(SNOMED, "43067004", "Skin of scalp"),
    "scrotum": Code(SNOMED, "81992007", "Skin of scrotum"),
}

# BodyStructure.locationQualifier: SNOMED CT qualifier values.
LATERALITY: dict[str, Code] = {
    "left": Code(SNOMED, "7771000", "Left"),
    "right": Code(SNOMED, "24028007", "Right"),
    "bilateral": Code(SNOMED, "51440002", "Right and left"),
    "midline": Code(SNOMED, "399488007", "Midline"),
}
# "Plantar" (264147007) is inactive in SNOMED CT International (Feb 2025), so the central
# plantar heel is qualified as "Central" and says "central plantar" in the text.
HEEL_SUBSITES: dict[str, Code] = {
    "lateral": Code(SNOMED, "49370004", "Lateral"),
    "medial": Code(SNOMED, "255561001", "Medial"),
    "posterior": Code(SNOMED, "255551008", "Posterior"),
    "central_plantar": Code(SNOMED, "26216008", "Central"),
}

# --- Laboratory: LOINC by analyte and the kind of quantity entered -----------------------------
# LOINC codes carry the property (mass or substance concentration), so the code follows the
# unit the value is in: the value as entered and its converted value get their own codes.
UNIT_PROPERTY: dict[str, str] = {
    "mg/dL": "mass", "g/dL": "mass", "g/L": "mass", "mg/L": "mass", "pg/mL": "mass",
    "ng/mL": "mass", "ng/L": "mass",
    "mmol/L": "moles", "umol/L": "moles", "pmol/L": "moles", "nmol/L": "moles",
    "U/L": "catalytic", "%": "fraction",
}
LAB_LOINC: dict[tuple[str, str], Code] = {
    ("calcium_total", "mass"): Code(LOINC, "17861-6", "Calcium [Mass/volume] in Serum or Plasma"),
    ("calcium_total", "moles"): Code(LOINC, "2000-8", "Calcium [Moles/volume] in Serum or Plasma"),
    ("calcium_ionized", "moles"): Code(
        LOINC, "1995-0", "Calcium.ionized [Moles/volume] in Serum or Plasma"),
    ("calcium_ionized", "mass"): Code(
        LOINC, "17864-0",
        "Calcium.ionized [Mass/volume] in Serum or Plasma by Ion-selective membrane electrode "
        "(ISE)"),
    ("phosphate", "mass"): Code(LOINC, "2777-1", "Phosphate [Mass/volume] in Serum or Plasma"),
    ("phosphate", "moles"): Code(LOINC, "14879-1", "Phosphate [Moles/volume] in Serum or Plasma"),
    ("alkaline_phosphatase", "catalytic"): Code(
        LOINC, "6768-6", "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma"),
    ("creatinine", "mass"): Code(LOINC, "2160-0", "Creatinine [Mass/volume] in Serum or Plasma"),
    ("creatinine", "moles"): Code(
        LOINC, "14682-9", "Creatinine [Moles/volume] in Serum or Plasma"),
    ("bun", "mass"): Code(LOINC, "3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma"),
    ("pth", "mass"): Code(LOINC, "2731-8", "Parathyrin.intact [Mass/volume] in Serum or Plasma"),
    ("albumin", "mass"): Code(LOINC, "1751-7", "Albumin [Mass/volume] in Serum or Plasma"),
    ("crp", "mass"): Code(LOINC, "1988-5", "C reactive protein [Mass/volume] in Serum or Plasma"),
}
# Not coded (text only): urea (mg/dL, mmol/L), BUN in mmol/L, PTH in pmol/L, 25-hydroxyvitamin
# D, creatine kinase, FGF23 and tubular reabsorption of phosphate: no verified LOINC code.

# UCUM codes of the units the app accepts (assessment/engine/labs.py). They are already UCUM
# spellings, case-sensitive ("umol/L" is micromole per litre, "U/L" enzyme units per litre).
UCUM_UNITS: dict[str, str] = {unit: unit for unit in UNIT_PROPERTY}
UCUM_UNITS["mm"] = "mm"
UCUM_MONTHS = "mo"

# Observation.interpretation (HL7 v3 ObservationInterpretation).
INTERPRETATION: dict[str, Code] = {
    "high": Code(V3_INTERPRETATION, "H", "High"),
    "low": Code(V3_INTERPRETATION, "L", "Low"),
    "normal": Code(V3_INTERPRETATION, "N", "Normal"),
    "critical_high": Code(V3_INTERPRETATION, "HH", "Critical high"),
    "critical_low": Code(V3_INTERPRETATION, "LL", "Critical low"),
}
# Red flags that make a lab value critical: (analyte, direction) -> interpretation.
# ``critical_<analyte>_<low|high>`` from the engine's critical-value rules, plus the infant
# ionised-calcium rule that replaces the high one under 12 months.
CRITICAL_FLAG_EXCEPTIONS = {"ionised_calcium_above_1_6_infant": ("calcium_ionized", "high")}

# --- Lesion size (LOINC "Tumor" size codes, used for a measured mass or lesion as in mCODE) ---
LESION_SIZE = Code(LOINC, "21889-1", "Size Tumor")
LESION_LARGEST = Code(LOINC, "33728-7", "Size.maximum dimension in Tumor")
LESION_PERPENDICULAR = Code(LOINC, "44667-4", "Size.additional dimension in Tumor")

# --- FHIR core code systems ------------------------------------------------------------------
AMBULATORY = Code(V3_ACT_CODE, "AMB", "ambulatory")
CLINICAL_STATUS = {
    "active": Code(CONDITION_CLINICAL, "active", "Active"),
    "resolved": Code(CONDITION_CLINICAL, "resolved", "Resolved"),
}
VERIFICATION_STATUS = {
    "provisional": Code(CONDITION_VERIFICATION, "provisional", "Provisional"),
    "confirmed": Code(CONDITION_VERIFICATION, "confirmed", "Confirmed"),
}
PROBLEM_LIST_ITEM = Code(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")
LABORATORY = Code(OBSERVATION_CATEGORY, "laboratory", "Laboratory")
EXAM = Code(OBSERVATION_CATEGORY, "exam", "Exam")


def lab_code(analyte: str, unit: str) -> Code | None:
    """The LOINC code of ``analyte`` measured in ``unit``, or None (exported as text)."""
    return LAB_LOINC.get((analyte, UNIT_PROPERTY.get(unit, "")))


def critical_analyte(flag_code: str) -> tuple[str, str] | None:
    """(analyte, "low"|"high") when a red flag code is a critical lab value, else None."""
    if flag_code in CRITICAL_FLAG_EXCEPTIONS:
        return CRITICAL_FLAG_EXCEPTIONS[flag_code]
    if flag_code.startswith("critical_"):
        analyte, _, direction = flag_code[len("critical_"):].rpartition("_")
        if direction in ("low", "high") and analyte:
            return analyte, direction
    return None
