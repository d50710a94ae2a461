"""Reference list behind the source tags used by the rules (KNOWLEDGE.md section 12).

Tags: [V Rn] checked against an excerpt of source Rn; [S] taken from the seed documents;
[M] general clinical knowledge not checked against a source (a reviewable default).
"""

from __future__ import annotations

import re
from functools import lru_cache

EVIDENCE_TAGS = {
    "V": "checked against an excerpt of the cited source",
    "S": "taken from the seed documents the product is built from",
    "M": "general clinical knowledge, not checked against a source: a reviewable default",
}

REFERENCES: dict[str, str] = {
    "R1": "Reiter N et al. Calcinosis cutis: part I. Diagnostic pathway. J Am Acad Dermatol 2011;65:1-12. (and UpToDate summary)",
    "R2": "Medscape. Calcinosis Cutis – pathophysiology (Ca×P >70).",
    "R3": "VisualDx. Calcified nodules of the heels.",
    "R4": "Calcified nodules on the heel: a complication of neonatal intensive care (J Pediatr 1980).",
    "R5": "Contemporary Pediatrics Dermcase. Curious yellow bumps on a baby's heels.",
    "R6": "Consultant360. Cutaneous nodule from heel pricks.",
    "R7": "Contemporary Pediatrics. Full case: infant presents with an asymptomatic pearl-like nodule on the heel.",
    "R8": "Arena J et al. Skin to calcaneus distance in the neonate. Arch Dis Child Fetal Neonatal Ed 2005;90:F328.",
    "R9": "Blumenfeld TA et al. Recommended site and depth of newborn heel skin punctures. Lancet 1979;1:230-3.",
    "R10": "Yüksel S et al. Osteomyelitis of the calcaneus in the newborn: an ongoing complication of Guthrie test. Eur J Pediatr 2007;166:503-4.",
    "R11": "Song KS et al. Spontaneous resolution of iatrogenic calcinosis cutis after parenteral calcium gluconate therapy in neonates. J Korean Orthop Assoc 2019;54:192-6.",
    "R12": "Hetaimish B. Neonatal calcinosis cutis after treatment of hypocalcemia with calcium gluconate: 2 cases. Am J Case Rep 2024;25:e943397.",
    "R13": "Ghimire A. Multiple subcutaneous calcifications in a neonate after IV calcium gluconate. JNMA 2025;63.",
    "R14": "Arora A et al. Iatrogenic neonatal calcinosis cutis. Eurorad case 8455, 2011.",
    "R15": "Iatrogenic calcinosis cutis in 9-month-old baby boy: a case report. J Med Case Rep 2022.",
    "R16": "Berger PE et al. Extravasation of calcium gluconate as a cause of soft tissue calcification in infancy. AJR 1974;121.",
    "R17": "Neonatal calcinosis cutis induced by distant and delayed extravasation of IV calcium gluconate. Arch Plast Surg 2021;48:641-5.",
    "R77b": "Unusual presentation of calcinosis cutis: venous calcification after IV calcium gluconate in a preterm baby. Neonatal Med 2014;21:270 Sparks C et al. Iatrogenic neonatal calcinosis cutis, Applied Radiology",
    "R78": "Puvabanditsin S et al. Severe calcinosis cutis in an infant. Pediatr Radiol 2005;35:539-42.",
    "R18": "Milia-like calcinosis cutis in Down syndrome: a new case with a review of the literature. Dermatol Online J.",
    "R19": "Kumar P et al. MICC in a child with Down syndrome. Dermatol Online J 2016;22(5):9.",
    "R20": "Solak B et al. Milia-like calcinosis cutis in a girl with Down syndrome. An Bras Dermatol 2016;91(5).",
    "R21": "Jang EJ et al. MICC occurring in a toddler born as a premature baby. Ann Dermatol 2011;23:490-2.",
    "R22": "A solitary lesion of idiopathic calcinosis cutis in an infant: SCN or MICC? Dermatol Online J.",
    "R23": "Tanrikulu O et al. A rare association in Down syndrome: MICC and palpebral syringoma (Cutis/MDedge).",
    "R24": "VisualDx. Subepidermal calcified nodule.",
    "R25": "DermNet. Subepidermal calcified nodule (2023).",
    "R26": "Evans MJ et al. Subepidermal calcified nodule in children: 21 cases. Pediatr Dermatol 1995.",
    "R27": "Tharini GK et al. Congenital calcinosis cutis of the foot. Indian J Dermatol 2012;57:294-5.",
    "R28": "Dermpath India, Image of the month Sept 2013 (calcinosis cutis, transepidermal elimination).",
    "R29": "DermNet. Calcinosis cutis pathology (von Kossa).",
    "R30": "Christman MP, Kroshinsky D. Calcinosis cutis. In: Dermatological Manifestations of Kidney Disease, Springer 2015.",
    "R31": "NKF KDOQI Pediatric Bone Guideline 7 (serum Ca and Ca×P).",
    "R32": "Tan O et al. Extensive skin calcifications in an infant with chronic renal failure. Pediatr Dermatol 2006;23:235-8.",
    "R33": "Zouboulis CC et al. Fulminant metastatic calcinosis with cutaneous necrosis in a child with ESRD and tertiary hyperparathyroidism. Br J Dermatol 1996;135:617-22.",
    "R34": "Oh et al. Extraskeletal calcifications in children on maintenance peritoneal dialysis. Child Kidney Dis 2021;25:117-21.",
    "R35": "Fatal childhood calciphylaxis in a 10-year-old and literature review. Pediatr Dermatol 2006;23:266-72.",
    "R36": "Sprague SM. Painful skin ulcers in a hemodialysis patient. Clin J Am Soc Nephrol 2014;9:166-73.",
    "R37": "Jiménez-Gallo D et al. Calcinosis cutis and calciphylaxis. Actas Dermosifiliogr 2015;106:785-94.",
    "R38": "Hoeltzel MF et al. Calcinosis in juvenile dermatomyositis. Curr Rheumatol Rep 2014;16:467.",
    "R39": "Clinical phenotypes and biologic treatment use in JDM-associated calcinosis (CARRA registry). Pediatr Rheumatol 2018.",
    "R40": "Meher BK et al. Severe calcinosis cutis with cutaneous ulceration in JDM. Indian Pediatr 2014;51:925-7.",
    "R41": "Boyce AM et al. Hyperphosphatemic tumoral calcinosis. Front Endocrinol 2020;11:293.",
    "R42": "GeneReviews: Hyperphosphatemic familial tumoral calcinosis.",
    "R43": "OMIM #211900 HFTC1.",
    "R44": "Rodrigues F, Zacharin M. Extra-articular calcification in an adolescent boy (ESA-SRB-APEG-NZSE 2022, poster 470).",
    "R45": "Siegel LH et al. SCFN: retrospective study of 32 infants and care algorithm. Pediatr Dermatol 2022.",
    "R46": "Borgia F et al. SCFN: be aware of hypercalcaemia. J Paediatr Child Health 2006;42:316-8.",
    "R47": "Rodd C et al. SCFN with hypercalcemia in neonates treated with therapeutic hypothermia. Semin Fetal Neonatal Med 2021;26:101269 (PMID 34340905).",
    "R48": "Alowirdi F et al. Asymptomatic plantar nodules in a 1-year-old healthy girl (PCFH). JAAD Case Rep 2020;6:1179-81.",
    "R49": "Healio. A 4-month-old girl presents with papules on her heels (infantile pedal papules).",
    "R50": "Wagner AM. A 12-year-old girl with an enlarging nontender nodule on the arm. Pediatr Ann 2006;35(6).; Yellowstone Derm (15% upper extremity)",
    "R51": "Pilomatricoma imaging (Skeletal Radiol 2017).; Pediatric Imaging",
    "R52": "Zhang Y et al. Pilomatricoma in children, 468 cases. Chin J Plast Surg 2019;35:1107.",
    "R53": "Warts (common and plantar), Clinical Tree.; Foot.expert wart vs corn dermoscopy; Dermoscopy features of cutaneous warts, Int J Gen Med 2021; Ibooloo 'Can a dermatoscope detect viral wart?' (peak age 6-14 y; lateral-compression pain)",
    "R54": "Plantar epidermal cysts in children. Arch Dermatol 1997;133:1465.",
    "R55": "Lee KM et al. Epidermal cyst on the sole. Arch Plast Surg 2013;40:475-6.",
    "R56": "Mayo Clinic Laboratories, Calcium, Total, Serum (CA).",
    "R57": "Mayo Clinic Laboratories, Phosphorus (Inorganic), Serum (PHOS).",
    "R58": "Mayo Clinic Laboratories, Alkaline Phosphatase, Serum (ALP).",
    "R59": "Mayo Clinic Laboratories, Creatinine with eGFR, Serum (CRTS1).",
    "R60": "Adventist HealthCare directory of services, Phosphorus (pediatric ranges).",
    "R61": "UCSF Clinical Labs manual, Creatinine (CALIPER transference, Clin Biochem 2015;48:870-80).",
    "R62": "MedPage Today. Serum calcium measurement (reference ranges).",
    "R63": "Davis's Lab & Diagnostic Tests: Phosphorus, blood.",
    "R64": "Calcium mmol/L to mg/dL converter (factor 4.0078).",
    "R66": "Intralesional sodium thiosulfate for calcinosis cutis in systemic sclerosis. Clin Rheumatol 2021;40:2985-9.",
    "R67": "Paediatric calcinosis cutis single-institution retrospective cohort (30 cases), abstract.",
    "R68": "VisualDx. Calcinosis cutis in infant/neonate.",
    "R69": "Wikipedia. Tumoral calcinosis.",
    "R72": "Biocyclopedia. Calcinosis cutis types (Ca×P >60; electrode paste; alginate dressings).",
    "R73": "Al Karam M et al. Not a mollusc! Subepidermal calcified nodule of Winer. Klin Monbl Augenheilkd (Thieme).",
    "R76": "Regional Derm (White GM). Calcinosis cutis – plain radiography sensitive.",
    "R77": "Minars Dermatology textbook: calciphylaxis (may occur with normal Ca/P).",
    "R79": "Hale EK. Metastatic calcification (calciphylaxis). Dermatol Online J 2003;9(4):2.",
    "R79b": "Metastatic calcinosis cutis in ESRD (26-year-old).",
    "R80": "Ca×P product notes citing KDOQI (phosphate drives product).",
    "R81": "O'Neill WC. The fallacy of the calcium-phosphorus product. Kidney Int 2007 (PMID 17609689).",
    "R82": "Skin disease is more recalcitrant than muscle disease: 184 children with JDM (J Am Acad Dermatol 2020; summary).",
    "R83": "Calcinosis in JDM – systematic review. Curr Rheumatol Rep 2023.",
    "R84": "Topical sodium thiosulfate for calcinosis cutis – literature review (NZAPS 2023 abstract).",
    "R85": "Long-term outcome in HFTC/HHS (novel GALNT3 mutation). BMC Genom Data 2014.",
    "R86": "Soft-tissue calcification types (tertiary).",
    "R87": "Hicks MJ et al. SCFN and hypercalcemia. Pediatr Dermatol 1993;10:271-6.",
    "R88": "SCFN and idiopathic hypercalcemia: report of a case. Arch Dermatol 1980;116:1155-8.",
    "R89": "Vitamin D status in healthy infants (deficiency <20 ng/mL).",
    "R90": "Calcium (total) lab test, older Mayo intervals.",
    "R91": "Boer DP et al. Reference values for serum creatinine in children younger than 1 year. Pediatr Nephrol 2010;25:2107-13.",
    "R92": "Rudas lab. Calcium (factor ×0.25).",
    "R93": "Phosphorus converter (1 mmol/L = 3.097 mg/dL; 0.3229).",
    "R94": "Heymann WR. Softening the blow of calcinosis cutis: intralesional sodium thiosulfate (DermWorld Insights, 2017; mirror).",
    "R95": "Derivation of outcome-based pediatric critical values (10 biochemistry tests; thresholds at 90% probability of HDU/ICU admission).",
    "R96": "Pediatric considerations in critical value assignment (acutecaretesting.org, 2009).",
    "R97": "Mayo Clinic Laboratories, Calcium, Ionized, Serum (CAI): ≤13 days not established; 14 days–<1 year 5.21–5.99 mg/dL.",
    "R98": "Davis's Lab & Diagnostic Tests: Calcium, blood, total and ionized (ionized, whole blood, 0–11 months 1.05–1.46 mmol/L).",
    "R99": "Mayo Clinic Laboratories, Creatine Kinase (CK), Serum: ≤3 months not established; >3 months M 39–308, F 26–192 U/L.",
    "R100": "Gloucestershire Hospitals NHS Foundation Trust pathology, Creatine kinase (CK): <4 days <450 U/L; 4 days–18 years M <190, F <145 U/L.",
    "R101": "Hallmark Health laboratory test catalog, Urea Nitrogen (BUN), Serum: 0–12 months 4–19 mg/dL; 1–17 years 5–18 mg/dL.",
    "R102": "Adventist HealthCare directory of services (Quest platform), Albumin (pediatric ranges by age and sex).",
    "R103": "Mayo Clinic Laboratories, Parathyroid Hormone, Serum (PTH2): pediatric reference values by age.",
    "R104": "Mayo Clinic Laboratories, 25-Hydroxyvitamin D2 and D3, Serum (25HDN): clinical decision values for all ages (IOM 2011).",
    "R105": "Mayo Clinic Laboratories, C-Reactive Protein (CRP), Serum: <5.0 mg/L, reference values apply to all ages.",
    "R106": "Mjelle AB et al. Serum concentrations of C-reactive protein in healthy term-born Norwegian infants 48-72 hours after birth. Acta Paediatr 2019;108:849-54.",
    "R107": "Mayo Clinic Laboratories, Intact Fibroblast Growth Factor 23, Serum (IFG23): pediatric (<18 years) ≤52 pg/mL.",
}

_TAG = re.compile(r"R\d+b?")


@lru_cache(maxsize=1024)
def references_in(text: str) -> tuple[str, ...]:
    """Reference codes cited in a source tag such as "[V R3][V R5]", in order of first use.

    Cached: rules cite a few hundred distinct tags, read on every assessment."""
    seen: list[str] = []
    for code in _TAG.findall(text):
        if code in REFERENCES and code not in seen:
            seen.append(code)
    return tuple(seen)


def _numeric(code: str) -> tuple[int, str]:
    return int("".join(ch for ch in code if ch.isdigit())), code


# Outputs list references in numeric order (R77, R77b, R78).
REFERENCE_ORDER = {code: index for index, code in enumerate(sorted(REFERENCES, key=_numeric))}
