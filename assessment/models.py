"""Clinical records.

Patient-level records persist (the child, each lesion); episode-level records belong to one visit
(the encounter, what was seen of each lesion, labs, imaging). Each assessment stores the exact
engine input and output with the ruleset version, so a past result is never silently recomputed.

Tri-state history is ``BooleanField(null=True)``: null means unknown, never "no". Which history
flag lives where follows what it describes: the child (Patient), the lesion's site (Lesion), or
the visit (Encounter).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .engine import vocab
from .engine.labs import ANALYTE_CODES, ANALYTES
from .text import refuse_hidden_characters


def code_choices(codes: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(code, vocab.words(code).capitalize()) for code in codes]


PATIENT_HISTORY_FLAGS = (
    "preterm_birth", "nicu_stay", "neonatal_heel_sticks", "iv_calcium_received", "renal_disease",
    "hyperparathyroidism", "vitamin_d_excess", "milk_alkali", "sarcoidosis", "malignancy",
    "connective_tissue_disease", "down_syndrome", "perinatal_asphyxia_or_cooling",
    "family_history_calcinosis",
)
LESION_HISTORY_FLAGS = (
    "iv_calcium_at_lesion_site", "extravasation_documented", "electrode_paste_at_site",
    "calcium_dressing_at_site", "local_trauma_at_site", "lesion_present_at_birth",
)
VISIT_HISTORY_FLAGS = ("fever", "hypercalcemia_symptoms", "ctd_signs")
assert set(PATIENT_HISTORY_FLAGS + LESION_HISTORY_FLAGS + VISIT_HISTORY_FLAGS) == set(
    vocab.HISTORY_FLAGS), "every contract history flag must be stored somewhere"

FLAG_HELP = {
    "neonatal_heel_sticks": "A parent's 'no' is weak evidence: newborn screening pricks almost "
                            "every heel. Leave unknown unless the records say so.",
    "iv_calcium_at_lesion_site": "IV calcium given through a line in this limb or at this site.",
    "electrode_paste_at_site": "EEG/EMG/ABR electrode paste at this site.",
    "local_trauma_at_site": "Injury, burn, scar, surgery or ischaemic injury at this site.",
    "renal_disease": "CKD, ESRD or dialysis.",
    "connective_tissue_disease": "JDM, SLE or scleroderma diagnosed.",
    "ctd_signs": "Proximal weakness, heliotrope rash, Gottron papules or Raynaud.",
    "hypercalcemia_symptoms": "Vomiting, poor feeding, irritability, constipation or polyuria.",
}


FLAG_LABELS = {
    "nicu_stay": "NICU stay",
    "iv_calcium_received": "IV calcium received",
    "renal_disease": "Renal disease",
    "vitamin_d_excess": "Vitamin D excess",
    "milk_alkali": "Milk-alkali syndrome",
    "connective_tissue_disease": "Connective tissue disease",
    "perinatal_asphyxia_or_cooling": "Perinatal asphyxia or therapeutic cooling",
    "family_history_calcinosis": "Family history of calcinosis",
    "iv_calcium_at_lesion_site": "IV calcium at this site",
    "extravasation_documented": "Extravasation documented",
    "electrode_paste_at_site": "Electrode paste at this site",
    "calcium_dressing_at_site": "Calcium dressing at this site",
    "local_trauma_at_site": "Local injury at this site",
    "lesion_present_at_birth": "Present at birth",
    "hypercalcemia_symptoms": "Symptoms of hypercalcaemia",
    "ctd_signs": "Signs of connective tissue disease",
}


def tri_state(name: str) -> models.BooleanField:
    return models.BooleanField(null=True, blank=True, default=None,
                               verbose_name=FLAG_LABELS.get(name, vocab.words(name).capitalize()),
                               help_text=FLAG_HELP.get(name, ""))


class Tracked(models.Model):
    """Who created and last changed a clinical row, and when."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    # Consistency token: a save carrying an older version is refused, never overwrites.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True


class Site(models.Model):
    """A clinic. Patients belong to one; users see only the patients of their sites."""

    code = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=120, validators=[refuse_hidden_characters])
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    CLINICIAN = "clinician", "Clinician (enter and edit)"
    REVIEWER = "reviewer", "Reviewer (review and read)"
    DATA_MANAGER = "data_manager", "Data manager (exports and outcomes)"
    VIEWER = "viewer", "Viewer (read only)"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "site"],
                                               name="one_role_per_user_per_site")]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} at {self.site}"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    UNKNOWN = "unknown", "Unknown"


record_number_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$",
    "Use letters, digits and hyphens only (a pseudonymous record number, not a name).",
)


class Patient(Tracked):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients")
    record_number = models.CharField(max_length=32, unique=True,
                                     validators=[record_number_validator,
                                                 refuse_hidden_characters],
                                     help_text="Pseudonymous record number; no names.")
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=8, choices=Sex.choices)
    gestational_age_weeks = models.DecimalField(
        max_digits=3, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(Decimal(22)), MaxValueValidator(Decimal(44))])
    preterm_birth = tri_state("preterm_birth")
    nicu_stay = tri_state("nicu_stay")
    neonatal_heel_sticks = tri_state("neonatal_heel_sticks")
    iv_calcium_received = tri_state("iv_calcium_received")
    renal_disease = tri_state("renal_disease")
    hyperparathyroidism = tri_state("hyperparathyroidism")
    vitamin_d_excess = tri_state("vitamin_d_excess")
    milk_alkali = tri_state("milk_alkali")
    sarcoidosis = tri_state("sarcoidosis")
    malignancy = tri_state("malignancy")
    connective_tissue_disease = tri_state("connective_tissue_disease")
    down_syndrome = tri_state("down_syndrome")
    perinatal_asphyxia_or_cooling = tri_state("perinatal_asphyxia_or_cooling")
    family_history_calcinosis = tri_state("family_history_calcinosis")
    # Clinical records are archived, never deleted, from the app's pages.
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["record_number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(gestational_age_weeks__isnull=True)
                | Q(gestational_age_weeks__gte=22, gestational_age_weeks__lte=44),
                name="patient_gestation_22_44"),
        ]

    def __str__(self) -> str:
        return self.record_number


class EncounterKind(models.TextChoices):
    INITIAL = "initial", "Initial visit"
    FOLLOW_UP = "follow_up", "Follow-up visit"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    APPROVED = "approved", "Approved"
    CHANGES = "changes_requested", "Needs changes"


class Encounter(Tracked):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    # The patient's clinic, copied so registry-wide lists filter one table (services keep it
    # in step; patients do not change clinic in the app).
    clinic = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    date = models.DateField(help_text="Date of the visit.")
    # The patient's date of birth, copied so the database itself refuses a visit before birth
    # (a check constraint cannot look across tables); services keep it in step.
    patient_born = models.DateField()
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="encounters")
    kind = models.CharField(max_length=12, choices=EncounterKind.choices,
                            default=EncounterKind.INITIAL)
    notes = models.TextField(blank=True, max_length=5000, validators=[refuse_hidden_characters])
    fever = tri_state("fever")
    hypercalcemia_symptoms = tri_state("hypercalcemia_symptoms")
    ctd_signs = tri_state("ctd_signs")
    review_status = models.CharField(max_length=20, choices=ReviewStatus.choices,
                                     default=ReviewStatus.PENDING, db_index=True)
    review_comment = models.TextField(blank=True, max_length=5000,
                                      validators=[refuse_hidden_characters])
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # The visit form's one-time token: a form submitted twice (double click, resent POST) saves
    # one visit. Null for visits recorded by commands.
    submission_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["patient", "-date"]),
                   models.Index(fields=["review_status", "date"]),
                   models.Index(fields=["-date", "-id"]),
                   models.Index(fields=["clinic", "review_status", "date"])]
        constraints = [models.CheckConstraint(condition=Q(date__gte=models.F("patient_born")),
                                              name="visit_not_before_birth")]

    def __str__(self) -> str:
        return f"{self.patient} {self.date:%Y-%m-%d} ({self.get_kind_display().lower()})"


class LesionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    RESOLVED = "resolved", "Resolved"


class Lesion(Tracked):
    """A lesion of the child that persists across visits."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="lesions")
    # The patient's clinic, copied for the worklist (see Encounter.clinic).
    clinic = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    label = models.CharField(max_length=80, blank=True, validators=[refuse_hidden_characters],
                             help_text="Short name, e.g. 'right heel nodule'.")
    site = models.CharField(max_length=16, choices=code_choices(vocab.SITES))
    heel_subsite = models.CharField(max_length=16, blank=True,
                                    choices=code_choices(vocab.HEEL_SUBSITES))
    laterality = models.CharField(max_length=12, blank=True,
                                  choices=code_choices(vocab.LATERALITIES))
    iv_calcium_at_lesion_site = tri_state("iv_calcium_at_lesion_site")
    extravasation_documented = tri_state("extravasation_documented")
    electrode_paste_at_site = tri_state("electrode_paste_at_site")
    calcium_dressing_at_site = tri_state("calcium_dressing_at_site")
    local_trauma_at_site = tri_state("local_trauma_at_site")
    lesion_present_at_birth = tri_state("lesion_present_at_birth")
    status = models.CharField(max_length=10, choices=LesionStatus.choices,
                              default=LesionStatus.ACTIVE)
    resolved_on = models.DateField(null=True, blank=True)
    # Kept current by the services from the latest assessment, so the worklist is one query.
    next_follow_up_due = models.DateField(null=True, blank=True)
    atypical_course = models.BooleanField(default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_follow_up_due"]),
                   models.Index(fields=["status", "atypical_course"]),
                   models.Index(fields=["clinic", "status", "next_follow_up_due"]),
                   models.Index(fields=["clinic", "status", "atypical_course"])]
        constraints = [
            models.CheckConstraint(condition=Q(heel_subsite="") | Q(site="heel"),
                                   name="lesion_subsite_only_on_heel"),
            models.CheckConstraint(
                condition=Q(status="resolved", resolved_on__isnull=False)
                | Q(status="active", resolved_on__isnull=True),
                name="lesion_resolved_has_date"),
        ]

    def __str__(self) -> str:
        where = " ".join(filter(None, [self.get_laterality_display(),
                                       self.get_heel_subsite_display(), self.get_site_display()]))
        return self.label or where.lower()


class CourseStatus(models.TextChoices):
    PRESENT = "present", "Present, unchanged"
    SMALLER = "smaller", "Smaller"
    LARGER = "larger", "Larger"
    RESOLVED = "resolved", "Resolved"


class LesionObservation(Tracked):
    """A lesion as seen at one encounter: the contract's lesion fields."""

    lesion = models.ForeignKey(Lesion, on_delete=models.PROTECT, related_name="observations")
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT,
                                  related_name="observations")
    # Blank at the first visit; at a follow-up, how the lesion has changed since.
    course_status = models.CharField(max_length=10, blank=True, choices=CourseStatus.choices)
    count = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1),
                                                                MaxValueValidator(500)])
    distribution = models.CharField(max_length=16, blank=True,
                                    choices=code_choices(vocab.DISTRIBUTIONS))
    largest_diameter_mm = models.DecimalField(max_digits=4, decimal_places=1, null=True,
                                              blank=True)
    perpendicular_diameter_mm = models.DecimalField(max_digits=4, decimal_places=1, null=True,
                                                    blank=True)
    color = models.CharField("colour", max_length=16, blank=True,
                             choices=code_choices(vocab.COLORS))
    morphology = models.CharField(max_length=24, blank=True,
                                  choices=code_choices(vocab.MORPHOLOGIES))
    surface = models.CharField(max_length=16, blank=True, choices=code_choices(vocab.SURFACES))
    consistency = models.CharField(max_length=12, blank=True,
                                   choices=code_choices(vocab.CONSISTENCIES))
    features = models.JSONField(default=list, blank=True)
    onset_age_months = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    duration_weeks = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    trend = models.CharField(max_length=10, blank=True, choices=code_choices(vocab.TRENDS))
    history = HistoricalRecords()

    class Meta:
        ordering = ["encounter__date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["lesion", "encounter"],
                                    name="one_observation_per_lesion_per_encounter"),
            models.CheckConstraint(
                condition=Q(largest_diameter_mm__isnull=True) | Q(largest_diameter_mm__gt=0),
                name="observation_largest_positive"),
            models.CheckConstraint(
                condition=Q(perpendicular_diameter_mm__isnull=True)
                | Q(perpendicular_diameter_mm__gt=0,
                    perpendicular_diameter_mm__lte=models.F("largest_diameter_mm")),
                name="observation_perpendicular_within_largest"),
        ]

    def __str__(self) -> str:
        return f"{self.lesion} at {self.encounter.date:%Y-%m-%d}"


class LabResult(Tracked):
    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="labs")
    analyte = models.CharField(max_length=40, choices=[
        (code, ANALYTES[code].label) for code in ANALYTE_CODES])
    value = models.DecimalField(max_digits=12, decimal_places=4,
                                validators=[MinValueValidator(Decimal(0))])
    unit = models.CharField(max_length=12)
    reference_low = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    reference_high = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["encounter", "analyte"],
                                    name="one_result_per_analyte_per_encounter"),
            models.CheckConstraint(condition=Q(value__gte=0), name="lab_value_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_analyte_display()} {self.value.normalize():f} {self.unit}"


class ImagingModality(models.TextChoices):
    XRAY = "xray", "X-ray"
    ULTRASOUND = "ultrasound", "Ultrasound"
    DERMOSCOPY = "dermoscopy", "Dermoscopy"
    HISTOLOGY = "histology", "Histology"


IMAGING_CODES = {
    "xray": vocab.XRAY, "ultrasound": vocab.ULTRASOUND, "dermoscopy": vocab.DERMOSCOPY,
    "histology": vocab.HISTOLOGY,
}


class ImagingFinding(Tracked):
    """One imaging, dermoscopy or histology finding of an encounter (it applies to the lesions
    observed at that encounter)."""

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="imaging")
    modality = models.CharField(max_length=12, choices=ImagingModality.choices)
    finding = models.CharField(max_length=40, choices=code_choices(
        tuple(dict.fromkeys(code for codes in IMAGING_CODES.values() for code in codes))))
    history = HistoricalRecords()

    class Meta:
        ordering = ["modality", "id"]
        constraints = [
            models.UniqueConstraint(fields=["encounter", "modality", "finding"],
                                    name="imaging_finding_once"),
            models.UniqueConstraint(fields=["encounter", "modality"],
                                    condition=~Q(modality="dermoscopy"),
                                    name="one_xray_ultrasound_histology_per_encounter"),
        ]

    def __str__(self) -> str:
        return f"{self.get_modality_display()}: {self.get_finding_display()}"


class ManagementCategory(models.TextChoices):
    WATCHFUL_WAITING = "watchful_waiting", "Watchful waiting"
    TREAT = "treat", "Treat"
    REFER = "refer", "Refer"
    URGENT = "urgent", "Urgent"


class Assessment(models.Model):
    """The engine's assessment of one observation: exact input, output and ruleset version."""

    observation = models.ForeignKey(LesionObservation, on_delete=models.PROTECT,
                                    related_name="assessments")
    observation_version = models.PositiveIntegerField(default=1)
    input_json = models.JSONField()
    output_json = models.JSONField()
    contract_version = models.PositiveSmallIntegerField()
    ruleset_version = models.CharField(max_length=20)
    age_months = models.DecimalField(max_digits=5, decimal_places=2)
    # Denormalised from the output for filtering and lists; the JSON is the record.
    leading_entity = models.CharField(max_length=60, db_index=True)
    primary_subtype = models.CharField(max_length=12, blank=True, db_index=True,
                                       choices=code_choices(vocab.SUBTYPES))
    management_category = models.CharField(max_length=20, choices=ManagementCategory.choices,
                                           db_index=True)
    calcinosis = models.CharField(max_length=10, choices=code_choices(vocab.CALCINOSIS_LEVELS))
    urgent = models.BooleanField(default=False)
    follow_up_due = models.DateField(null=True, blank=True)
    # Course checks evaluated at a follow-up (assessment.engine.course): id, text, source.
    course_flags = models.JSONField(default=list, blank=True)
    atypical_course = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        # Re-running an assessment with a newer ruleset adds a row beside the old one, so an
        # observation version has one assessment per ruleset, never two with the same one.
        constraints = [
            models.UniqueConstraint(
                fields=["observation", "observation_version", "ruleset_version"],
                name="one_assessment_per_observation_version_and_ruleset"),
        ]

    def __str__(self) -> str:
        # Read by people (admin titles, history): no database id.
        return (f"Assessment of {self.observation}, "
                f"{timezone.localtime(self.created_at):%d %b %Y %H:%M}"
                if self.created_at else f"Assessment of {self.observation}")


class Decision(models.TextChoices):
    AGREE = "agree", "Agree with the assessment"
    OVERRIDE = "override", "Override"


class AssessmentDecision(models.Model):
    """The clinician's decision on an assessment; rows are only added, so every decision is
    kept beside the engine's output."""

    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="decisions")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    final_subtypes = models.JSONField(default=list, blank=True)
    final_entity = models.CharField(max_length=60)
    final_management = models.CharField(max_length=20, choices=ManagementCategory.choices)
    reason = models.TextField(blank=True, max_length=5000, validators=[refuse_hidden_characters])
    # Ticked when the clinician chose a management milder than an urgent or refer red flag
    # asked for: the page shows the flag and the reason beside the decision.
    flag_considered = models.BooleanField(
        "Red flag considered", default=False,
        help_text="The clinician confirmed considering the red flag before choosing a milder "
                  "management.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(decision="agree") | ~Q(reason=""),
                                   name="override_needs_a_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.decided_by} ({self.decided_at:%Y-%m-%d})"


def photo_path(instance: Photo, filename: str) -> str:
    # A random name: nothing about the child in the file system.
    import uuid

    return f"photos/{uuid.uuid4().hex}.{instance.image_format.lower()}"


class Photo(models.Model):
    """A clinical photo of an observation. Stored with EXIF removed in the default storage
    (settings.STORAGES: MEDIA_ROOT on one server, object storage on several; never static
    files), read and written only through the storage API, and served only through a
    permission-checked view."""

    observation = models.ForeignKey(LesionObservation, on_delete=models.PROTECT,
                                    related_name="photos")
    image = models.FileField(upload_to=photo_path)
    image_format = models.CharField(max_length=4, choices=[("JPEG", "JPEG"), ("PNG", "PNG")])
    width_px = models.PositiveIntegerField()
    height_px = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    caption = models.CharField(max_length=200, blank=True,
                               validators=[refuse_hidden_characters])
    uploaded_at = models.DateTimeField(auto_now_add=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                    related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["observation__encounter__date", "id"]

    def __str__(self) -> str:
        return f"Photo of {self.observation}"

    @property
    def content_type(self) -> str:
        return "image/jpeg" if self.image_format == "JPEG" else "image/png"


class PatientViewLog(models.Model):
    """Who opened which patient's record, and when (visible to superusers only)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    path = models.CharField(max_length=200)
    viewed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-viewed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} viewed {self.patient} at {self.viewed_at:%Y-%m-%d %H:%M}"


class ExportKind(models.TextChoices):
    FHIR_BUNDLE = "fhir_bundle", "FHIR bundle of one patient"
    FHIR_BULK = "fhir_bulk", "FHIR bulk export (NDJSON)"
    REDCAP_RECORDS = "redcap_records", "REDCap records"
    REDCAP_DICTIONARY = "redcap_dictionary", "REDCap data dictionary"
    ASSESSMENTS_CSV = "assessments_csv", "Assessments CSV"


class ExportLog(models.Model):
    """Who took which records out of the app, through which door, and how many: the export
    counterpart of PatientViewLog. A bulk export is one row (its clinics and patient count),
    a one-patient export names the patient (and is also a patient view)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+")
    kind = models.CharField(max_length=20, choices=ExportKind.choices)
    channel = models.CharField(max_length=8, choices=[("web", "Web"), ("command", "Command")])
    site_codes = models.JSONField(default=list, blank=True,
                                  help_text="The clinics whose records were exported.")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    patient_count = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_kind_display()} at {self.started_at:%Y-%m-%d %H:%M}"


class ApiToken(models.Model):
    """A per-user key for POST /api/v1/assess. Only a SHA-256 hash of the secret is stored;
    the key itself is shown once, when it is created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=80, validators=[refuse_hidden_characters])
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) for {self.user}"


class ChangeCounter(models.Model):
    """A number bumped (in the same transaction) by every write that changes what a derived
    view shows, so caches of that view are keyed by it and are never stale, in any process."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}: {self.value}"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running (or stopped without notice)"
    FINISHED = "finished", "Finished"
    INTERRUPTED = "interrupted", "Interrupted: run it again to continue"


class ReassessmentRun(models.Model):
    """One run of ``manage.py reassess``: who ran it, over which clinics, with which ruleset,
    and what it found. Each batch adds its counts in its own transaction, so the counts of an
    interrupted run are exactly what it saved."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="+")
    ruleset_version = models.CharField(max_length=20)
    site_codes = models.JSONField(default=list, blank=True,
                                  help_text="The clinics whose lesions were re-assessed.")
    status = models.CharField(max_length=12, choices=RunStatus.choices,
                              default=RunStatus.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    patient_count = models.PositiveIntegerField("patients looked at", default=0)
    reassessed = models.PositiveIntegerField("lesions re-assessed", default=0)
    unchanged = models.PositiveIntegerField("same leading entity and management", default=0)
    entity_changed = models.PositiveIntegerField("leading entity changed", default=0)
    management_raised = models.PositiveIntegerField("management raised", default=0)
    management_lowered = models.PositiveIntegerField("management lowered", default=0)
    failed = models.PositiveIntegerField("refused by the current ruleset", default=0)
    already_current = models.PositiveIntegerField(
        "already assessed with this ruleset", default=0,
        help_text="Skipped: done by an earlier run, a re-run or a visit since the upgrade.")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        # No clinic names: a change row of one clinic names its run on reviewers' pages.
        return (f"Re-assessment with ruleset {self.ruleset_version}, "
                f"{timezone.localtime(self.started_at):%d %b %Y %H:%M}"
                if self.started_at else f"Re-assessment with ruleset {self.ruleset_version}")


class ManagementChange(models.TextChoices):
    SAME = "", "Unchanged"
    RAISED = "raised", "Raised"
    LOWERED = "lowered", "Lowered"


class ReassessmentChange(models.Model):
    """A lesion whose re-assessment with a newer ruleset changed its leading entity or its
    management (or which the newer ruleset could not assess), kept for review. A raised
    management, and an urgent one lowered (which would otherwise leave the worklist's urgent
    list without a clinician having seen why), are on the worklist until a clinician records a
    decision on the new assessment (``acknowledged_*``), a later visit supersedes it, or the
    lesion resolves."""

    run = models.ForeignKey(ReassessmentRun, on_delete=models.PROTECT, related_name="changes")
    lesion = models.ForeignKey(Lesion, on_delete=models.PROTECT, related_name="+")
    previous = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="+",
                                 verbose_name="assessment re-run")
    # Null when the newer ruleset refused the stored findings (``problem`` says why).
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+",
                                   verbose_name="new assessment")
    ruleset_version = models.CharField(max_length=20)
    previous_entity = models.CharField("leading entity before", max_length=60)
    entity = models.CharField("leading entity after", max_length=60, blank=True)
    previous_management = models.CharField("management before", max_length=20,
                                           choices=ManagementCategory.choices)
    management = models.CharField("management after", max_length=20, blank=True,
                                  choices=ManagementCategory.choices)
    entity_changed = models.BooleanField("leading entity changed", default=False)
    management_change = models.CharField(max_length=8, blank=True,
                                         choices=ManagementChange.choices)
    problem = models.TextField(blank=True, help_text="Why the current ruleset could not "
                                                     "assess the stored findings.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                        null=True, blank=True, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        constraints = [
            # A resumed run skips what an earlier one recorded, refusals included.
            models.UniqueConstraint(fields=["previous", "ruleset_version"],
                                    name="one_change_per_assessment_and_ruleset"),
        ]
        indexes = [
            # The worklist's section reads only the few rows it lists (WORKLIST_CHANGES).
            models.Index(fields=["lesion"], name="reassessment_worklist_open",
                         condition=Q(acknowledged_at__isnull=True)
                         & (Q(management_change="raised")
                            | Q(management_change="lowered", previous_management="urgent"))),
        ]

    def __str__(self) -> str:
        return f"Re-assessment of {self.lesion} with ruleset {self.ruleset_version}"
