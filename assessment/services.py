"""Writes. Each function is one clinical action, atomic: it saves everything or nothing.

Preconditions (the record is not archived, the lesion is still active, the version the user saw
is still current, the form was not already submitted) are checked again *inside* the write's
transaction, after locking the patient's row: two requests that race behave as if they came one
after the other. Every write for one child locks that child's row first, then any lesion rows in
id order, so concurrent writes cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from . import engine
from .clinical import age_in_months, contract_input, overridden_flag
from .engine.course import CourseContext, Visit, check_course
from .models import (
    Assessment,
    AssessmentDecision,
    CourseStatus,
    Decision,
    Encounter,
    ImagingFinding,
    LabResult,
    Lesion,
    LesionObservation,
    LesionStatus,
    Patient,
    Photo,
)
from .photos import CleanPhoto

WORKLIST = "worklist"


def worklist_changed() -> None:
    """Call in any write that changes the worklist: cached worklists are keyed by this."""
    from django.db.models import F

    from .models import ChangeCounter

    if not ChangeCounter.objects.filter(name=WORKLIST).update(value=F("value") + 1):
        ChangeCounter.objects.get_or_create(name=WORKLIST)


class StaleEdit(Exception):
    """The record changed since the form was opened; nothing was saved."""

    def __init__(self, current: Any) -> None:
        self.current = current
        super().__init__("the record was changed by someone else")


class Conflict(Exception):
    """A precondition no longer holds, found under the row lock; nothing was saved. The message
    is written for the person who submitted the form."""


class DuplicateSubmission(Exception):
    """The same visit form was submitted again (same submission token); the visit saved the
    first time is ``existing`` and nothing new was saved."""

    def __init__(self, existing: Encounter) -> None:
        self.existing = existing
        super().__init__("this visit form was already submitted")


def _lesion_follows(lesion: Lesion, assessment: Assessment, user: AbstractBaseUser) -> None:
    """The lesion's next due date and course flag follow its newest assessment."""
    lesion.next_follow_up_due = assessment.follow_up_due
    lesion.atypical_course = assessment.atypical_course
    _stamp(lesion, user, new=False)
    lesion.save(update_fields=["next_follow_up_due", "atypical_course", "updated_by",
                               "updated_at"])


def _lock_open_patient(patient_pk: int) -> Patient:
    """Lock the child's row for the rest of the transaction and refuse an archived record.

    On PostgreSQL a second writer waits here until the first commits, then reads its result; on
    SQLite writers are already serialised (IMMEDIATE transactions), where the lock is a no-op.
    """
    patient = Patient.objects.select_for_update().get(pk=patient_pk)
    if patient.archived_at is not None:
        raise Conflict(f"This record was archived on {patient.archived_at:%Y-%m-%d}: it can be "
                       "read but not changed. Nothing was saved.")
    return patient


def _stamp(instance: Any, user: AbstractBaseUser, *, new: bool) -> None:
    if new:
        instance.created_by = user
    instance.updated_by = user
    # The audit trail's "who" also outside a request (commands, demo loading).
    instance._history_user = user


@transaction.atomic
def patient_create(*, patient: Patient, user: AbstractBaseUser) -> Patient:
    _stamp(patient, user, new=True)
    patient.version = 1
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, expected_version: int, user: AbstractBaseUser,
                   fields: Sequence[str]) -> Patient:
    """Save edited fields unless someone saved the patient since ``expected_version``.

    The version is claimed with one conditional UPDATE, so of two racing saves exactly one
    wins on every database; the loser changes nothing. A change of clinic moves the whole record
    (``_patient_move``) in the same transaction.
    """
    locked = _lock_open_patient(patient.pk)
    claimed = Patient.objects.filter(pk=patient.pk, version=expected_version).update(
        version=expected_version + 1)
    if not claimed:
        raise StaleEdit(Patient.objects.select_related("updated_by").get(pk=patient.pk))
    _stamp(patient, user, new=False)
    patient.version = expected_version + 1
    patient.full_clean()
    patient.save(update_fields=[*fields, "version", "updated_by", "updated_at"])
    if "site" in fields and patient.site_id != locked.site_id:
        _patient_move(patient=patient, from_site_id=locked.site_id, user=user)
    # Keep each visit's copy of the date of birth in step; the database refuses the change
    # (and the transaction rolls back) if a visit would now be before birth.
    Encounter.objects.filter(patient=patient).update(patient_born=patient.date_of_birth)
    worklist_changed()  # ages on the worklist and windows on the outcomes page move with it
    return patient


def _patient_move(*, patient: Patient, from_site_id: int, user: AbstractBaseUser) -> None:
    """Move everything that carries the child's clinic to the patient's new clinic.

    Visits and lesions keep a copy of the clinic (lists and the worklist filter one table); a
    copy left behind would keep the old clinic's access and hide the record from the new one.
    Every model with a foreign key to Site except memberships carries it (a test checks that
    none is forgotten). Rows are saved one by one so each move is in the audit trail.
    """
    from django.core.exceptions import PermissionDenied

    from . import access

    if not (access.can(user, access.WRITE, from_site_id)
            and access.can(user, access.WRITE, patient.site_id)):
        raise PermissionDenied("Moving a record needs the clinician role at both clinics.")
    for model in (Encounter, Lesion):
        for row in model.objects.filter(patient=patient).exclude(clinic_id=patient.site_id):
            row.clinic_id = patient.site_id
            _stamp(row, user, new=False)
            row.save(update_fields=["clinic", "updated_by", "updated_at"])
    worklist_changed()


@transaction.atomic
def patient_archive(*, patient: Patient, user: AbstractBaseUser) -> Patient:
    """Archive, never delete: the record leaves lists and the worklist but stays readable."""
    _lock_open_patient(patient.pk)
    patient.archived_at = timezone.now()
    patient.archived_by = user
    _stamp(patient, user, new=False)
    patient.version += 1
    patient.save(update_fields=["archived_at", "archived_by", "updated_by", "updated_at",
                                "version"])
    # Off the worklist: an archived child is not followed up. Saved row by row for history.
    for lesion in Lesion.objects.filter(patient=patient).exclude(
            next_follow_up_due__isnull=True, atypical_course=False):
        lesion.next_follow_up_due = None
        lesion.atypical_course = False
        _stamp(lesion, user, new=False)
        lesion.save(update_fields=["next_follow_up_due", "atypical_course", "updated_by",
                                   "updated_at"])
    worklist_changed()
    return patient


def record_view(*, user: AbstractBaseUser, patient_id: int, path: str) -> None:
    from .models import PatientViewLog

    PatientViewLog.objects.create(user=user, patient_id=patient_id, path=path[:200])


def export_started(*, user: AbstractBaseUser, kind: str, channel: str, site_codes: list[str],
                   patient_id: int | None = None, patient_count: int | None = None) -> Any:
    """Log an export before its first byte leaves (a stream cut short is still logged). A
    one-patient export is a patient view as well."""
    from .models import ExportLog

    if patient_id is not None:
        record_view(user=user, patient_id=patient_id, path=f"export:{kind}")
    return ExportLog.objects.create(user=user, kind=kind, channel=channel,
                                    site_codes=sorted(site_codes), patient_id=patient_id,
                                    patient_count=patient_count)


def export_finished(*, log: Any, patient_count: int) -> None:
    from .models import ExportLog

    ExportLog.objects.filter(pk=log.pk).update(patient_count=patient_count,
                                               finished_at=timezone.now())


@dataclass
class LesionEntry:
    lesion: Lesion
    observation: LesionObservation


def encounter_record(
    *,
    patient: Patient,
    encounter: Encounter,
    entries: Sequence[LesionEntry],
    labs: Sequence[LabResult],
    imaging: Sequence[ImagingFinding],
    user: AbstractBaseUser,
    submission_token: Any = None,
    validated: Sequence[tuple[dict[str, Any], engine.Findings]] = (),
) -> Encounter:
    """Save a visit with its lesions, observations, labs and imaging, then assess each
    observation. The caller has validated everything (forms and engine); if anything still
    fails here, the transaction leaves no half-saved record.

    Under the patient's row lock it checks again what the form checked without one: the record
    is open, each followed lesion is still this child's and active, and the visit comes after
    the lesion's last observation (``Conflict``); a form submitted twice (same
    ``submission_token``) saves one visit (``DuplicateSubmission``).
    """
    with transaction.atomic():
        locked = _lock_open_patient(patient.pk)
        if submission_token is not None:
            existing = Encounter.objects.filter(submission_token=submission_token).first()
            if existing is not None:
                raise DuplicateSubmission(existing)
        _check_followed_lesions(patient=locked, entries=entries, on=encounter.date)
        encounter.submission_token = submission_token
        encounter.patient = patient
        encounter.clinic_id = locked.site_id
        encounter.patient_born = locked.date_of_birth
        encounter.clinician = user
        _stamp(encounter, user, new=True)
        encounter.full_clean()
        encounter.save()
        # Saved one by one (not bulk) so each row gets its history entry.
        for row in [*labs, *imaging]:
            row.encounter = encounter
            _stamp(row, user, new=True)
            row.save()
        for entry in entries:
            lesion, observation = entry.lesion, entry.observation
            if lesion.pk is None:
                lesion.patient = patient
                lesion.clinic_id = locked.site_id
                _stamp(lesion, user, new=True)
                lesion.full_clean()
                lesion.save()
            previous = _latest_observation(lesion)
            observation.lesion = lesion
            observation.encounter = encounter
            _stamp(observation, user, new=True)
            observation.full_clean()
            observation.save()
            if observation.course_status == CourseStatus.RESOLVED:
                _lesion_resolve(lesion=lesion, on=encounter.date, user=user)
                continue
            assessment = assessment_run(patient=patient, encounter=encounter, lesion=lesion,
                                        observation=observation, labs=labs, imaging=imaging,
                                        user=user, validated=validated)
            if previous is not None:
                _course_check(assessment=assessment, previous=previous, patient=patient)
            _lesion_follows(lesion, assessment, user)
        worklist_changed()
    return encounter


def _check_followed_lesions(*, patient: Patient, entries: Sequence[LesionEntry],
                            on: Any) -> None:
    """Lock the existing lesions of a follow-up (in id order) and refresh them, then refuse a
    lesion that is not this child's, was resolved, or was already seen on or after ``on``."""
    from django.db.models import Max

    existing = sorted((entry.lesion for entry in entries if entry.lesion.pk is not None),
                      key=lambda lesion: lesion.pk)
    if not existing:
        return
    current = Lesion.objects.select_for_update().filter(
        pk__in=[lesion.pk for lesion in existing]).order_by("pk").in_bulk()
    last_seen = dict(LesionObservation.objects.filter(lesion__in=existing).values(
        "lesion").annotate(last=Max("encounter__date")).values_list("lesion", "last"))
    for lesion in existing:
        fresh = current.get(lesion.pk)
        if fresh is None or fresh.patient_id != patient.pk:
            raise Conflict(f"{lesion} is not a lesion of this patient. Nothing was saved.")
        if fresh.status != LesionStatus.ACTIVE:
            raise Conflict(f"{fresh} was recorded as resolved on {fresh.resolved_on:%Y-%m-%d} "
                           "by another visit after you opened this form. Nothing was saved.")
        seen = last_seen.get(lesion.pk)
        if seen is not None and on <= seen:
            raise Conflict(f"{fresh} already has a visit on {seen:%Y-%m-%d} (saved by someone "
                           "else after you opened this form); a follow-up must come after it. "
                           "Nothing was saved.")
        lesion.refresh_from_db()


def _latest_observation(lesion: Lesion) -> LesionObservation | None:
    if lesion.pk is None:
        return None
    return (LesionObservation.objects.filter(lesion=lesion).select_related("encounter")
            .prefetch_related("assessments").order_by("-encounter__date", "-id").first())


def _visit(observation: LesionObservation, patient: Patient) -> Visit:
    def number(value: Any) -> float | None:
        return None if value is None else float(value)

    return Visit(on=observation.encounter.date,
                 age_months=age_in_months(patient.date_of_birth, observation.encounter.date),
                 status=observation.course_status,
                 largest_diameter_mm=number(observation.largest_diameter_mm),
                 perpendicular_diameter_mm=number(observation.perpendicular_diameter_mm),
                 surface=observation.surface or None, color=observation.color or None,
                 features=frozenset(observation.features or []))


def _course_check(*, assessment: Assessment, previous: LesionObservation,
                  patient: Patient) -> None:
    """Evaluate the course checks for this follow-up and store them on its assessment."""
    earlier = max(previous.assessments.all(), key=lambda a: (a.created_at, a.pk), default=None)
    window = None
    management, due = "", None
    if earlier is not None:
        window = earlier.output_json["expected_course"]["resolution_expected_by_age_months"]
        management, due = earlier.management_category, earlier.follow_up_due
    flags = _course_flags(previous=previous, current=assessment.observation, patient=patient,
                          window=window, previous_management=management, previous_due=due)
    if flags:
        assessment.course_flags = flags
        assessment.atypical_course = True
        assessment.save(update_fields=["course_flags", "atypical_course"])


def _course_flags(*, previous: LesionObservation, current: LesionObservation,
                  patient: Patient, window: Any, previous_management: str,
                  previous_due: Any) -> list[dict[str, Any]]:
    """The course checks of ``current`` against ``previous``, given what the previous visit's
    newest assessment expected (its resolution window, management and due date; empty when
    it had none). Also used by the batch re-assessment (assessment/reassessment.py)."""
    return check_course(CourseContext(
        previous=_visit(previous, patient), current=_visit(current, patient),
        expected_window_months=tuple(window) if window else None,
        previous_management=previous_management, previous_follow_up_due=previous_due))


def _lesion_resolve(*, lesion: Lesion, on: Any, user: AbstractBaseUser) -> None:
    lesion.status = LesionStatus.RESOLVED
    lesion.resolved_on = on
    lesion.next_follow_up_due = None
    lesion.atypical_course = False
    _stamp(lesion, user, new=False)
    lesion.full_clean()
    lesion.save(update_fields=["status", "resolved_on", "next_follow_up_due", "atypical_course",
                               "updated_by", "updated_at"])


def assessment_run(*, patient: Patient, encounter: Encounter, lesion: Lesion,
                   observation: LesionObservation, labs: Sequence[LabResult],
                   imaging: Sequence[ImagingFinding], user: AbstractBaseUser,
                   validated: Sequence[tuple[dict[str, Any], engine.Findings]] = ()
                   ) -> Assessment:
    """Run the engine on one observation and store input, output and ruleset version.

    ``validated``: contract inputs the form already validated, with their findings. When the
    input rebuilt here from the saved rows is equal to one of them (it differs if, say, the
    birth date was corrected meanwhile), its findings are assessed without validating again."""
    data = contract_input(patient=patient, encounter=encounter, lesion=lesion,
                          observation=observation, labs=labs, imaging=imaging)
    findings = next((found for checked, found in validated if checked == data), None)
    output = engine.assess(data) if findings is None else engine.assess_findings(findings)
    return _assessment_save(observation=observation, version=observation.version, data=data,
                            output=output,
                            age_months=age_in_months(patient.date_of_birth, encounter.date),
                            seen_on=encounter.date, user=user)


def _assessment_save(*, observation: LesionObservation, version: int, data: dict[str, Any],
                     output: dict[str, Any], age_months: Any, seen_on: Any,
                     user: AbstractBaseUser) -> Assessment:
    """Store one engine result with the fields lists filter on, denormalised from the output."""
    assessment = _assessment_row(observation=observation, version=version, data=data,
                                 output=output, age_months=age_months, seen_on=seen_on,
                                 user=user)
    assessment.save()
    return assessment


def _assessment_row(*, observation: LesionObservation, version: int, data: dict[str, Any],
                    output: dict[str, Any], age_months: Any, seen_on: Any,
                    user: AbstractBaseUser) -> Assessment:
    """The unsaved row of one engine result (saved here one by one, in bulk by
    assessment/reassessment.py)."""
    primary = next((s["code"] for s in output["subtypes"] if s["role"] == "primary"), "")
    assessment = Assessment(
        observation=observation,
        observation_version=version,
        input_json=data,
        output_json=output,
        contract_version=output["contract"],
        ruleset_version=output["ruleset_version"],
        age_months=age_months,
        leading_entity=output["leading_entity"]["code"],
        primary_subtype=primary,
        management_category=output["management"]["category"],
        calcinosis=output["calcinosis"],
        urgent=any(flag["action"] == "urgent" for flag in output["red_flags"]),
        follow_up_due=seen_on + timedelta(weeks=output["follow_up"]["interval_weeks"]),
        created_by=user,
    )
    assessment._history_user = user
    return assessment


def assessment_rerun(*, assessment: Assessment, user: AbstractBaseUser) -> Assessment:
    """Assess the stored input of ``assessment`` again with the current ruleset.

    The new assessment is saved beside the old one, which is never modified: a past result stays
    as it was read then. The engine sees exactly the input stored with the old assessment (not
    the records as they are now), so the only difference is the ruleset. Refused with
    ``Conflict`` (nothing saved) when the record is archived, when the observation was corrected
    since (its newest assessment is the one to re-run), when this observation already has an
    assessment with the current ruleset, or when this one is already current.
    """
    current = engine.RULESET_VERSION
    with transaction.atomic():
        patient = _lock_open_patient(assessment.observation.encounter.patient_id)
        # Only the observation row: joining its visit or lesion would lock those rows as well,
        # outside the lock order the module docstring promises.
        observation = LesionObservation.objects.select_for_update().get(
            pk=assessment.observation_id)
        if assessment.ruleset_version == current:
            raise Conflict(f"This assessment was already made with the current ruleset "
                           f"({current}). Nothing was saved.")
        if observation.version != assessment.observation_version:
            raise Conflict("The observation was corrected after this assessment was made, and "
                           "the correction was assessed then: re-run its newest assessment "
                           "instead. Nothing was saved.")
        if Assessment.objects.filter(observation=observation, ruleset_version=current).exists():
            raise Conflict(f"This observation was already assessed with the current ruleset "
                           f"({current}), possibly by a colleague a moment ago: open its newest "
                           "assessment. Nothing was saved.")
        try:
            output = engine.assess(assessment.input_json)
        except engine.InvalidInput as invalid:
            # A newer contract may refuse what an older one accepted; the stored input is kept
            # as it was, so the way forward is a corrected observation.
            raise Conflict(f"The current ruleset cannot read the findings stored with this "
                           f"assessment ({invalid}). Correct the observation to assess it "
                           "again. Nothing was saved.") from invalid
        encounter = Encounter.objects.get(pk=observation.encounter_id)
        observation.encounter = encounter
        # The age is the one the stored input was made with.
        rerun = _assessment_save(observation=observation,
                                 version=assessment.observation_version,
                                 data=assessment.input_json, output=output,
                                 age_months=assessment.age_months, seen_on=encounter.date,
                                 user=user)
        # At a follow-up the course checks read the previous visit's expected course, which the
        # new ruleset may state differently, so they are evaluated again, as when recorded.
        previous = (LesionObservation.objects.filter(
            lesion_id=observation.lesion_id, encounter__date__lt=encounter.date)
            .select_related("encounter").prefetch_related("assessments")
            .order_by("-encounter__date", "-id").first())
        if previous is not None:
            _course_check(assessment=rerun, previous=previous, patient=patient)
        # Read after the patient lock: a visit that resolved the lesion meanwhile is seen here.
        lesion = Lesion.objects.get(pk=observation.lesion_id)
        latest = _latest_observation(lesion)
        if latest is not None and latest.pk == observation.pk and \
                lesion.status == LesionStatus.ACTIVE:
            _lesion_follows(lesion, rerun, user)
        worklist_changed()
    return rerun


@transaction.atomic
def assessment_decide(*, assessment: Assessment, decision: str, final_subtypes: list[str],
                      final_entity: str, final_management: str, reason: str,
                      user: AbstractBaseUser, flag_considered: bool = False
                      ) -> AssessmentDecision:
    """Record the clinician's decision. Agreeing copies the engine's reading; an override keeps
    the engine's output untouched beside the clinician's reading and reason.

    An override to a management milder than an urgent or refer red flag is refused unless the
    clinician confirmed considering that flag and gave a reason (checked here, under the lock,
    whatever door the decision came through)."""
    _lock_open_patient(assessment.observation.encounter.patient_id)
    output = assessment.output_json
    if decision == Decision.AGREE:
        final_subtypes = [s["code"] for s in output["subtypes"] if s["role"] != "alternative"]
        final_entity = output["leading_entity"]["code"]
        final_management = output["management"]["category"]
        flag_considered = False
    else:
        flag = overridden_flag(output, final_management)
        if flag is not None and not (flag_considered and reason.strip()):
            raise Conflict(f"Your management is milder than the {flag['action']} red flag "
                           f"({flag['message']}). Tick that you considered it and give your "
                           "reason; nothing was saved.")
        if flag is None:
            flag_considered = False
    row = AssessmentDecision(assessment=assessment, decision=decision,
                             final_subtypes=final_subtypes, final_entity=final_entity,
                             final_management=final_management, reason=reason.strip(),
                             flag_considered=flag_considered, decided_by=user)
    row._history_user = user
    row.full_clean()
    row.save()
    _reassessment_acknowledge(assessment=assessment, user=user)
    worklist_changed()  # the outcomes page groups by the clinician's final diagnosis
    return row


def _reassessment_acknowledge(*, assessment: Assessment, user: AbstractBaseUser) -> None:
    """A decision on an assessment that a ruleset upgrade made (manage.py reassess) is the
    clinician's review of that change: a management the upgrade raised (or lowered from
    urgent) leaves the worklist. Row by row (there is at most one) for the audit trail."""
    from .models import ReassessmentChange

    for change in ReassessmentChange.objects.filter(assessment=assessment,
                                                    acknowledged_at__isnull=True):
        change.acknowledged_at = timezone.now()
        change.acknowledged_by = user
        change._history_user = user
        change.save(update_fields=["acknowledged_at", "acknowledged_by"])


@transaction.atomic
def encounter_review(*, encounter: Encounter, status: str, comment: str,
                     user: AbstractBaseUser, expected_version: int) -> Encounter:
    """Record a reviewer's verdict unless the visit changed since ``expected_version`` (the
    version the reviewer saw): two reviewers never silently overwrite each other."""
    from django.utils import timezone

    claimed = Encounter.objects.filter(pk=encounter.pk, version=expected_version).update(
        version=expected_version + 1)
    if not claimed:
        raise StaleEdit(Encounter.objects.select_related("reviewed_by", "updated_by").get(
            pk=encounter.pk))
    encounter.review_status = status
    encounter.review_comment = comment
    # The fields this action writes are validated here too (e.g. hidden characters), whatever
    # door the review came through.
    encounter.clean_fields(exclude=[f.name for f in Encounter._meta.fields
                                    if f.name not in ("review_status", "review_comment")])
    encounter.reviewed_by = user
    encounter.reviewed_at = timezone.now()
    # The value itself (not an F() expression): the history row needs it.
    encounter.version = expected_version + 1
    encounter._history_user = user
    encounter.save(update_fields=["review_status", "review_comment", "reviewed_by",
                                  "reviewed_at", "version", "updated_at"])
    worklist_changed()
    return encounter


OBSERVATION_EDIT_FIELDS = (
    "count", "distribution", "largest_diameter_mm", "perpendicular_diameter_mm", "color",
    "morphology", "surface", "consistency", "features", "onset_age_months", "duration_weeks",
    "trend")


def observation_update(*, observation: LesionObservation, changes: dict[str, Any],
                       expected_version: int, user: AbstractBaseUser) -> Assessment:
    """Correct what was recorded of a lesion at a visit, then assess the corrected version.

    Of several clinicians saving the same observation from the same version, exactly one wins
    (a conditional UPDATE claims the version); the others get StaleEdit and change nothing.
    The previous assessment stays, tied to the version it assessed.
    """
    with transaction.atomic():
        _lock_open_patient(observation.encounter.patient_id)
        claimed = LesionObservation.objects.filter(
            pk=observation.pk, version=expected_version).update(version=expected_version + 1)
        if not claimed:
            raise StaleEdit(LesionObservation.objects.select_related("updated_by").get(
                pk=observation.pk))
        for name, value in changes.items():
            setattr(observation, name, value)
        observation.version = expected_version + 1
        _stamp(observation, user, new=False)
        observation.full_clean()
        observation.save()
        encounter = observation.encounter
        lesion = observation.lesion
        assessment = assessment_run(
            patient=encounter.patient, encounter=encounter, lesion=lesion,
            observation=observation, labs=list(encounter.labs.all()),
            imaging=list(encounter.imaging.all()), user=user)
        latest = _latest_observation(lesion)
        if latest is not None and latest.pk == observation.pk and \
                lesion.status == LesionStatus.ACTIVE:
            lesion.next_follow_up_due = assessment.follow_up_due
            _stamp(lesion, user, new=False)
            lesion.save(update_fields=["next_follow_up_due", "updated_by", "updated_at"])
        worklist_changed()
    return assessment


# --- API tokens ----------------------------------------------------------------------------------

TOKEN_PREFIX = "cal"


def _token_hash(secret: str) -> str:
    import hashlib

    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[Any, str]:
    """Create a token; return it with the full key, which is never stored or shown again."""
    import secrets

    from .models import ApiToken

    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = f"{TOKEN_PREFIX}_{prefix}_{secret}"
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix,
                                    key_hash=_token_hash(key))
    return token, key


def api_token_user(key: str) -> AbstractBaseUser | None:
    """The active user behind a key, or None. Compares hashes in constant time."""
    import hmac

    from django.utils import timezone

    from .models import ApiToken

    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = ApiToken.objects.select_related("user").filter(
        prefix=parts[1], revoked_at__isnull=True).first()
    if token is None or not hmac.compare_digest(token.key_hash, _token_hash(key)):
        return None
    from .auth import is_refused_demo_account

    if not token.user.is_active or is_refused_demo_account(token.user):
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user


@transaction.atomic
def photo_attach(*, observation: LesionObservation, photo: CleanPhoto, caption: str,
                 user: AbstractBaseUser) -> Photo:
    """Store an already cleaned photo (validated, EXIF removed) for an observation."""
    from django.core.files.base import ContentFile

    _lock_open_patient(observation.encounter.patient_id)
    row = Photo(observation=observation, image_format=photo.format, width_px=photo.width,
                height_px=photo.height, size_bytes=len(photo.data), caption=caption.strip(),
                uploaded_by=user)
    row._history_user = user
    row.clean_fields(exclude=[f.name for f in Photo._meta.fields if f.name != "caption"])
    row.image.save("upload", ContentFile(photo.data), save=False)
    row.save()
    return row
