# cython: language_level=3, binding=False, boundscheck=False
from assessment.engine.facts cimport Facts

METASTATIC_CAUSES = None
_ION_HIGH = None
_PLANTAR = None
_f_apply = None
_f_rule_0 = None
_f_rule_1 = None
_f_rule_10 = None
_f_rule_100 = None
_f_rule_101 = None
_f_rule_102 = None
_f_rule_103 = None
_f_rule_104 = None
_f_rule_105 = None
_f_rule_106 = None
_f_rule_107 = None
_f_rule_108 = None
_f_rule_109 = None
_f_rule_11 = None
_f_rule_110 = None
_f_rule_111 = None
_f_rule_112 = None
_f_rule_113 = None
_f_rule_114 = None
_f_rule_115 = None
_f_rule_116 = None
_f_rule_117 = None
_f_rule_118 = None
_f_rule_119 = None
_f_rule_12 = None
_f_rule_120 = None
_f_rule_121 = None
_f_rule_122 = None
_f_rule_123 = None
_f_rule_124 = None
_f_rule_125 = None
_f_rule_126 = None
_f_rule_127 = None
_f_rule_128 = None
_f_rule_129 = None
_f_rule_13 = None
_f_rule_130 = None
_f_rule_131 = None
_f_rule_132 = None
_f_rule_133 = None
_f_rule_134 = None
_f_rule_135 = None
_f_rule_136 = None
_f_rule_137 = None
_f_rule_138 = None
_f_rule_139 = None
_f_rule_14 = None
_f_rule_140 = None
_f_rule_141 = None
_f_rule_142 = None
_f_rule_143 = None
_f_rule_144 = None
_f_rule_145 = None
_f_rule_146 = None
_f_rule_147 = None
_f_rule_148 = None
_f_rule_149 = None
_f_rule_15 = None
_f_rule_150 = None
_f_rule_151 = None
_f_rule_152 = None
_f_rule_153 = None
_f_rule_154 = None
_f_rule_155 = None
_f_rule_156 = None
_f_rule_157 = None
_f_rule_158 = None
_f_rule_159 = None
_f_rule_16 = None
_f_rule_160 = None
_f_rule_161 = None
_f_rule_162 = None
_f_rule_163 = None
_f_rule_164 = None
_f_rule_165 = None
_f_rule_166 = None
_f_rule_167 = None
_f_rule_168 = None
_f_rule_17 = None
_f_rule_18 = None
_f_rule_19 = None
_f_rule_2 = None
_f_rule_20 = None
_f_rule_21 = None
_f_rule_22 = None
_f_rule_23 = None
_f_rule_24 = None
_f_rule_25 = None
_f_rule_26 = None
_f_rule_27 = None
_f_rule_28 = None
_f_rule_29 = None
_f_rule_3 = None
_f_rule_30 = None
_f_rule_31 = None
_f_rule_32 = None
_f_rule_33 = None
_f_rule_34 = None
_f_rule_35 = None
_f_rule_36 = None
_f_rule_37 = None
_f_rule_38 = None
_f_rule_39 = None
_f_rule_4 = None
_f_rule_40 = None
_f_rule_41 = None
_f_rule_42 = None
_f_rule_43 = None
_f_rule_44 = None
_f_rule_45 = None
_f_rule_46 = None
_f_rule_47 = None
_f_rule_48 = None
_f_rule_49 = None
_f_rule_5 = None
_f_rule_50 = None
_f_rule_51 = None
_f_rule_52 = None
_f_rule_53 = None
_f_rule_54 = None
_f_rule_55 = None
_f_rule_56 = None
_f_rule_57 = None
_f_rule_58 = None
_f_rule_59 = None
_f_rule_6 = None
_f_rule_60 = None
_f_rule_61 = None
_f_rule_62 = None
_f_rule_63 = None
_f_rule_64 = None
_f_rule_65 = None
_f_rule_66 = None
_f_rule_67 = None
_f_rule_68 = None
_f_rule_69 = None
_f_rule_7 = None
_f_rule_70 = None
_f_rule_71 = None
_f_rule_72 = None
_f_rule_73 = None
_f_rule_74 = None
_f_rule_75 = None
_f_rule_76 = None
_f_rule_77 = None
_f_rule_78 = None
_f_rule_79 = None
_f_rule_8 = None
_f_rule_80 = None
_f_rule_81 = None
_f_rule_82 = None
_f_rule_83 = None
_f_rule_84 = None
_f_rule_85 = None
_f_rule_86 = None
_f_rule_87 = None
_f_rule_88 = None
_f_rule_89 = None
_f_rule_9 = None
_f_rule_90 = None
_f_rule_91 = None
_f_rule_92 = None
_f_rule_93 = None
_f_rule_94 = None
_f_rule_95 = None
_f_rule_96 = None
_f_rule_97 = None
_f_rule_98 = None
_f_rule_99 = None
_f_sites_102 = None
_f_sites_103 = None
_f_sites_113 = None
_f_sites_114 = None
_f_sites_125 = None
_f_sites_126 = None
_f_sites_20 = None
_f_sites_21 = None
_f_sites_44 = None
_f_sites_94 = None
_f_sites_97 = None
_f_sites_99 = None
_f_text_148 = None
_f_text_151 = None
_f_when_148 = None
_f_when_151 = None
_f_when_165 = None
_in_window = None
_infection_local = None
_infection_urgent = None
_neoplasm_found = None
_no_cause = None
_no_cause_text = None
_onset_words = None
_papular = None
_site_words = None
_wart_signs = None
age_words = None
catalog = None
critical_text = None
sentence_start = None
words = None
def run_early_rules(state, Facts _f):
    _f_age = _f.age
    _f_sex = _f.sex
    _f_h = _f.h
    _f_gestation = _f.gestation
    _f_lesion = _f.lesion
    _f_site = _f.site
    _f_features = _f.features
    _f_imaging = _f.imaging
    _f_on_heel = _f.on_heel
    _f_on_foot = _f.on_foot
    _f_head_neck = _f.head_neck
    _f_whiteish = _f.whiteish
    _f_hard = _f.hard
    _f_size = _f.size
    _f_multiple = _f.multiple
    _f_painful = _f.painful
    _f_ulcerated = _f.ulcerated
    _f_calcium_clinical = _f.calcium_clinical
    _f_papular = _f.papular
    _f_wart_signs = _f.wart_signs
    _f_labs = _f.labs
    # HS-SITE
    if _f_site == 'heel' and (_f_on_heel):
        _f_text = (f'Lesion on the {_site_words(_f)}, where heel-stick nodules occur.'.replace('on the both', 'on both'))
        _f_apply(state, _f_rule_0, _f_text, f'{_f_text} ' + '[V R3][V R5]')
    # HS-SUBSITE
    if _f_site == 'heel' and (_f_on_heel and _f_lesion.heel_subsite in ('medial', 'lateral')):
        _f_text = (f'The {_f_lesion.heel_subsite} margin of the plantar heel is a recommended puncture site (an inference from puncture-site guidance).')
        _f_apply(state, _f_rule_1, _f_text, f'{_f_text} ' + '[V R9][M]')
    # HS-OFF-HEEL
    if (not _f_on_heel):
        _f_text = (f'Site is the {words(_f_site)}: heel-stick nodules are confined to the heels.')
        _f_apply(state, _f_rule_2, _f_text, f'{_f_text} ' + '[V R3][V R5]')
    # HS-AGE-WINDOW
    if _f_site == 'heel' and (_f_on_heel and _in_window(_f)):
        _f_text = (f'First noticed {_onset_words(_f)}, inside the 4–12-month window in which heel-stick nodules appear.')
        _f_apply(state, _f_rule_3, _f_text, f'{_f_text} ' + '[V R3]')
    # HS-AGE-OUTSIDE
    if _f_site == 'heel' and (_f_on_heel and (not _in_window(_f))):
        _f_text = (f'First noticed {_onset_words(_f)}, outside the usual 4–12-month window; this lowers the likelihood but does not exclude a heel-stick nodule.')
        _f_apply(state, _f_rule_4, _f_text, f'{_f_text} ' + '[V R3][V R5]')
    # HS-STICKS-YES
    if (_f_h['neonatal_heel_sticks'] is True):
        _f_apply(state, _f_rule_5, 'Neonatal heel sticks are recorded.', 'Neonatal heel sticks are recorded. [V R3][V R6]')
    # HS-HIGH-RISK
    if _f_site == 'heel' and (_f_on_heel and bool(_f.any_yes(('preterm_birth', 'nicu_stay')))):
        _f_text = (sentence_start(' and '.join((words(k) for k in _f.any_yes(('preterm_birth', 'nicu_stay'))))) + ': many heel pricks; 16 of 20 high-risk infants had heel lesions in one survey.')
        _f_apply(state, _f_rule_6, _f_text, f'{_f_text} ' + '[V R4][V R5]')
    # HS-STICKS-UNKNOWN
    if _f_site == 'heel' and (_f_on_heel and _f_h['neonatal_heel_sticks'] is None):
        _f_apply(state, _f_rule_7, 'Heel-stick history not recorded: newborn screening uses a heel prick almost everywhere, so exposure is likely.', 'Heel-stick history not recorded: newborn screening uses a heel prick almost everywhere, so exposure is likely. [V R8]')
    # HS-STICKS-DENIED
    if _f_site == 'heel' and (_f_on_heel and _f_h['neonatal_heel_sticks'] is False):
        _f_apply(state, _f_rule_8, "Heel sticks reported as not done. A parent's 'no' is weak evidence (newborn screening uses a heel prick almost everywhere, and nodules follow even a few pricks), so the heel-stick nodule is ranked lower but kept in the differential.", "Heel sticks reported as not done. A parent's 'no' is weak evidence (newborn screening uses a heel prick almost everywhere, and nodules follow even a few pricks), so the heel-stick nodule is ranked lower but kept in the differential. [V R8][V R6]")
    # HS-LOOK
    if _f_site == 'heel' and (_f_on_heel and _f_calcium_clinical):
        _f_text = (f'{sentence_start(words(_f_lesion.color))}, {_f_lesion.consistency} lesion, as described for heel-stick nodules.')
        _f_apply(state, _f_rule_9, _f_text, f'{_f_text} ' + '[V R5][V R6]')
    # HS-SIZE-TYPICAL
    if _f_site == 'heel' and (_f_on_heel and _f_size is not None and (1.5 <= _f_size <= 5)):
        _f_text = (f'{_f_size:g} mm, within the 1.5–5 mm typical of heel-stick nodules.')
        _f_apply(state, _f_rule_10, _f_text, f'{_f_text} ' + '[V R5][V R6]')
    # HS-SIZE-LARGE
    if (_f_size is not None and _f_size > 5):
        _f_text = (f'{_f_size:g} mm is larger than the 1.5–5 mm typical of heel-stick nodules.')
        _f_apply(state, _f_rule_11, _f_text, f'{_f_text} ' + '[V R5][V R6][M]')
    # HS-INFLAMED
    if _f_site == 'heel' and (_f_on_heel and bool(_f.inflammation)):
        _f_text = (f"{sentence_start(', '.join(_f.inflammation))}: heel-stick nodules sit on normal, uninflamed skin.")
        _f_apply(state, _f_rule_12, _f_text, f'{_f_text} ' + '[V R5]')
    # HS-LATE
    if _f_site == 'heel' and (_f_on_heel and _f_age > 36):
        _f_text = (f'Child is {age_words(_f_age)} old: a heel lesion persisting past about 3 years should make one reconsider wart, epidermal cyst or SCN.')
        _f_apply(state, _f_rule_13, _f_text, f'{_f_text} ' + '[V R5][M]')
    # ID-NO-CAUSE
    if (_f.no_cause):
        _f_text = (_no_cause_text(_f))
        _f_apply(state, _f_rule_14, _f_text, f'{_f_text} ' + '[V R1]')
    # ICC-NO-CAUSE
    if (_f.no_cause):
        _f_text = (_no_cause_text(_f))
        _f_apply(state, _f_rule_15, _f_text, f'{_f_text} ' + '[V R1]')
    # ICC-DEEP
    if (_no_cause(_f) and bool(_f_calcium_clinical or _f.calcium_shown) and (_f_lesion.surface not in ('verrucous', 'hyperkeratotic')) and (not _wart_signs(_f)) and (_f_lesion.morphology in ('subcutaneous_nodule', 'mass', 'plaque') or (_f_size is not None and _f_size > 5))):
        _f_text = (f"{sentence_start(words(_f_lesion.morphology or 'deposit'))}" + (f' of {_f_size:g} mm' if _f_size is not None else '') + ' with no local or metabolic cause: idiopathic calcinosis cutis, not the 1–4 mm papules of MICC or the superficial papule of SCN.')
        _f_apply(state, _f_rule_16, _f_text, f'{_f_text} ' + '[V R1][V R18][M]')
    # SCN-SOLITARY
    if (_f_lesion.count == 1):
        _f_apply(state, _f_rule_17, 'Solitary lesion: about 80% of subepidermal calcified nodules are solitary, and a solitary idiopathic lesion is conventionally called SCN.', 'Solitary lesion: about 80% of subepidermal calcified nodules are solitary, and a solitary idiopathic lesion is conventionally called SCN. [V R25][V R22]')
    # SCN-MULTIPLE
    if (_f_multiple):
        _f_text = (f'{_f_lesion.count} lesions: SCN is mostly solitary.')
        _f_apply(state, _f_rule_18, _f_text, f'{_f_text} ' + '[V R25]')
    # SCN-AGE
    if (_f.onset_age <= 24):
        _f_apply(state, _f_rule_19, 'Noticed in the first 2 years of life, when most SCN appear.', 'Noticed in the first 2 years of life, when most SCN appear. [V R24]')
    # SCN-HEAD-NECK
    if _f_site in _f_sites_20 and (_f_head_neck):
        _f_text = (f'Site ({words(_f_site)}): SCN favours the head and neck (ear, eyelid, cheek).')
        _f_apply(state, _f_rule_20, _f_text, f'{_f_text} ' + '[V R25][V R26]')
    # SCN-FOOT
    if _f_site in _f_sites_21 and (_f_on_foot):
        _f_apply(state, _f_rule_21, 'SCN has also been reported on the foot (a congenital case in a 10-month-old).', 'SCN has also been reported on the foot (a congenital case in a 10-month-old). [V R27]')
    # SCN-LOOK
    if (_papular(_f) and (_f_size is None or _f_size <= 10) and (_f_calcium_clinical or (_f_lesion.surface == 'verrucous' and _f_whiteish))):
        _f_text = ('Yellow-white warty papule: two-thirds of SCN are warty.' if _f_lesion.surface == 'verrucous' else 'Yellow-white firm papule, as described for SCN.')
        _f_apply(state, _f_rule_22, _f_text, f'{_f_text} ' + '[V R26]')
    # MICC-MULTIPLE-ACRAL
    if (_f_multiple and (_f_lesion.distribution == 'acral' or _f_site in ('hand', 'finger'))):
        _f_apply(state, _f_rule_23, 'Multiple milia-like papules on the hands or feet: the pattern of MICC.', 'Multiple milia-like papules on the hands or feet: the pattern of MICC. [V R18][V R20][V R22]')
    # MICC-DOWN
    if (_f_h['down_syndrome'] is True):
        _f_apply(state, _f_rule_24, 'Down syndrome: present in up to two-thirds of children with MICC.', 'Down syndrome: present in up to two-thirds of children with MICC. [V R22][V R18]')
    # MICC-SOLITARY
    if (_f_lesion.count == 1):
        _f_apply(state, _f_rule_25, 'Solitary lesion: MICC is almost always multiple; a solitary idiopathic lesion is better called SCN.', 'Solitary lesion: MICC is almost always multiple; a solitary idiopathic lesion is better called SCN. [V R22]')
    # MICC-SMALL
    if (_f_whiteish and _f_size is not None and (_f_size <= 4)):
        _f_text = (f'{_f_size:g} mm white papule, within the 1–4 mm of MICC.')
        _f_apply(state, _f_rule_26, _f_text, f'{_f_text} ' + '[V R18]')
    # MICC-YOUNG
    if (6 <= _f_age < 19):
        _f_text = (f'Age {age_words(_f_age)}: MICC is mostly reported from 19 months to adolescence (mean 9.9 years).')
        _f_apply(state, _f_rule_27, _f_text, f'{_f_text} ' + '[V R21]')
    # MICC-CRUST
    if ('central_crust' in _f_imaging.dermoscopy):
        _f_apply(state, _f_rule_28, 'Central crust on dermoscopy: transepidermal elimination, common in MICC and SCN.', 'Central crust on dermoscopy: transepidermal elimination, common in MICC and SCN. [V R28][S]')
    # ICC-SCROTUM
    if _f_site == 'scrotum' and (_f_site == 'scrotum'):
        _f_apply(state, _f_rule_29, 'Scrotal calcinosis is an idiopathic form.', 'Scrotal calcinosis is an idiopathic form. [V R24][S]')
    # MIM-SCROTAL-CYST
    if _f_site == 'scrotum' and (_f_site == 'scrotum'):
        _f_apply(state, _f_rule_30, 'Scrotal calcinosis may be dystrophic calcification of epidermal cysts: look for cysts beside the nodules.', 'Scrotal calcinosis may be dystrophic calcification of epidermal cysts: look for cysts beside the nodules. [V R24][M]')
    # EX-AT-SITE
    if (_f_h['iv_calcium_at_lesion_site'] is True):
        _f_apply(state, _f_rule_31, 'IV calcium was given at this site or limb: iatrogenic even when no extravasation was documented.', 'IV calcium was given at this site or limb: iatrogenic even when no extravasation was documented. [V R14][V R17]')
    # EX-RECEIVED
    if (_f_h['iv_calcium_received'] is True and (not _f_h['iv_calcium_at_lesion_site'] is True)):
        _f_apply(state, _f_rule_32, 'IV calcium was received (site not recorded as this one); calcinosis has occurred at a site distant from the catheter.', 'IV calcium was received (site not recorded as this one); calcinosis has occurred at a site distant from the catheter. [V R17]')
    # EX-DOCUMENTED
    if (_f_h['extravasation_documented'] is True):
        _f_apply(state, _f_rule_33, 'Extravasation was documented.', 'Extravasation was documented. [V R12][V R13]')
    # EX-NONE
    if (_f_h['iv_calcium_received'] is False):
        _f_apply(state, _f_rule_34, 'No IV calcium was received.', 'No IV calcium was received. [V R12]')
    # EX-LINEAR
    if ('linear_along_vein' in _f_features):
        _f_apply(state, _f_rule_35, 'Linear along a vein: extravasation and venous calcification follow the vein.', 'Linear along a vein: extravasation and venous calcification follow the vein. [V R14][V R77b]')
    # EX-EARLY-INFLAMMATION
    if (bool(_f.inflammation) and _f_h['iv_calcium_received'] is True):
        _f_text = (f"{sentence_start(', '.join(_f.inflammation))} after IV calcium: erythema and induration within hours, nodules by about 1–2 weeks.")
        _f_apply(state, _f_rule_36, _f_text, f'{_f_text} ' + '[V R16][V R13]')
    # EX-CRUST
    if (_f_h['iv_calcium_received'] is True and ('chalky_discharge' in _f_features or _f_lesion.surface in ('crusted', 'ulcerated'))):
        _f_apply(state, _f_rule_37, 'White-yellow chalky crust or superficial ulcers, as after calcium extravasation.', 'White-yellow chalky crust or superficial ulcers, as after calcium extravasation. [V R17][S]')
    # EP-AT-SITE
    if (_f_h['electrode_paste_at_site'] is True):
        _f_apply(state, _f_rule_38, 'Calcium-containing EEG/EMG/ABR electrode paste was used at this site.', 'Calcium-containing EEG/EMG/ABR electrode paste was used at this site. [V R72][M]')
    # IO-DRESSING
    if (_f_h['calcium_dressing_at_site'] is True):
        _f_apply(state, _f_rule_39, 'A calcium-containing dressing was used at this site.', 'A calcium-containing dressing was used at this site. [V R72]')
    # DT-TRAUMA
    if (_f_h['local_trauma_at_site'] is True):
        _f_apply(state, _f_rule_40, 'Local injury at the site (trauma, burn, scar, surgery or ischaemia): dystrophic calcification of damaged tissue.', 'Local injury at the site (trauma, burn, scar, surgery or ischaemia): dystrophic calcification of damaged tissue. [V R1][S]')
    # DT-NO-CALCIUM-SIGNS
    if (_f_h['local_trauma_at_site'] is True and (not (_f_calcium_clinical or _f.calcium_shown))):
        _f_apply(state, _f_rule_41, 'No sign of calcium at the injury (a white-yellow hard lesion, chalk or a radiopaque X-ray): a haematoma, a foreign body or a scar is as likely as calcium.', 'No sign of calcium at the injury (a white-yellow hard lesion, chalk or a radiopaque X-ray): a haematoma, a foreign body or a scar is as likely as calcium. [V R76][M]')
    # MIM-SCAR-NODULE
    if (_f_h['local_trauma_at_site'] is True and _f_lesion.morphology in ('papule', 'nodule', 'subcutaneous_nodule')):
        _f_apply(state, _f_rule_42, 'A nodule at an injury or in a scar can be a suture or foreign-body granuloma.', 'A nodule at an injury or in a scar can be a suture or foreign-body granuloma. [M]')
    # MIM-FOREIGN-BODY
    if (_f_h['local_trauma_at_site'] is True and (bool(_f.inflammation) or _f_painful) and (not _f.calcium_shown) and (_f_lesion.color not in ('bluish', 'violaceous'))):
        _f_apply(state, _f_rule_43, 'A tender or inflamed papule at a penetrating injury: a retained foreign body (a splinter) granuloma.', 'A tender or inflamed papule at a penetrating injury: a retained foreign body (a splinter) granuloma. [M]')
    # MIM-CYST-IMPLANTATION
    if _f_site in _f_sites_44 and (_f_on_foot and (_f_h['local_trauma_at_site'] is True or (_f_on_heel and _f_h['neonatal_heel_sticks'] is True))):
        _f_text = ('Heel pricks can implant epidermis: an epidermal inclusion cyst at a puncture site.' if not _f_h['local_trauma_at_site'] is True else 'A penetrating injury can implant epidermis: an epidermal inclusion cyst on the sole.')
        _f_apply(state, _f_rule_44, _f_text, f'{_f_text} ' + '[V R54][V R55]')
    # CTD-KNOWN
    if (_f_h['connective_tissue_disease'] is True):
        _f_apply(state, _f_rule_45, 'Connective tissue disease (JDM, SLE or scleroderma) is diagnosed.', 'Connective tissue disease (JDM, SLE or scleroderma) is diagnosed. [V R38]')
    # CTD-SIGNS
    if (_f_h['ctd_signs'] is True):
        _f_apply(state, _f_rule_46, 'Signs of connective tissue disease (weakness, heliotrope, Gottron papules or Raynaud): calcinosis can be the presenting feature of JDM.', 'Signs of connective tissue disease (weakness, heliotrope, Gottron papules or Raynaud): calcinosis can be the presenting feature of JDM. [V R40]')
    # CTD-SITES
    if (_f_lesion.distribution in ('periarticular', 'widespread') or _f_site in ('elbow', 'knee', 'buttock', 'thigh')):
        _f_text = ((sentence_start(words(_f_lesion.distribution)) + ' distribution' if _f_lesion.distribution in ('periarticular', 'widespread') else 'Site ' + words(_f_site)) + ': a typical site of JDM calcinosis (elbows, knees, thighs, trunk, hands, buttocks).')
        _f_apply(state, _f_rule_47, _f_text, f'{_f_text} ' + '[V R38]')
    # CTD-EXCLUDE
    if (_f_age >= 24 and (not _f_h['connective_tissue_disease'] is True) and (not _f_h['ctd_signs'] is True) and bool(_f_calcium_clinical or _f.calcium_shown) and (_f_lesion.morphology in ('subcutaneous_nodule', 'mass', 'plaque') or _f_lesion.distribution in ('periarticular', 'widespread') or _f_site in ('elbow', 'knee', 'buttock', 'thigh'))):
        _f_text = ('Subcutaneous calcinosis in a child can be the presenting sign of JDM' + (' (no signs recorded now; re-examine as it evolves).' if _f_h['ctd_signs'] is False else ': examine for weakness, Gottron papules and a heliotrope rash.'))
        _f_apply(state, _f_rule_48, _f_text, f'{_f_text} ' + '[V R38][V R40]')
    # CTD-CK
    if (_f.lab_is('creatine_kinase', 'high')):
        _f_apply(state, _f_rule_49, 'Creatine kinase is raised: active myositis.', 'Creatine kinase is raised: active myositis. [V R40][M]')
    # SCFN-CONTEXT
    if (_f_h['perinatal_asphyxia_or_cooling'] is True and _f_age <= 6):
        _f_apply(state, _f_rule_50, 'Perinatal asphyxia or therapeutic cooling in a young infant: the setting of subcutaneous fat necrosis.', 'Perinatal asphyxia or therapeutic cooling in a young infant: the setting of subcutaneous fat necrosis. [V R47][V R87]')
    # SCFN-LOOK
    if (_f_age < 3 and _f_lesion.morphology in ('subcutaneous_nodule', 'plaque') and (_f_lesion.color in ('erythematous', 'violaceous'))):
        _f_apply(state, _f_rule_51, 'Firm erythematous-violaceous subcutaneous nodules or plaques in the first weeks of life.', 'Firm erythematous-violaceous subcutaneous nodules or plaques in the first weeks of life. [V R47]')
    # SCFN-SITE
    if (_f_age < 3 and _f_site in ('trunk', 'buttock', 'thigh', 'shoulder', 'face')):
        _f_apply(state, _f_rule_52, 'Back, shoulders, buttocks, thighs or cheeks: typical SCFN sites.', 'Back, shoulders, buttocks, thighs or cheeks: typical SCFN sites. [M]')
    # MR-RENAL
    if (_f_h['renal_disease'] is True):
        _f_apply(state, _f_rule_53, 'Renal disease (CKD, ESRD or dialysis) is recorded.', 'Renal disease (CKD, ESRD or dialysis) is recorded. [V R30]')
    # MR-CREATININE
    if (_f.lab_is('creatinine', 'high')):
        _f_text = (f"Creatinine {_f_labs['creatinine'].value:g} {_f_labs['creatinine'].unit} is above the interval for age: impaired renal function.")
        _f_apply(state, _f_rule_54, _f_text, f'{_f_text} ' + '[V R59][V R30]')
    # MR-PHOSPHATE
    if (_f.lab_is('phosphate', 'high')):
        _f_text = (f"Phosphate {_f_labs['phosphate'].value:g} {_f_labs['phosphate'].unit} is high: hyperphosphataemia drives metastatic calcification.")
        _f_apply(state, _f_rule_55, _f_text, f'{_f_text} ' + '[V R30][V R80]')
    # MR-CAXP-HIGH
    if (_f.caxp_high):
        _f_text = (f'Ca×P {_f.caxp:.1f} mg²/dL² is at or above 70, the classic threshold for metastatic calcification.')
        _f_apply(state, _f_rule_56, _f_text, f'{_f_text} ' + '[V R2]')
    # MR-CAXP-TARGET
    if (_f.caxp_above_target and (not _f.caxp_high)):
        _f_text = (f'Ca×P {_f.caxp:.1f} mg²/dL² is above the KDOQI paediatric target ({_f.caxp_target:g} at this age): increased risk.')
        _f_apply(state, _f_rule_57, _f_text, f'{_f_text} ' + '[V R31]')
    # MR-HEEL
    if _f_site == 'heel' and (_f_on_heel):
        _f_apply(state, _f_rule_58, 'Metastatic calcinosis at the heel is unusual (periarticular sites are typical).', 'Metastatic calcinosis at the heel is unusual (periarticular sites are typical). [S][V R79b]')
    # MR-PERIARTICULAR
    if (_f_lesion.distribution == 'periarticular'):
        _f_apply(state, _f_rule_59, 'Periarticular nodules: the usual pattern of metastatic calcinosis in renal failure.', 'Periarticular nodules: the usual pattern of metastatic calcinosis in renal failure. [V R79b]')
    # MR-NORMAL-MINERALS
    if (_f.measured('calcium_total', 'phosphate') and _f.lab_is('calcium_total', 'normal', 'low') and _f.lab_is('phosphate', 'normal', 'low') and (not _f.metastatic_evidence)):
        _f_apply(state, _f_rule_60, 'Serum calcium and phosphate are not raised for age: metastatic calcinosis needs high calcium or phosphate, or renal failure.', 'Serum calcium and phosphate are not raised for age: metastatic calcinosis needs high calcium or phosphate, or renal failure. [V R1][V R3]')
    # MR-NO-RENAL
    if (_f_h['renal_disease'] is False and (not _f.renal_impairment)):
        _f_apply(state, _f_rule_61, 'No renal disease is recorded.', 'No renal disease is recorded. [V R30]')
    # MR-CREATININE-NORMAL
    if (_f.lab_is('creatinine', 'normal') and (not _f.lab_is('creatinine', 'high')) and (not _f_h['renal_disease'] is True)):
        _f_text = (f"Creatinine {_f_labs['creatinine'].value:g} {_f_labs['creatinine'].unit} is normal for age: no renal failure.")
        _f_apply(state, _f_rule_62, _f_text, f'{_f_text} ' + '[V R59]')
    # MO-CAUSE
    if (bool(_f.any_yes(METASTATIC_CAUSES))):
        _f_text = (f"{sentence_start(', '.join((words(k) for k in _f.any_yes(METASTATIC_CAUSES))))}: a cause of hypercalcaemia and metastatic calcinosis.")
        _f_apply(state, _f_rule_63, _f_text, f'{_f_text} ' + '[S]')
    # MO-CALCIUM-HIGH
    if (_f.lab_is('calcium_total', 'high') or _f.lab_is('calcium_ionized', 'high')):
        _f_text = (sentence_start(' and '.join((name for name, analyte in (('total calcium', 'calcium_total'), ('ionised calcium', 'calcium_ionized')) if _f.lab_is(analyte, 'high')))) + (' are' if _f.lab_is('calcium_total', 'high') and _f.lab_is('calcium_ionized', 'high') else ' is') + ' high for age.')
        _f_apply(state, _f_rule_64, _f_text, f'{_f_text} ' + '[V R1][S]')
    # MO-VITAMIN-D-HIGH
    if (_f.vitamin_d_toxic):
        _f_apply(state, _f_rule_65, '25-hydroxyvitamin D above 150 ng/mL: possible vitamin D excess.', '25-hydroxyvitamin D above 150 ng/mL: possible vitamin D excess. [M]')
    # MO-PTH-HIGH
    if (_f.lab_is('pth', 'high')):
        _f_apply(state, _f_rule_66, 'PTH is raised for age.', 'PTH is raised for age. [V R30][M]')
    # MO-LOW-CALCIUM-ALONE
    if (_f.lab_is('calcium_total', 'low') and (not _f.lab_is('phosphate', 'high'))):
        _f_apply(state, _f_rule_67, 'Low calcium alone does not make calcinosis metastatic: it is often the reason IV calcium was given.', 'Low calcium alone does not make calcinosis metastatic: it is often the reason IV calcium was given. [V R15][V R30]')
    # CP-SIGNS
    if (bool(_f.ischaemic_signs)):
        _f_text = (f"{sentence_start(', '.join(_f.ischaemic_signs))}: the course of calciphylaxis (livedo, retiform purpura, necrosis).")
        _f_apply(state, _f_rule_68, _f_text, f'{_f_text} ' + '[V R37][V R36]')
    # CP-RENAL-SIGNS
    if (bool(_f.ischaemic_signs) and bool(_f.renal_impairment)):
        _f_apply(state, _f_rule_69, 'Ischaemic skin signs in a child with renal impairment.', 'Ischaemic skin signs in a child with renal impairment. [V R35][V R37]')
    # CP-RENAL-PAIN
    if (_f_painful and bool(_f.renal_impairment)):
        _f_apply(state, _f_rule_70, 'Pain in a child with renal impairment: hyperaesthetic pain is the sentinel symptom of calciphylaxis in children.', 'Pain in a child with renal impairment: hyperaesthetic pain is the sentinel symptom of calciphylaxis in children. [V R35]')
    # CP-HISTOLOGY
    if (_f_imaging.histology == 'vascular_calcification'):
        _f_apply(state, _f_rule_71, 'Histology shows calcification of small and medium vessels.', 'Histology shows calcification of small and medium vessels. [V R37]')
    # TC-PERIARTICULAR-MASS
    if (_f_lesion.distribution == 'periarticular' or (_f_lesion.morphology == 'mass' and _f_site in ('shoulder', 'elbow', 'thigh'))):
        _f_apply(state, _f_rule_72, 'Periarticular calcified mass (hips, elbows, shoulders): the pattern of tumoral calcinosis.', 'Periarticular calcified mass (hips, elbows, shoulders): the pattern of tumoral calcinosis. [V R42][V R69]')
    # TC-HYPERPHOSPHATAEMIA-NORMAL-RENAL
    if (_f.lab_is('phosphate', 'high') and 'creatinine' in _f_labs and (not _f.renal_impairment)):
        _f_apply(state, _f_rule_73, 'High phosphate with normal renal function: the biochemistry of HFTC.', 'High phosphate with normal renal function: the biochemistry of HFTC. [V R42]')
    # TC-FAMILY
    if (_f_h['family_history_calcinosis'] is True):
        _f_apply(state, _f_rule_74, 'Family history of calcinosis: HFTC is autosomal recessive.', 'Family history of calcinosis: HFTC is autosomal recessive. [V R42]')
    # TC-YOUNG
    if (24 <= _f_age < 72):
        _f_apply(state, _f_rule_75, 'Tumoral calcinosis usually presents between about 6 and 25 years.', 'Tumoral calcinosis usually presents between about 6 and 25 years. [V R69][V R85]')
    # IMG-XRAY-CALCIUM
    if (_f_imaging.xray == 'radiopaque'):
        _f_apply(state, _f_rule_76, 'Radiopaque on X-ray: calcium is present (plain radiography is sensitive).', 'Radiopaque on X-ray: calcium is present (plain radiography is sensitive). [V R76]')
    # IMG-XRAY-NEGATIVE
    if (_f_imaging.xray == 'no_calcification' and (not (_f_h['iv_calcium_received'] is True and _f.onset_known and (_f_age - _f.onset_age < 0.75)))):
        _f_apply(state, _f_rule_77, 'No calcification on X-ray, which is sensitive for calcinosis.', 'No calcification on X-ray, which is sensitive for calcinosis. [V R76]')
    # IMG-XRAY-EARLY
    if (_f_imaging.xray == 'no_calcification' and _f_h['iv_calcium_received'] is True and _f.onset_known and (_f_age - _f.onset_age < 0.75)):
        _f_apply(state, _f_rule_78, 'X-ray negative within 3 weeks of IV calcium: radiographs can turn positive at 1–3 weeks; repeat it.', 'X-ray negative within 3 weeks of IV calcium: radiographs can turn positive at 1–3 weeks; repeat it. [V R13]')
    # IMG-US-SHADOWING
    if (_f_imaging.ultrasound == 'calcification_with_shadowing'):
        _f_apply(state, _f_rule_79, 'Echogenic focus with posterior acoustic shadowing on ultrasound: calcification.', 'Echogenic focus with posterior acoustic shadowing on ultrasound: calcification. [V R51][V R48]')
    # IMG-US-HYPERECHOIC
    if (_f_imaging.ultrasound == 'hyperechoic_without_shadowing'):
        _f_apply(state, _f_rule_80, 'Hyperechoic without shadowing on ultrasound is not specific for calcium: fat in a precalcaneal fibrolipomatous hamartoma is hyperechoic too.', 'Hyperechoic without shadowing on ultrasound is not specific for calcium: fat in a precalcaneal fibrolipomatous hamartoma is hyperechoic too. [V R48]')
    # IMG-US-CYSTIC
    if (_f_imaging.ultrasound == 'cystic'):
        _f_apply(state, _f_rule_81, 'Cystic on ultrasound.', 'Cystic on ultrasound. [V R54][V R55]')
    # IMG-US-HYPOECHOIC
    if (_f_imaging.ultrasound == 'solid_hypoechoic'):
        _f_apply(state, _f_rule_82, 'Solid hypoechoic lesion on ultrasound (pilomatricoma has a hypoechoic rim).', 'Solid hypoechoic lesion on ultrasound (pilomatricoma has a hypoechoic rim). [V R51]')
    # IMG-DERMOSCOPY-CALCIUM
    if (bool(_f_imaging.dermoscopy & {'white_yellow_structureless', 'white_clods'})):
        _f_apply(state, _f_rule_83, 'White-yellow structureless areas or clods on dermoscopy: calcium.', 'White-yellow structureless areas or clods on dermoscopy: calcium. [V R18][V R25]')
    # IMG-DERMOSCOPY-SCN
    if ({'white_clods', 'linear_vessels'} <= _f_imaging.dermoscopy):
        _f_apply(state, _f_rule_84, 'Yellow-white clods surrounded by linear vessels: the dermoscopy of SCN.', 'Yellow-white clods surrounded by linear vessels: the dermoscopy of SCN. [V R25]')
    # HIS-CALCIUM
    if (_f_imaging.histology == 'calcium_deposits'):
        _f_apply(state, _f_rule_85, 'Histology shows calcium deposits (von Kossa positive): calcium confirmed, not its cause.', 'Histology shows calcium deposits (von Kossa positive): calcium confirmed, not its cause. [V R29]')
    # HIS-CYST
    if (_f_imaging.histology == 'epidermal_cyst'):
        _f_apply(state, _f_rule_86, 'Histology shows an epidermal cyst.', 'Histology shows an epidermal cyst. [V R54]')
    # HIS-PILOMATRICOMA
    if (_f_imaging.histology == 'pilomatricoma'):
        _f_apply(state, _f_rule_87, 'Histology shows pilomatricoma (calcified, so calcinosis is secondary).', 'Histology shows pilomatricoma (calcified, so calcinosis is secondary). [V R50]')
    # HIS-BONE
    if (_f_imaging.histology == 'bone'):
        _f_apply(state, _f_rule_88, 'Histology shows bone with osteocytes in lacunae: osteoma cutis, a different entity.', 'Histology shows bone with osteocytes in lacunae: osteoma cutis, a different entity. [V R29]')
    # HIS-FAT
    if (_f_imaging.histology == 'fibroadipose_tissue'):
        _f_apply(state, _f_rule_89, 'Histology shows fibroadipose tissue.', 'Histology shows fibroadipose tissue. [V R48]')
    # CA-KERATIN
    if (_f_lesion.surface == 'hyperkeratotic' and (not _f.calcium_shown)):
        _f_apply(state, _f_rule_90, 'Hyperkeratotic surface: keratin (a horn, wart or callus) rather than calcium.', 'Hyperkeratotic surface: keratin (a horn, wart or callus) rather than calcium. [V R3][M]')
    # CA-CHALKY
    if ('chalky_discharge' in _f_features):
        _f_apply(state, _f_rule_91, 'Chalky white material extrudes: calcinosis migrating to the surface.', 'Chalky white material extrudes: calcinosis migrating to the surface. [V R3][V R5][V R50]')
    # CA-LOOK-NOT-CALCIUM
    if (_f_lesion.consistency in ('soft', 'fluctuant') and (not _f.calcium_shown)):
        _f_text = (f'{_f_lesion.consistency.capitalize()} consistency: calcium deposits are firm to hard.')
        _f_apply(state, _f_rule_92, _f_text, f'{_f_text} ' + '[V R3][M]')
    # LA-WART
    if (_papular(_f) and _f_hard and (not _f.inflammation)):
        _f_text = (f"Firm {words(_f_lesion.morphology or 'papule')}: a wart is firm too; look for a rough surface, interrupted skin lines and black dots.")
        _f_apply(state, _f_rule_93, _f_text, f'{_f_text} ' + '[V R3][V R53]')
    # LA-CYST
    if _f_site in _f_sites_94 and (_papular(_f) and _f_hard and _f_on_foot and (not _f.inflammation)):
        _f_text = (f"Firm dome-shaped {words(_f_lesion.morphology or 'papule')} on the foot: a plantar epidermal inclusion cyst looks alike (look for a punctum).")
        _f_apply(state, _f_rule_94, _f_text, f'{_f_text} ' + '[V R3][V R54]')
    # LA-MOLLUSCUM
    if (_f_lesion.morphology in (None, 'papule') and _f_lesion.color in ('white', 'white_yellow', 'yellow', 'skin_colored') and (_f_lesion.surface in ('smooth', 'umbilicated', 'verrucous')) and (_f_size is None or _f_size <= 6)):
        _f_text = (f'Small {words(_f_lesion.color)} papule: molluscum looks alike (but is soft, pearly and umbilicated).')
        _f_apply(state, _f_rule_95, _f_text, f'{_f_text} ' + '[V R3]')
    # LA-MILIA
    if (_papular(_f) and _f_whiteish and (_f_size is not None) and (_f_size <= 3)):
        _f_text = (f'{sentence_start(words(_f_lesion.color))} papule of {_f_size:g} mm: the size and colour of milia.')
        _f_apply(state, _f_rule_96, _f_text, f'{_f_text} ' + '[V R3]')
    # LA-HORN
    if _f_site in _f_sites_97 and (_papular(_f) and _f_whiteish and _f_hard and _f_on_foot):
        _f_apply(state, _f_rule_97, 'White, firm papule on the foot: an early cutaneous horn is white keratin (it grows into a column).', 'White, firm papule on the foot: an early cutaneous horn is white keratin (it grows into a column). [V R3]')
    # LA-PILOMATRICOMA
    if ((_f_papular or _f_lesion.morphology == 'subcutaneous_nodule') and _f_hard and (_f_whiteish or _f_lesion.color in ('bluish', 'skin_colored')) and (_f_size is None or _f_size >= 3) and (not _f.metastatic_evidence) and (_f_lesion.count <= 3)):
        _f_text = (f"{sentence_start(words(_f_lesion.consistency))} {words(_f_lesion.color)} {words(_f_lesion.morphology or 'papule')}: pilomatricoma is calcified and rock-hard.")
        _f_apply(state, _f_rule_98, _f_text, f'{_f_text} ' + '[V R3][V R50]')
    # MIM-WART-SIGNS
    if _f_site in _f_sites_99 and (_f_site in _PLANTAR and _wart_signs(_f)):
        _f_apply(state, _f_rule_99, 'Interrupted skin lines or black/red-black dots (thrombosed capillaries): a wart.', 'Interrupted skin lines or black/red-black dots (thrombosed capillaries): a wart. [V R53]')
    # MIM-WART-SIGNS-OFF-SOLE
    if (_f_site not in _PLANTAR and _wart_signs(_f)):
        _f_apply(state, _f_rule_100, 'Interrupted skin lines or black/red-black dots (thrombosed capillaries): a wart.', 'Interrupted skin lines or black/red-black dots (thrombosed capillaries): a wart. [V R53]')
    # MIM-WART-SURFACE
    if (_f_lesion.surface in ('verrucous', 'hyperkeratotic')):
        _f_text = (f'{_f_lesion.surface.capitalize()} surface: warts are rough and hyperkeratotic.')
        _f_apply(state, _f_rule_101, _f_text, f'{_f_text} ' + '[V R53][V R3]')
    # MIM-WART-SURFACE-PLANTAR
    if _f_site in _f_sites_102 and (_f_lesion.surface in ('verrucous', 'hyperkeratotic') and _f_site in _PLANTAR):
        _f_text = (f'{_f_lesion.surface.capitalize()} surface on the sole: a plantar wart or a callus.')
        _f_apply(state, _f_rule_102, _f_text, f'{_f_text} ' + '[V R53][V R3]')
    # MIM-WART-PLANTAR-SITE
    if _f_site in _f_sites_103 and (_f_site in ('heel', 'sole', 'toe') and _papular(_f) and (not _f.inflammation) and (_f_lesion.consistency not in ('soft', 'fluctuant'))):
        _f_text = (f"{sentence_start(words(_f_lesion.morphology or 'papule'))} on the {words(_f_site)}, a pressure point where plantar warts occur.")
        _f_apply(state, _f_rule_103, _f_text, f'{_f_text} ' + '[V R53]')
    # MIM-WART-NOT-PLANTAR
    if (_f_site not in ('heel', 'sole', 'toe')):
        _f_apply(state, _f_rule_104, 'Not on the sole: not a plantar wart.', 'Not on the sole: not a plantar wart. [V R53]')
    # MIM-WART-AGE
    if (72 <= _f_age <= 168 and _papular(_f)):
        _f_apply(state, _f_rule_105, 'Age 6–14 years, the peak for warts.', 'Age 6–14 years, the peak for warts. [V R53]')
    # MIM-WART-INFANT
    if (6 <= _f_age < 24):
        _f_apply(state, _f_rule_106, 'Warts are uncommon under 2 years.', 'Warts are uncommon under 2 years. [M]')
    # MIM-WART-XRAY
    if (_f_imaging.xray == 'radiopaque'):
        _f_apply(state, _f_rule_107, 'Warts are not radiopaque.', 'Warts are not radiopaque. [V R53]')
    # MIM-WART-SMOOTH
    if (_f_lesion.surface == 'smooth'):
        _f_apply(state, _f_rule_108, 'Smooth surface: warts are rough.', 'Smooth surface: warts are rough. [V R53]')
    # MIM-KERATIN-SMOOTH
    if (_f_lesion.surface == 'smooth'):
        _f_apply(state, _f_rule_109, 'Smooth surface: no keratin column or callus.', 'Smooth surface: no keratin column or callus. [V R3][M]')
    # MIM-CYST
    if (_f_lesion.morphology == 'cyst' or _f_lesion.surface == 'punctum' or 'mobile' in _f_features):
        _f_apply(state, _f_rule_110, 'Cystic, mobile or with a punctum: an epidermal inclusion cyst.', 'Cystic, mobile or with a punctum: an epidermal inclusion cyst. [V R54][V R55][V R3]')
    # MIM-MOLLUSCUM
    if (_f_lesion.surface == 'umbilicated' or 'white_core' in _f_features):
        _f_apply(state, _f_rule_111, 'Umbilicated or with a white central core: molluscum contagiosum.', 'Umbilicated or with a white central core: molluscum contagiosum. [V R3]')
    # MIM-MOLLUSCUM-AGAINST
    if (_f_on_foot or _f_lesion.consistency == 'hard'):
        _f_apply(state, _f_rule_112, 'Molluscum is soft and rare on the sole.', 'Molluscum is soft and rare on the sole. [V R3][M]')
    # MIM-MILIA-FACE
    if _f_site in _f_sites_113 and (_f_site in ('face', 'eyelid', 'head_neck')):
        _f_apply(state, _f_rule_113, 'Milia favour the cheeks and periorbital skin.', 'Milia favour the cheeks and periorbital skin. [V R3]')
    # MIM-MILIA-NEWBORN
    if _f_site in _f_sites_114 and (_f_age < 3 and _f_site in ('face', 'head_neck') and _f_whiteish and _f_multiple and (_f_size is None or _f_size <= 2)):
        _f_apply(state, _f_rule_114, "Multiple 1–2 mm white papules on a newborn's face: neonatal milia, seen in about half of newborns.", "Multiple 1–2 mm white papules on a newborn's face: neonatal milia, seen in about half of newborns. [V R3][M]")
    # MIM-HORN
    if (_f_lesion.surface == 'hyperkeratotic'):
        _f_apply(state, _f_rule_115, 'Columnar hyperkeratosis: a cutaneous horn is keratin, not calcium.', 'Columnar hyperkeratosis: a cutaneous horn is keratin, not calcium. [V R3]')
    # MIM-HORN-HARD
    if (_f_lesion.surface == 'hyperkeratotic' and _f_hard and (_f_lesion.color in ('yellow', 'white', 'white_yellow', 'brown'))):
        _f_text = (f'Hard {words(_f_lesion.color)} keratin: a cutaneous horn (warts are skin-coloured).')
        _f_apply(state, _f_rule_116, _f_text, f'{_f_text} ' + '[V R3][M]')
    # MIM-PILOMATRICOMA-SIGNS
    if (_f.has('tent_sign', 'faceted')):
        _f_apply(state, _f_rule_117, 'Tent sign or faceted rock-hard nodule: pilomatricoma.', 'Tent sign or faceted rock-hard nodule: pilomatricoma. [V R50]')
    # MIM-PILOMATRICOMA-COLOUR
    if (_f_lesion.color == 'bluish' and _f_hard):
        _f_apply(state, _f_rule_118, 'Bluish hue: pilomatricoma.', 'Bluish hue: pilomatricoma. [V R50]')
    # MIM-PILOMATRICOMA-SITE
    if (_f_head_neck or _f_site in ('arm', 'shoulder', 'elbow')):
        _f_apply(state, _f_rule_119, 'Head, neck or upper limb: where pilomatricomas arise.', 'Head, neck or upper limb: where pilomatricomas arise. [V R50][V R52]')
    # MIM-PILOMATRICOMA-HEEL
    if _f_site == 'heel' and (_f_on_heel):
        _f_apply(state, _f_rule_120, 'Pilomatricoma is rare on the heel.', 'Pilomatricoma is rare on the heel. [V R50]')
    # MIM-PCFH
    if _f_site == 'heel' and (_f_on_heel and _f_lesion.heel_subsite in ('medial', None) and (_f_lesion.consistency in ('soft', 'rubbery')) and (_f_lesion.color == 'skin_colored')):
        _f_apply(state, _f_rule_121, 'Soft, skin-coloured nodule on the medial plantar heel: precalcaneal fibrolipomatous hamartoma.', 'Soft, skin-coloured nodule on the medial plantar heel: precalcaneal fibrolipomatous hamartoma. [V R48][V R49]')
    # MIM-PCFH-BIRTH
    if _f_site == 'heel' and (_f_on_heel and _f_h['lesion_present_at_birth'] is True):
        _f_apply(state, _f_rule_122, 'Present since birth, as precalcaneal fibrolipomatous hamartomas are.', 'Present since birth, as precalcaneal fibrolipomatous hamartomas are. [V R48][V R49]')
    # MIM-PCFH-BILATERAL
    if _f_site == 'heel' and (_f_on_heel and _f_lesion.laterality == 'bilateral' and (_f_lesion.consistency in ('soft', 'rubbery'))):
        _f_apply(state, _f_rule_123, 'Bilateral, symmetric soft heel nodules.', 'Bilateral, symmetric soft heel nodules. [V R48]')
    # MIM-PPP
    if ('appears_on_standing' in _f_features):
        _f_apply(state, _f_rule_124, 'Appears on standing: piezogenic pedal papules.', 'Appears on standing: piezogenic pedal papules. [V R49]')
    # MIM-CALLUS
    if _f_site in _f_sites_125 and (_f_on_foot and _f_lesion.surface == 'hyperkeratotic' and (_f_age >= 24)):
        _f_apply(state, _f_rule_125, 'Hyperkeratosis at a pressure point in a walking child: callus or corn.', 'Hyperkeratosis at a pressure point in a walking child: callus or corn. [M]')
    # MIM-CALLUS-PLAQUE
    if _f_site in _f_sites_126 and (_f_on_foot and _f_lesion.surface == 'hyperkeratotic' and (_f_lesion.morphology == 'plaque') and (not _wart_signs(_f))):
        _f_apply(state, _f_rule_126, 'A hyperkeratotic plaque without wart signs under a pressure point: a callus (warts are papules that interrupt the skin lines).', 'A hyperkeratotic plaque without wart signs under a pressure point: a callus (warts are papules that interrupt the skin lines). [M]')
    # MIM-INFECTION
    if (bool(_f.inflammation)):
        _f_text = (f"{sentence_start(', '.join(_f.inflammation))}: cellulitis or abscess must be considered.")
        _f_apply(state, _f_rule_127, _f_text, f'{_f_text} ' + '[V R10][V R13]')
    # MIM-INFECTION-FEVER
    if (_f_h['fever'] is True):
        _f_apply(state, _f_rule_128, 'Fever is recorded.', 'Fever is recorded. [V R10]')
    # MIM-INFECTION-FLUCTUANT
    if (_f_lesion.consistency == 'fluctuant'):
        _f_apply(state, _f_rule_129, 'Fluctuant: an abscess.', 'Fluctuant: an abscess. [V R10]')
    # MIM-INFECTION-CRP
    if (_f.lab_is('crp', 'high')):
        _f_apply(state, _f_rule_130, 'CRP is raised.', 'CRP is raised. [V R10]')
    # MIM-HEEL-PRICK-INFANT
    if _f_site == 'heel' and (_f_on_heel and _f_age < 3 and bool(_f.inflammation)):
        _f_apply(state, _f_rule_131, 'Inflamed heel lesion in a young infant, weeks after neonatal heel pricks: abscess or calcaneal osteomyelitis.', 'Inflamed heel lesion in a young infant, weeks after neonatal heel pricks: abscess or calcaneal osteomyelitis. [V R10]')
    # MIM-OSTEOMYELITIS-DEEP
    if (_f_age < 12 and _f_lesion.morphology == 'swelling' and (_f_lesion.consistency != 'fluctuant') and (_f_h['fever'] is True or _f.lab_is('crp', 'high')) and bool(_f.inflammation)):
        _f_apply(state, _f_rule_132, 'Deep, diffuse, non-fluctuant swelling with fever or a raised CRP in an infant: osteomyelitis of the underlying bone rather than a skin abscess (MRI is the test; X-ray is normal early).', 'Deep, diffuse, non-fluctuant swelling with fever or a raised CRP in an infant: osteomyelitis of the underlying bone rather than a skin abscess (MRI is the test; X-ray is normal early). [V R10]')
    # MIM-HEMATOMA
    if (_f_h['local_trauma_at_site'] is True and _f_lesion.color in ('bluish', 'violaceous')):
        _f_apply(state, _f_rule_133, 'Bluish or violaceous after injury: a haematoma.', 'Bluish or violaceous after injury: a haematoma. [M]')
    # MIM-HEMATOMA-SHRINKING
    if (_f_h['local_trauma_at_site'] is True and _f_lesion.trend == 'shrinking' and (not _f.calcium_shown)):
        _f_apply(state, _f_rule_134, 'Shrinking since the injury: a resolving haematoma.', 'Shrinking since the injury: a resolving haematoma. [M]')
    # MIM-PHLEBITIS
    if ('linear_along_vein' in _f_features and bool(_f.inflammation)):
        _f_apply(state, _f_rule_135, 'Inflamed and linear along a vein: infusion phlebitis.', 'Inflamed and linear along a vein: infusion phlebitis. [M]')
    # MIM-SYRINGOMA
    if _f_site == 'eyelid' and (_f_site == 'eyelid'):
        _f_apply(state, _f_rule_136, 'Eyelid papules: syringomas are periorbital (and coexist with MICC in Down syndrome, which is acral; SCN is usually solitary).', 'Eyelid papules: syringomas are periorbital (and coexist with MICC in Down syndrome, which is acral; SCN is usually solitary). [V R18][V R23]')
    # RF-CRITICAL-CALCIUM-TOTAL-LOW
    if (('calcium_total', 'low') in _f.critical):
        _f_text = (critical_text(_f, _f.critical[('calcium_total', 'low')]))
        _f_apply(state, _f_rule_137, _f_text, f'{_f_text} ' + '[V R95][M]')
    # RF-CRITICAL-CALCIUM-TOTAL-HIGH
    if (('calcium_total', 'high') in _f.critical):
        _f_text = (critical_text(_f, _f.critical[('calcium_total', 'high')]))
        _f_apply(state, _f_rule_138, _f_text, f'{_f_text} ' + '[M]')
    # RF-CRITICAL-CALCIUM-IONIZED-LOW
    if (('calcium_ionized', 'low') in _f.critical):
        _f_text = (critical_text(_f, _f.critical[('calcium_ionized', 'low')]))
        _f_apply(state, _f_rule_139, _f_text, f'{_f_text} ' + '[M]')
    # RF-CRITICAL-CALCIUM-IONIZED-HIGH
    if (_f_age >= 12 and _ION_HIGH in _f.critical):
        _f_text = (critical_text(_f, _f.critical[('calcium_ionized', 'high')]))
        _f_apply(state, _f_rule_140, _f_text, f'{_f_text} ' + '[M]')
    # RF-IONISED-CALCIUM-INFANT
    if (_f_age < 12 and _ION_HIGH in _f.critical):
        _f_text = (critical_text(_f, _f.critical[_ION_HIGH]) + ' In an infant: risk of hypercalcaemic crisis and nephrocalcinosis.')
        _f_apply(state, _f_rule_141, _f_text, f'{_f_text} ' + '[V R45]')
    # RF-CRITICAL-PHOSPHATE-LOW
    if (('phosphate', 'low') in _f.critical):
        _f_text = (critical_text(_f, _f.critical[('phosphate', 'low')]))
        _f_apply(state, _f_rule_142, _f_text, f'{_f_text} ' + '[V R95]')
    # RF-CRITICAL-PHOSPHATE-HIGH
    if (('phosphate', 'high') in _f.critical):
        _f_text = (critical_text(_f, _f.critical[('phosphate', 'high')]))
        _f_apply(state, _f_rule_143, _f_text, f'{_f_text} ' + '[V R95]')
    # RF-CRITICAL-CREATININE-HIGH
    if (('creatinine', 'high') in _f.critical):
        _f_text = (critical_text(_f, _f.critical[('creatinine', 'high')]))
        _f_apply(state, _f_rule_144, _f_text, f'{_f_text} ' + '[V R95][V R96][M]')
    # RF-CRITICAL-UREA-HIGH
    if (('urea', 'high') in _f.critical):
        _f_text = (critical_text(_f, _f.critical[('urea', 'high')]))
        _f_apply(state, _f_rule_145, _f_text, f'{_f_text} ' + '[V R95]')
    # RF-CRITICAL-BUN-HIGH
    if (('bun', 'high') in _f.critical):
        _f_text = (critical_text(_f, _f.critical[('bun', 'high')]))
        _f_apply(state, _f_rule_146, _f_text, f'{_f_text} ' + '[V R95]')
    # RF-TUMOUR-LYSIS
    if (_f_h['malignancy'] is True and ('phosphate', 'high') in _f.critical):
        _f_apply(state, _f_rule_147, 'Malignancy with a critical phosphate: tumour lysis syndrome until proved otherwise. Give IV calcium only for symptomatic hypocalcaemia (calcium and phosphate precipitate).', 'Malignancy with a critical phosphate: tumour lysis syndrome until proved otherwise. Give IV calcium only for symptomatic hypocalcaemia (calcium and phosphate precipitate). [M]')
    # RF-CALCIUM-LOW-SEVERE
    if _f_when_148(_f):
        _f_text = _f_text_148(_f)
        _f_apply(state, _f_rule_148, _f_text, f'{_f_text} ' + '[V R95]')
    # RF-CALCIPHYLAXIS
    if (bool(_f.ischaemic_signs) and bool(_f.renal_impairment)):
        _f_text = (f"Possible calciphylaxis: {', '.join(_f.ischaemic_signs)} with {', '.join(_f.renal_impairment)}. Same-day assessment.")
        _f_apply(state, _f_rule_149, _f_text, f'{_f_text} ' + '[V R35][V R36][V R37]')
    # RF-NECROSIS
    if (bool(_f.ischaemic_signs) and (not _f.renal_impairment)):
        _f_text = (f"{sentence_start(', '.join(_f.ischaemic_signs))}: same-day assessment (calciphylaxis can occur with normal calcium and phosphate; exclude infection and compromised perfusion).")
        _f_apply(state, _f_rule_150, _f_text, f'{_f_text} ' + '[V R45][V R77][M]')
    # RF-INFECTION
    if _f_when_151(_f):
        _f_text = _f_text_151(_f)
        _f_apply(state, _f_rule_151, _f_text, f'{_f_text} ' + '[V R10]')
    # RF-INFECTION-YOUNG-INFANT
    if (_infection_urgent(_f) and _f_age < 3 and (_f_h['fever'] is True)):
        _f_apply(state, _f_rule_152, 'Fever in an infant under 3 months: full septic screen and empirical IV antibiotics without waiting for results.', 'Fever in an infant under 3 months: full septic screen and empirical IV antibiotics without waiting for results. [M]')
    # RF-INFECTION-LOCAL
    if (bool(_f.inflammation) and (not _infection_urgent(_f)) and (_f_lesion.consistency == 'fluctuant' or _f.lab_is('crp', 'high'))):
        _f_text = (f"Possible abscess: {', '.join(_f.inflammation)}" + (' with a raised CRP' if _f.lab_is('crp', 'high') else '') + ', without fever: drainage or antibiotics within days, before any calcinosis care.')
        _f_apply(state, _f_rule_153, _f_text, f'{_f_text} ' + '[V R10][M]')
    # RF-INFLAMMATION-REVIEW
    if (bool(_f.inflammation) and (not _infection_urgent(_f)) and (not _infection_local(_f))):
        _f_text = (f"{sentence_start(', '.join(_f.inflammation))} at the lesion: exclude cellulitis or abscess before accepting a benign reading" + (' (extravasation calcinosis is often mistaken for infection, and the reverse).' if _f_h['iv_calcium_received'] is True else '.'))
        _f_apply(state, _f_rule_154, _f_text, f'{_f_text} ' + '[V R10][V R13]')
    # RF-HYPERCALCAEMIA-SYMPTOMS
    if (_f_h['hypercalcemia_symptoms'] is True and (_f.lab_is('calcium_total', 'high') or _f.lab_is('calcium_ionized', 'high') or (not ('calcium_total' in _f_labs or 'calcium_ionized' in _f_labs)))):
        _f_text = ('Symptoms of hypercalcaemia (vomiting, poor feeding, irritability, constipation or polyuria) ' + ('with high calcium' if _f.lab_is('calcium_total', 'high') or _f.lab_is('calcium_ionized', 'high') else 'and no calcium measured') + ': same-day calcium, ionised calcium and renal function.')
        _f_apply(state, _f_rule_155, _f_text, f'{_f_text} ' + '[V R45][V R88]')
    # RF-CAXP-HIGH
    if (_f.caxp_high):
        _f_text = (f'Ca×P {_f.caxp:.1f} mg²/dL² is at or above 70: high risk of metastatic calcification.')
        _f_apply(state, _f_rule_156, _f_text, f'{_f_text} ' + '[V R2]')
    # RF-CAXP-TARGET
    if (_f.caxp_above_target and (not _f.caxp_high) and bool(_f.renal_impairment)):
        _f_text = (f'Ca×P {_f.caxp:.1f} mg²/dL² is above the KDOQI paediatric CKD target ({_f.caxp_target:g} mg²/dL² at this age).')
        _f_apply(state, _f_rule_157, _f_text, f'{_f_text} ' + '[V R31]')
    # RF-RENAL
    if (bool(_f.renal_impairment)):
        _f_text = (f"Renal impairment ({', '.join(_f.renal_impairment)}): metastatic calcinosis needs nephrology.")
        _f_apply(state, _f_rule_158, _f_text, f'{_f_text} ' + '[V R30][V R31]')
    # RF-MINERALS
    if (any((_f.lab_is(a, 'high') and (a, 'high') not in _f.critical for a in ('calcium_total', 'calcium_ionized', 'phosphate')))):
        _f_text = ('Abnormal mineral results for age: ' + ', '.join((r for r in _f.mineral_abnormal if not r.startswith('Ca×P'))) + '.')
        _f_apply(state, _f_rule_159, _f_text, f'{_f_text} ' + '[V R1][S]')
    # RF-METASTATIC-ULCERATED
    if (bool(_f.renal_impairment) and (_f_ulcerated or _f_painful)):
        _f_text = (f"{('Ulcerated' if _f_ulcerated else 'Painful')} lesion with {', '.join(_f.metastatic_evidence)}: same-day assessment to exclude calciphylaxis (pain is its sentinel symptom in children) and infection.")
        _f_apply(state, _f_rule_160, _f_text, f'{_f_text} ' + '[V R33][V R35]')
    # RF-ULCERATED-MINERALS
    if (bool(_f.mineral_abnormal) and (not _f.renal_impairment) and _f_ulcerated):
        _f_text = (f"Ulcerated lesion with {', '.join(_f.mineral_abnormal)}: wound care, watch for infection, and find the cause of the abnormal minerals.")
        _f_apply(state, _f_rule_161, _f_text, f'{_f_text} ' + '[V R1][M]')
    # RF-CTD
    if (_f_h['connective_tissue_disease'] is True or _f_h['ctd_signs'] is True):
        _f_apply(state, _f_rule_162, 'Connective tissue disease or its signs: calcinosis of JDM/CTD needs paediatric rheumatology.', 'Connective tissue disease or its signs: calcinosis of JDM/CTD needs paediatric rheumatology. [V R38][V R40]')
    # RF-WIDESPREAD
    if (_f_lesion.distribution in ('widespread', 'periarticular') and (not (_f_h['connective_tissue_disease'] is True or _f_h['ctd_signs'] is True))):
        _f_text = (f'{sentence_start(words(_f_lesion.distribution))} deposits: exclude JDM/CTD, HFTC and metastatic calcinosis.')
        _f_apply(state, _f_rule_163, _f_text, f'{_f_text} ' + '[V R38][V R42]')
    # RF-HFTC
    if (_f_lesion.distribution == 'periarticular' and _f.lab_is('phosphate', 'high') and (not _f.renal_impairment)):
        _f_apply(state, _f_rule_164, 'Periarticular deposits with high phosphate and no renal impairment: hyperphosphataemic familial tumoral calcinosis.', 'Periarticular deposits with high phosphate and no renal impairment: hyperphosphataemic familial tumoral calcinosis. [V R42]')
    # RF-NEOPLASM
    if _f_when_165(_f):
        _f_text = (f"{sentence_start(', '.join(_neoplasm_found(_f)))}: pilomatricoma or another neoplasm; refer for excision.")
        _f_apply(state, _f_rule_165, _f_text, f'{_f_text} ' + '[V R50]')
    # RF-SCFN-CALCIUM
    if (_f_h['perinatal_asphyxia_or_cooling'] is True and _f_age <= 6 and (not 'calcium_ionized' in _f_labs)):
        _f_apply(state, _f_rule_166, 'Perinatal asphyxia or cooling in a young infant: hypercalcaemia follows SCFN in about half within the first month; measure ionised calcium now and monitor for 3 months.', 'Perinatal asphyxia or cooling in a young infant: hypercalcaemia follows SCFN in about half within the first month; measure ionised calcium now and monitor for 3 months. [V R45][V R47]')
    # RF-LAB-INTERVAL-ADULT
    if (any((r.lab_interval and r.flag == 'normal' and (r.builtin_flag not in (None, 'normal', 'no_reference')) for r in _f_labs.values()))):
        _f_text = ("The laboratory's interval calls " + ', '.join((f'{catalog.ANALYTES[r.analyte].label.lower()} {r.value:g} {r.unit}' for r in _f_labs.values() if r.lab_interval and r.flag == 'normal' and (r.builtin_flag not in (None, 'normal', 'no_reference')))) + " normal, but it is abnormal for the child's age: the printed interval may be an adult one; confirm with the laboratory.")
        _f_apply(state, _f_rule_167, _f_text, f'{_f_text} ' + '[V R59][V R57]')
    # RF-VITAMIN-D-EXCESS
    if (_f.vitamin_d_toxic):
        _f_apply(state, _f_rule_168, '25-hydroxyvitamin D above 150 ng/mL: possible vitamin D toxicity.', '25-hydroxyvitamin D above 150 ng/mL: possible vitamin D toxicity. [M]')
    return None
