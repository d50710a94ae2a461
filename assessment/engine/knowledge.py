"""Entity cards: what each diagnosis means for subtype, management, course and follow-up.

Subtype roles follow KNOWLEDGE.md section 1: heel-stick nodules are iatrogenic with a dystrophic
alternative reading, tumoral calcinosis is idiopathic with a metastatic alternative (HFTC), and
calciphylaxis is the severe form of metastatic calcinosis.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entity:
    code: str
    label: str
    # "yes": calcinosis; "secondary": calcification inside another lesion; "no": a mimic
    calcinosis: str
    subtype: str | None = None
    alternative_subtype: tuple[str, str] | None = None  # (subtype, reason with source)
    management: str = "watchful_waiting"
    management_reason: str = ""
    options: tuple[str, ...] = ()
    course: str = ""
    # Resolution window as ages in months: "absolute" (the literature gives ages) or
    # "from_onset" (the literature gives a duration after onset).
    window: tuple[float, float] | None = None
    window_kind: str = "absolute"
    follow_up_weeks: int = 12
    tags: tuple[str, ...] = field(default_factory=tuple)
    # The active treatment offered when this benign entity is symptomatic (pain, walking).
    active_option: str = ""


E = Entity
ENTITY_LIST: tuple[Entity, ...] = (
    E("calcified_heel_stick_nodule",
      "Calcified heel-stick nodule (calcinosis after neonatal heel pricks)", "yes",
      subtype="iatrogenic",
      alternative_subtype=("dystrophic", "Heel-stick nodules are post-traumatic dystrophic "
                           "calcification in VisualDx [V R3]; the source documents list them as "
                           "iatrogenic [S]."),
      management="watchful_waiting",
      management_reason="Isolated, asymptomatic heel-stick nodules are left to resolve "
                        "[V R3][V R5]; recheck in 3–6 months [M].",
      options=("Reassure the family: heel-stick nodules resolve on their own, usually by "
               "18–30 months of age [V R3].",
               "Recheck in about 3 months (3–6 months is a reviewable default [M]).",
               "Curettage, shave or excision only if symptomatic (tender in shoes, limits "
               "walking) or persistent [V R5][S][M]."),
      course="Heel-stick nodules usually resolve spontaneously between 18 and 30 months of age "
             "[V R3], about 14–18 months after appearing, by transepidermal elimination [V R6]; "
             "some persist or recur to 4–7 years [V R5].",
      window=(18, 30), follow_up_weeks=12),
    E("calcium_extravasation_calcinosis",
      "Calcinosis after calcium gluconate/chloride extravasation", "yes", subtype="iatrogenic",
      management="watchful_waiting",
      management_reason="Most extravasation calcinosis resolves without sequelae; supportive "
                        "care avoids needless antibiotics or surgery [V R11][V R12][V R13].",
      options=("Supportive care: analgesia and wound care [V R13].",
               "Avoid unnecessary antibiotics or surgery: it is often mistaken for cellulitis "
               "or abscess [V R13].",
               "Debridement only for a necrotic crust [V R17].",
               "Prevention: dilute calcium infusions and check the line often [V R15]."),
      course="Extravasation calcinosis resolves over 3 weeks to 6 months [V R11] (3–4 weeks "
             "[V R12]; 12 weeks [V R13]).",
      window=(0.7, 6), window_kind="from_onset", follow_up_weeks=4),
    E("electrode_paste_calcinosis", "Calcinosis from calcium-containing electrode paste "
      "(EEG/EMG/ABR)", "yes", subtype="iatrogenic",
      management_reason="Electrode-paste calcinosis is left to resolve unless ulcerated or "
                        "infected [M].",
      options=("Reassurance; lesions clear by transepidermal elimination [M].",
               "Treat only if ulcerated or infected [M]."),
      course="Expected to resolve over weeks to months by transepidermal elimination (not "
             "verified against a source) [M].", follow_up_weeks=8),
    E("iatrogenic_calcinosis_other", "Iatrogenic calcinosis from a calcium dressing or another "
      "treatment", "yes", subtype="iatrogenic",
      management_reason="Remove the source of calcium; lesions are usually left to resolve [M].",
      options=("Stop the calcium-containing dressing or treatment at the site [V R72].",),
      course="Course not established in the sources [M].", follow_up_weeks=8),
    E("milia_like_idiopathic_calcinosis_cutis", "Milia-like idiopathic calcinosis cutis (MICC)",
      "yes", subtype="idiopathic",
      management_reason="MICC regresses spontaneously; avoid unnecessary procedures "
                        "[V R18][V R20].",
      options=("Watchful waiting; avoid unnecessary procedures [V R18][V R20].",
               "Biopsy only if the diagnosis is uncertain [M]."),
      course="MICC regresses over months (about 6 months [V R18]; about 21 months [V R21]) or "
             "by adulthood [V R20].", follow_up_weeks=12),
    E("subepidermal_calcified_nodule", "Subepidermal calcified nodule (SCN; solitary idiopathic "
      "calcinosis)", "yes", subtype="idiopathic",
      alternative_subtype=("dystrophic", "An SCN may be dystrophic calcification after an "
                           "unnoticed injury [V R26]."),
      management_reason="An asymptomatic SCN can be managed expectantly [V R25].",
      options=("Expectant management while asymptomatic [V R25].",
               "Excision if symptomatic or if histology is needed for the diagnosis "
               "[V R25][V R73]."),
      course="Benign; a predictable spontaneous-regression window is not established [M].",
      follow_up_weeks=12,
      active_option="Excision of the symptomatic nodule [V R25][V R73]."),
    E("dystrophic_calcinosis_post_traumatic", "Dystrophic calcinosis after local injury", "yes",
      subtype="dystrophic",
      management_reason="Dystrophic calcinosis of a healed local injury is observed unless "
                        "symptomatic [M].",
      options=("Observe while asymptomatic [M].",
               "Excision, curettage or topical/intralesional sodium thiosulfate if "
               "symptomatic [S][V R84][V R66]."),
      course="Course depends on the injury; not established in the sources [M].",
      follow_up_weeks=12,
      active_option="Excision or curettage of the symptomatic deposit [S]."),
    E("metastatic_calcinosis_renal_failure", "Metastatic calcinosis of renal failure (CKD-MBD)",
      "yes", subtype="metastatic", management="refer",
      management_reason="Metastatic calcinosis in renal disease needs nephrology-led control "
                        "of phosphate, PTH and dialysis [V R30][V R31].",
      options=("Paediatric nephrology: control phosphate (diet, non-calcium binders), PTH "
               "(calcimimetic or parathyroidectomy) and dialysis adequacy [V R31][V R33].",
               "Local wound care for ulcerated lesions [S].",
               "Excise symptomatic masses [V R34]."),
      course="Lesions can regress once Ca×P and PTH are corrected: ulcers healed within 2.5 "
             "months after parathyroidectomy in one report [V R33].", follow_up_weeks=4),
    E("metastatic_calcinosis_other", "Metastatic calcinosis from another disorder of calcium or "
      "phosphate", "yes", subtype="metastatic", management="refer",
      management_reason="Abnormal calcium or phosphate metabolism needs its cause found and "
                        "treated [S].",
      options=("Endocrinology: look for hyperparathyroidism, vitamin D excess, milk-alkali "
               "syndrome, sarcoidosis or malignancy [S].",),
      course="Depends on correcting the underlying disorder [S].", follow_up_weeks=4),
    E("calciphylaxis", "Calciphylaxis (calcific uraemic arteriolopathy)", "yes",
      subtype="metastatic", management="urgent",
      management_reason="Calciphylaxis threatens life: adult 1-year mortality exceeds 50% "
                        "[V R36].",
      options=("Same-day assessment; intravenous sodium thiosulfate is first-line [V R37].",
               "Correct calcium, phosphate and PTH; parathyroidectomy is the best option in "
               "children per one review [V R35].",
               "Wound care; stop calcium and vitamin D loads [V R36]."),
      course="Progressive without treatment; sepsis is the main cause of death [V R79].",
      follow_up_weeks=0),
    E("ctd_calcinosis", "Calcinosis of connective tissue disease (JDM, SLE, scleroderma)", "yes",
      subtype="dystrophic", management="refer",
      management_reason="Early, aggressive control of disease activity limits calcinosis "
                        "[V R82]; paediatric rheumatology leads [V R38][V R39].",
      options=("Paediatric rheumatology referral [V R38][V R39].",
               "Calcinosis-directed therapies (bisphosphonates, diltiazem, sodium thiosulfate, "
               "IVIG, surgery) have anecdotal evidence only [V R38][V R84][M]."),
      course="JDM calcinosis may persist for years; persistence is linked to longer untreated "
             "disease [V R82].", follow_up_weeks=4),
    E("tumoral_calcinosis", "Tumoral calcinosis (including hyperphosphataemic familial tumoral "
      "calcinosis, HFTC)", "yes", subtype="idiopathic",
      alternative_subtype=("metastatic", "HFTC is a disorder of FGF23-mediated phosphate "
                           "handling with hyperphosphataemia, so its mechanism is metastatic "
                           "[V R41][V R42]."),
      management="refer",
      management_reason="HFTC needs endocrine/metabolic bone and orthopaedic care [V R41][V R44].",
      options=("Endocrine/metabolic bone referral: low-phosphate diet, phosphate binders, "
               "acetazolamide [V R41][V R44].",
               "Excision of disabling masses; incomplete excision recurs [V R69]."),
      course="Recurrent; no therapy has proven efficacy [V R41].", follow_up_weeks=4),
    E("subcutaneous_fat_necrosis_with_hypercalcemia", "Subcutaneous fat necrosis of the newborn "
      "(SCFN) with risk of hypercalcaemia", "yes", subtype="dystrophic",
      management="watchful_waiting",
      management_reason="SCFN skin lesions resolve, but hypercalcaemia must be monitored "
                        "[V R45].",
      options=("Ionised calcium at diagnosis and monitoring for at least the first 3 months "
               "[V R45].",
               "Hypercalcaemia: low-calcium/low-vitamin D formula and hydration; bisphosphonate "
               "if refractory [V R47]."),
      course="Skin lesions resolve over weeks to months; hypercalcaemia may appear 1–6 months "
             "after the skin lesions [V R46].", follow_up_weeks=2),
    E("idiopathic_calcinosis_cutis", "Idiopathic calcinosis cutis (no local or metabolic cause; "
      "e.g. subcutaneous nodules, scrotal)", "yes",
      subtype="idiopathic",
      management_reason="Idiopathic calcinosis with normal calcium and phosphate and no symptoms "
                        "can be observed [V R1][M].",
      options=("Observe while asymptomatic [M].",
               "Excision if symptomatic or for histology [S]."),
      course="Benign; deposits may persist or slowly extrude; no regression window is "
             "established [M].", follow_up_weeks=12,
      active_option="Excision of the symptomatic deposit [S]."),
    E("pilomatricoma", "Pilomatricoma (calcifying epithelioma of Malherbe)", "secondary",
      subtype="dystrophic", management="refer",
      management_reason="Pilomatricoma does not regress and needs excision [V R50].",
      options=("Refer for surgical excision [V R50].",
               "Multiple pilomatricomas: consider myotonic dystrophy or Gardner syndrome "
               "[V R50]."),
      course="Does not regress [V R50].", follow_up_weeks=8),
    E("osteoma_cutis", "Osteoma cutis (bone in the skin, not calcinosis)", "no",
      management="refer",
      management_reason="Osteoma cutis is distinct from calcinosis; consider PTH resistance "
                        "(GNAS disorders) [V R29][M].",
      options=("Dermatology/endocrinology review for GNAS-related disorders [M].",),
      course="Persistent [M].", follow_up_weeks=8),
    E("verruca_plantaris", "Plantar wart (verruca plantaris)", "no",
      management_reason="Many childhood warts clear spontaneously [M].",
      options=("Observe, or topical salicylic acid if painful [M].",),
      course="Often clears spontaneously over months to years [M].", follow_up_weeks=12,
      active_option="Painful plantar wart: salicylic acid with paring, or cryotherapy [M]."),
    E("verruca_vulgaris", "Common wart (verruca vulgaris)", "no",
      management_reason="Many childhood warts clear spontaneously [M].",
      options=("Observe, or topical salicylic acid if troublesome [M].",),
      course="Often clears spontaneously over months to years [M].", follow_up_weeks=12,
      active_option="Troublesome wart: salicylic acid or cryotherapy [M]."),
    E("epidermal_inclusion_cyst", "Epidermal inclusion cyst", "no",
      management_reason="Asymptomatic cysts can be observed; excise if tender in shoes [M].",
      options=("Excision if symptomatic [M].",), course="Persists [M].", follow_up_weeks=12,
      active_option="Tender cyst: complete excision with the cyst wall [M]."),
    E("molluscum_contagiosum", "Molluscum contagiosum", "no",
      management_reason="Molluscum is self-limiting [M].",
      options=("Observe; it is self-limiting [M].",), course="Clears over months [M].",
      follow_up_weeks=12),
    E("milia", "Milia", "no", management_reason="Milia resolve on their own [M].",
      options=("Reassure [M].",), course="Resolve spontaneously [M].", follow_up_weeks=12),
    E("cutaneous_horn", "Cutaneous horn", "no", management="treat",
      management_reason="A cutaneous horn needs removal with examination of its base [V R3][M].",
      options=("Excision or shave with histology of the base [M].",),
      course="Persists [M].", follow_up_weeks=8),
    E("precalcaneal_congenital_fibrolipomatous_hamartoma",
      "Precalcaneal congenital fibrolipomatous hamartoma / infantile pedal papules", "no",
      management_reason="Benign fat-containing papules that resolve by 2–3 years [V R48][V R49].",
      options=("Reassure; no treatment needed [V R48][V R49].",),
      course="Resolves by 2–3 years of age [V R49].", window=(24, 36), follow_up_weeks=24),
    E("piezogenic_pedal_papules", "Piezogenic pedal papules", "no",
      management_reason="Positional fat herniations; reassurance [V R49][M].",
      options=("Reassure [M].",), course="Persistent, positional [M].", follow_up_weeks=24,
      active_option="Painful papules: heel cups or compression hosiery; avoid prolonged "
                    "standing [M]."),
    E("callus_corn", "Callus or corn", "no",
      management_reason="Pressure-related hyperkeratosis; offload [M].",
      options=("Footwear advice and offloading [M].",), course="Recurs with pressure [M].",
      follow_up_weeks=12,
      active_option="Painful callus or corn: paring, padding and footwear offloading [M]."),
    E("foreign_body_granuloma", "Foreign-body granuloma", "no", management="treat",
      management_reason="A retained foreign body needs removal [M].",
      options=("Imaging and removal of the foreign body [M].",), course="Persists [M].",
      follow_up_weeks=4),
    E("cellulitis_abscess", "Cellulitis or abscess (including heel-prick abscess)", "no",
      management="urgent",
      management_reason="Suspected abscess needs same-day assessment [V R10].",
      options=("Same-day assessment: CRP, blood count, blood culture; drainage if fluctuant "
               "[V R10][M].",),
      course="Needs treatment [V R10].", follow_up_weeks=0),
    E("osteomyelitis", "Calcaneal osteomyelitis", "no", management="urgent",
      management_reason="Calcaneal osteomyelitis after heel pricks needs same-day assessment "
                        "[V R10].",
      options=("Same-day assessment: CRP/ESR, blood culture, X-ray and MRI of the calcaneus "
               "[V R10].",),
      course="Needs treatment [V R10].", follow_up_weeks=0),
    E("hematoma", "Haematoma (possibly calcifying)", "no",
      management_reason="Haematomas resolve; a calcified haematoma is a recognised mimic "
                        "[V R13].",
      options=("Observe [M].",), course="Resolves over weeks [M].", follow_up_weeks=4),
    E("infusion_phlebitis", "Infusion phlebitis", "no", management="treat",
      management_reason="Phlebitis at an infusion site: remove the line and treat locally [M].",
      options=("Remove the cannula; elevate; watch for infection [M].",),
      course="Settles over days once the line is removed [M].", follow_up_weeks=1),
    E("syringoma", "Syringoma", "no",
      management_reason="Benign adnexal papules; seen with MICC in Down syndrome [V R18][V R23].",
      options=("Reassure [M].",), course="Persistent, benign [M].", follow_up_weeks=24),
)
ENTITIES: dict[str, Entity] = {e.code: e for e in ENTITY_LIST}
ENTITY_ORDER = {code: index for index, code in enumerate(ENTITIES)}
CALCINOSIS_ENTITIES = tuple(e.code for e in ENTITY_LIST if e.calcinosis in ("yes", "secondary"))
MIMIC_ENTITIES = tuple(e.code for e in ENTITY_LIST if e.calcinosis == "no")


# --- Names inside sentences ------------------------------------------------------------------
# The label is a heading; inside a sentence an entity is called by its short name (never a
# lower-cased label: "(scn; ...)" reads as a code).
SHORT_NAMES: dict[str, str] = {
    "calcified_heel_stick_nodule": "heel-stick nodule",
    "calcium_extravasation_calcinosis": "calcium extravasation calcinosis",
    "electrode_paste_calcinosis": "electrode-paste calcinosis",
    "iatrogenic_calcinosis_other": "iatrogenic calcinosis",
    "milia_like_idiopathic_calcinosis_cutis": "MICC",
    "subepidermal_calcified_nodule": "subepidermal calcified nodule (SCN)",
    "dystrophic_calcinosis_post_traumatic": "dystrophic calcinosis",
    "metastatic_calcinosis_renal_failure": "metastatic calcinosis of renal failure",
    "metastatic_calcinosis_other": "metastatic calcinosis",
    "calciphylaxis": "calciphylaxis",
    "ctd_calcinosis": "calcinosis of connective tissue disease",
    "tumoral_calcinosis": "tumoral calcinosis",
    "subcutaneous_fat_necrosis_with_hypercalcemia": "subcutaneous fat necrosis (SCFN)",
    "idiopathic_calcinosis_cutis": "idiopathic calcinosis cutis",
    "pilomatricoma": "pilomatricoma",
    "osteoma_cutis": "osteoma cutis",
    "verruca_plantaris": "plantar wart",
    "verruca_vulgaris": "common wart",
    "epidermal_inclusion_cyst": "epidermal inclusion cyst",
    "molluscum_contagiosum": "molluscum",
    "milia": "milia",
    "cutaneous_horn": "cutaneous horn",
    "precalcaneal_congenital_fibrolipomatous_hamartoma": "precalcaneal fibrolipomatous hamartoma",
    "piezogenic_pedal_papules": "piezogenic pedal papules",
    "callus_corn": "callus or corn",
    "foreign_body_granuloma": "foreign-body granuloma",
    "cellulitis_abscess": "cellulitis or abscess",
    "osteomyelitis": "calcaneal osteomyelitis",
    "hematoma": "haematoma",
    "infusion_phlebitis": "infusion phlebitis",
    "syringoma": "syringoma",
}


def short(code: str) -> str:
    return SHORT_NAMES[code]


# --- Plausibility by age and site --------------------------------------------------------------
@dataclass(frozen=True)
class Plausibility:
    """Where and when an entity occurs. Outside it, the entity is argued against (with this
    sentence) and cannot lead on generic findings."""

    ages: tuple[float, float] | None  # months, inclusive
    age_text: str  # "JDM presents from about 2 years"
    sites: frozenset[str] | None
    site_text: str
    source: str


_FOOT = frozenset({"heel", "sole", "toe", "foot_dorsum"})
_PLANTAR = frozenset({"heel", "sole", "toe"})
_FACE = frozenset({"face", "eyelid", "head_neck", "ear", "scalp"})
P = Plausibility
PLAUSIBILITY: dict[str, Plausibility] = {
    "calcified_heel_stick_nodule": P(
        (2, 84), "heel-stick nodules appear at 4–12 months and rarely persist beyond 4–7 years",
        frozenset({"heel"}), "heel-stick nodules are confined to the heels", "[V R3][V R5]"),
    "milia_like_idiopathic_calcinosis_cutis": P(
        (6, 216), "MICC is reported from infancy (mostly from 19 months) to adolescence", None,
        "", "[V R21][S]"),
    "ctd_calcinosis": P(
        (24, 216), "JDM and other connective tissue diseases with calcinosis begin after "
        "infancy", None, "", "[V R38][M]"),
    "tumoral_calcinosis": P(
        (24, 216), "tumoral calcinosis usually presents between about 6 and 25 years", None, "",
        "[V R69][V R85]"),
    "subcutaneous_fat_necrosis_with_hypercalcemia": P(
        (0, 6), "SCFN appears in the first weeks of life", None, "", "[V R47]"),
    "verruca_plantaris": P(
        (6, 216), "warts are uncommon in infants", _PLANTAR,
        "plantar warts are on the sole", "[V R53][M]"),
    "verruca_vulgaris": P((6, 216), "warts are uncommon in infants", None, "", "[M]"),
    "molluscum_contagiosum": P((6, 216), "molluscum is uncommon before 6 months", None, "",
                               "[M]"),
    "precalcaneal_congenital_fibrolipomatous_hamartoma": P(
        (0, 36), "precalcaneal hamartomas are present at birth or in early infancy and resolve "
        "by 2–3 years", frozenset({"heel"}), "they sit on the medial plantar heel",
        "[V R48][V R49]"),
    "piezogenic_pedal_papules": P(
        (48, 216), "piezogenic papules are seen in older children and adults", _FOOT,
        "they are heel papules seen on standing", "[V R49]"),
    "callus_corn": P((12, 216), "calluses form at pressure points once a child walks", _FOOT,
                     "calluses form at pressure points of the foot", "[M]"),
    "osteomyelitis": P(None, "", _FOOT, "calcaneal osteomyelitis involves the heel", "[V R10]"),
    "syringoma": P((60, 216), "syringomas appear from late childhood (earlier in Down "
                   "syndrome)", _FACE, "syringomas are periorbital", "[V R18][M]"),
    "milia": P(None, "", _FACE | frozenset({"trunk", "scrotum"}),
               "milia favour the face (cheeks, eyelids)", "[V R3]"),
}


# --- Referral: the specialty that fits the cause -------------------------------------------
REFER_TO: dict[str, str] = {
    "metastatic_calcinosis_renal_failure": "paediatric nephrology",
    "calciphylaxis": "paediatric nephrology (same day)",
    "metastatic_calcinosis_other": "paediatric endocrinology/metabolic bone",
    "tumoral_calcinosis": "paediatric endocrinology/metabolic bone (orthopaedics for disabling "
                          "masses)",
    "ctd_calcinosis": "paediatric rheumatology",
    "pilomatricoma": "paediatric surgery or dermatology for excision",
    "osteomyelitis": "paediatric orthopaedics and infectious diseases (same day)",
    "osteoma_cutis": "paediatric dermatology and endocrinology",
}
