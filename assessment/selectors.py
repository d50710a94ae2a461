"""Reads, always through the user: every page and API looks records up here, so per-site access
(the trust issue) changes these functions, not the views."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from . import access, prepared
from .history_text import history_date, history_person, lesion_name, shown_fields
from .models import (
    Assessment,
    AssessmentDecision,
    Encounter,
    Lesion,
    LesionObservation,
    LesionStatus,
    Patient,
    Photo,
    ReviewStatus,
    Site,
)

WORKLIST_LIMIT = 25
COUNT_CAP = 1000  # the worklist says "1000+" rather than count a registry's backlog

User = AbstractBaseUser | AnonymousUser


def patients_visible_to(user: User) -> QuerySet[Patient]:
    """Every patient of the user's sites, archived ones included (their pages stay readable;
    lists and the worklist leave them out)."""
    if not user.is_authenticated:
        return Patient.objects.none()
    allowed = access.site_ids(user, access.VIEW)
    if allowed is None:
        return Patient.objects.all()
    return Patient.objects.filter(site_id__in=allowed)


def sites_visible_to(user: User) -> list[Site]:
    """The clinics whose records the user may see (VIEW)."""
    if not user.is_authenticated:
        return []
    allowed = access.site_ids(user, access.VIEW)
    sites = Site.objects.all() if allowed is None else Site.objects.filter(pk__in=allowed)
    return list(sites.order_by("name"))


def report_sites(user: User, codes: list[str] | None = None) -> list[Site]:
    """The clinics whose records the user may export or count on the outcomes page (REPORT),
    narrowed to ``codes`` when given. A code the user may not report on is answered as if it
    did not exist (as another clinic's record is a 404), so the caller cannot probe names."""
    if not user.is_authenticated:
        return []
    allowed = access.site_ids(user, access.REPORT)
    sites = Site.objects.all() if allowed is None else Site.objects.filter(pk__in=allowed)
    if codes is not None:
        sites = sites.filter(code__in=codes)
    return list(sites.order_by("name"))


def reassess_sites(user: User, codes: list[str] | None = None) -> list[Site]:
    """The clinics whose lesions the user may re-assess after a ruleset upgrade (REASSESS),
    narrowed to ``codes`` when given; a clinic the user may not re-assess is not found."""
    if not user.is_authenticated:
        return []
    allowed = access.site_ids(user, access.REASSESS)
    sites = Site.objects.all() if allowed is None else Site.objects.filter(pk__in=allowed)
    if codes is not None:
        sites = sites.filter(code__in=codes)
    return list(sites.order_by("name"))


def patient_list(user: User, query: str = "") -> QuerySet[Any]:
    """The ids of the patients to list, ordered; cheap to count. What the list shows of each is
    read per page by ``patient_list_summaries`` (annotating before paginating would make the
    count aggregate every visit and lesion of the registry, and a page far from both ends
    would compute the summaries of every row its OFFSET skips)."""
    patients = patients_visible_to(user).filter(archived_at__isnull=True)
    query = query.strip()
    if query:
        patients = patients.filter(record_number__icontains=query)
    return patients.order_by("record_number", "id").values_list("pk", flat=True)


def patient_list_summaries(ids: list[int]) -> list[dict[str, Any]]:
    """The page's patients (``ids``, from ``patient_list``: already permission-checked), in
    that order, with what the list shows: record number, birth date, sex, visit count, last
    visit and active lesions, in one query.

    Each figure is its own subquery on an index (visits by patient and date, lesions by
    patient): joining visits and lesions and counting DISTINCT made visits x lesions rows per
    patient (a patient with 100 of each: 10,000 rows to sort for one line). Written as SQL
    because the ORM's compilation of the three subqueries cost more than the rest of the
    page's queries together (3 ms of an 11 ms page); the text is the same on SQLite and
    PostgreSQL."""
    from datetime import date as Date

    from django.db import connection

    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_PATIENT_SUMMARIES.format(ids=", ".join(["%s"] * len(ids))),
                       [LesionStatus.ACTIVE, *ids])
        rows = {row[0]: row for row in cursor.fetchall()}

    def day(value: Any) -> Date | None:  # SQLite answers MAX(date) as text
        return Date.fromisoformat(value) if isinstance(value, str) else value

    return [{"pk": pk, "record_number": row[1], "date_of_birth": day(row[2]), "sex": row[3],
             "encounter_count": row[4], "last_visit": day(row[5]), "active_lesions": row[6]}
            for pk in ids if (row := rows.get(pk)) is not None]


_PATIENT_SUMMARIES = (
    f"SELECT p.id, p.record_number, p.date_of_birth, p.sex, "
    f"(SELECT COUNT(*) FROM {Encounter._meta.db_table} e WHERE e.patient_id = p.id), "
    f"(SELECT MAX(e.date) FROM {Encounter._meta.db_table} e WHERE e.patient_id = p.id), "
    f"(SELECT COUNT(*) FROM {Lesion._meta.db_table} l "
    f"WHERE l.patient_id = p.id AND l.status = %s) "
    f"FROM {Patient._meta.db_table} p WHERE p.id IN ({{ids}})")


def patient_for(user: User, pk: int) -> Patient:
    return get_object_or_404(patients_visible_to(user).select_related("site"), pk=pk)


def patient_overview(user: User, pk: int) -> Patient:
    """A patient with encounters (newest first), their observations, assessments and photos,
    and lesions, in a fixed number of queries (the patient page builds every lesion's course
    from these, never by asking again per lesion)."""
    latest_first = Assessment.objects.order_by("-created_at", "-id").prefetch_related(
        Prefetch("decisions", queryset=AssessmentDecision.objects.select_related("decided_by")))
    observations = LesionObservation.objects.select_related("lesion").prefetch_related(
        Prefetch("assessments", queryset=latest_first),
        Prefetch("photos", queryset=Photo.objects.order_by("id")))
    encounters = Encounter.objects.select_related("clinician", "reviewed_by").prefetch_related(
        Prefetch("observations", queryset=observations)).order_by("-date", "-id")
    queryset = patients_visible_to(user).select_related("site", "archived_by").prefetch_related(
        Prefetch("encounters", queryset=encounters),
        Prefetch("lesions", queryset=Lesion.objects.order_by("status", "id")),
    )
    return get_object_or_404(queryset, pk=pk)


def encounter_for(user: User, pk: int) -> Encounter:
    observations = LesionObservation.objects.select_related("lesion").prefetch_related(
        Prefetch("assessments", queryset=Assessment.objects.order_by("-created_at", "-id")))
    queryset = Encounter.objects.filter(patient__in=patients_visible_to(user)).select_related(
        "patient__site", "clinician", "reviewed_by").prefetch_related(
        Prefetch("observations", queryset=observations), "labs", "imaging")
    return get_object_or_404(queryset, pk=pk)


def _assessments_visible_to(user: User) -> QuerySet[Assessment]:
    """Assessments of the user's sites' patients (as ``patients_visible_to``), checked on the
    patient's own site column: the ``IN (SELECT ...)`` of patients_visible_to is one more
    table for PostgreSQL to plan on a lookup that already joins the patient."""
    if not user.is_authenticated:
        return Assessment.objects.none()
    allowed = access.site_ids(user, access.VIEW)
    if allowed is None:
        return Assessment.objects.all()
    return Assessment.objects.filter(observation__encounter__patient__site_id__in=allowed)


def assessment_for(user: User, pk: int) -> Assessment:
    """An assessment with its observation, lesion, visit and patient, and its decisions
    (newest first, with who decided), in two queries: what the assessment page shows and its
    writes need (one when it has no decision). ``newest_pk``: the observation's newest
    assessment (the model's ordering), which the page links to when it is not this one.

    Only five tables are joined: PostgreSQL spent 7-9 ms of a ~10 ms lookup planning the
    nine-table join this once was (clinic, clinician and creator added, none shown on the
    page), and under a millisecond on five. The printouts, which name the clinic and the
    clinician, use ``assessment_printout``."""
    allowed = access.site_ids(user, access.VIEW) if user.is_authenticated else []
    # An id no row can have (the address takes any digits; a 64-bit key holds fewer) is not
    # sent to the database, which would refuse it as out of range.
    if allowed == [] or not 0 < pk <= _MAX_ID:
        raise Http404("No assessment matches the given query.")
    return _with_decisions(_LOOKUPS.get(user, allowed, pk))


class _CompiledLookups:
    """``_assessment_lookup(user).filter(pk=pk)``, its SQL compiled once per process for each
    set of sites a user may see, and its row made into model instances (the assessment with
    its observation, lesion, visit and patient, and the annotations) as Django's own
    ModelIterable does. Compiling the five-table query cost 2.3 ms of the assessment page's
    4.1 ms lookup, on every request, for the same SQL.

    The statement is compiled with a sentinel primary key whose place among the parameters is
    then filled per request; the sites are part of the key. Django internals (the compiler's
    ``select``/``klass_info``, ``get_related_populators``) are pinned by Django 5.2 LTS, and
    ``tests/integration/test_assessment_lookup.py`` compares every field and relation with
    the plain queryset's."""

    _SENTINEL = -7_340_033  # no primary key is negative
    _MAX = 64

    def __init__(self) -> None:
        self._compiled: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def clear(self) -> None:
        self._compiled.clear()

    def get(self, user: User, allowed: list[int] | None, pk: int) -> Assessment:
        from django.db import connections, router

        alias = router.db_for_read(Assessment)
        connection = connections[alias]
        key = (alias, connection.vendor, connection.settings_dict["NAME"],
               None if allowed is None else tuple(allowed))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(user, alias)
            if len(self._compiled) >= self._MAX:
                self._compiled.clear()
            self._compiled[key] = compiled
        sql, params, index, compiler, converters, populate = compiled
        params = list(params)
        params[index] = int(pk)
        # Prepared on PostgreSQL: planning the join took 1.8 ms of a 2.1 ms lookup.
        with prepared.cursor(connection) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchmany(2)
        if not rows:
            raise Http404("No assessment matches the given query.")
        if converters:
            rows = list(compiler.apply_converters(rows, converters))
        return populate(rows[0])

    def _compile(self, user: User, alias: str) -> tuple[Any, ...]:
        from django.db.models.query import get_related_populators

        compiler = _assessment_lookup(user).filter(pk=self._SENTINEL).query.get_compiler(
            using=alias)
        sql, params = compiler.as_sql()
        places = [i for i, value in enumerate(params) if value == self._SENTINEL]
        if len(places) != 1:  # a sentinel equal to another parameter: cannot happen
            raise RuntimeError("assessment lookup: primary key parameter not found")
        select, klass_info = compiler.select, compiler.klass_info
        annotations = dict(compiler.annotation_col_map or {})
        converters = compiler.get_converters([column[0] for column in select])
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        names = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, alias)

        def populate(row: Any) -> Assessment:
            assessment = Assessment.from_db(alias, names, row[start:end])
            for populator in populators:
                populator.populate(row, assessment)
            for name, position in annotations.items():
                setattr(assessment, name, row[position])
            return assessment

        return sql, tuple(params), places[0], compiler, converters, populate


_LOOKUPS = _CompiledLookups()
_MAX_ID = 2**63 - 1  # BigAutoField


def assessment_printout(user: User, pk: int) -> Assessment:
    """``assessment_for`` plus the clinic and the visit's clinician (the printouts name
    both)."""
    return _with_decisions(get_object_or_404(_assessment_lookup(user).select_related(
        "observation__encounter__patient__site", "observation__encounter__clinician"), pk=pk))


def _assessment_lookup(user: User) -> QuerySet[Assessment]:
    from django.db.models import BooleanField, IntegerField
    from django.db.models.expressions import RawSQL

    # order_by(): one row by primary key needs no sort.
    return _assessments_visible_to(user).select_related(
        "observation__lesion", "observation__encounter__patient",
    ).annotate(newest_pk=RawSQL(_NEWEST_OF_OBSERVATION, [], output_field=IntegerField()),
               decided=RawSQL(_DECIDED, [], output_field=BooleanField()),
               later_visit=RawSQL(_LATER_VISIT, [], output_field=BooleanField())).order_by()


# Subqueries on indexed keys, written as SQL: compiling them from the ORM (Subquery,
# Exists) cost more per page (1 ms and 0.6 ms) than asking for either apart, and asking apart
# costs a query each. The outer table is the lookup's own, unaliased.
_NEWEST_OF_OBSERVATION = (
    f"SELECT n.id FROM {Assessment._meta.db_table} n "
    f"WHERE n.observation_id = {Assessment._meta.db_table}.observation_id "
    f"ORDER BY n.created_at DESC, n.id DESC LIMIT 1")  # the model's ordering
_DECIDED = (f"EXISTS (SELECT 1 FROM {AssessmentDecision._meta.db_table} d "
            f"WHERE d.assessment_id = {Assessment._meta.db_table}.id)")
# Whether the lesion was seen at a later visit (the parent handout is then not offered for this
# assessment: handout.offer_for); the observation and visit tables are the lookup's own joins.
_LATER_VISIT = (
    f"EXISTS (SELECT 1 FROM {LesionObservation._meta.db_table} o2 "
    f"JOIN {Encounter._meta.db_table} e2 ON e2.id = o2.encounter_id "
    f"WHERE o2.lesion_id = {LesionObservation._meta.db_table}.lesion_id "
    f"AND e2.date > {Encounter._meta.db_table}.date)")


def _with_decisions(assessment: Assessment) -> Assessment:
    """``assessment`` with its decisions (newest first, with who decided) where
    ``assessment.decisions.all()`` finds them, as prefetch_related leaves them: read once, and
    not at all when the lookup found none (most assessments, before a clinician decides).
    prefetch_related's own machinery cost 1.4 ms per page, more than the query."""
    if assessment.decided:
        decisions = assessment.decisions.select_related("decided_by")
        len(decisions)  # evaluated here, once
    else:
        decisions = assessment.decisions.none()
    assessment._prefetched_objects_cache = {"decisions": decisions}
    return assessment


def lesions_visible_to(user: User) -> QuerySet[Lesion]:
    if not user.is_authenticated:
        return Lesion.objects.none()
    allowed = access.site_ids(user, access.VIEW)
    if allowed is None:
        return Lesion.objects.all()
    return Lesion.objects.filter(clinic_id__in=allowed)


def lesion_timeline(user: User, pk: int) -> Lesion:
    """A lesion with every observation in visit order, their assessments and photos."""
    observations = LesionObservation.objects.select_related("encounter").prefetch_related(
        Prefetch("assessments", queryset=Assessment.objects.order_by("-created_at", "-id")),
        Prefetch("photos", queryset=Photo.objects.order_by("id")),
    ).order_by("encounter__date", "id")
    queryset = lesions_visible_to(user).select_related("patient__site").prefetch_related(
        Prefetch("observations", queryset=observations))
    return get_object_or_404(queryset, pk=pk)


def follow_up_candidates(user: User, patient: Patient
                         ) -> list[tuple[Lesion, LesionObservation | None]]:
    """The patient's active lesions, each with its latest observation (for prefilling)."""
    observations = LesionObservation.objects.select_related("encounter").order_by(
        "-encounter__date", "-id")
    lesions = lesions_visible_to(user).filter(patient=patient, status=LesionStatus.ACTIVE
                                              ).prefetch_related(
        Prefetch("observations", queryset=observations)).order_by("id")
    return [(lesion, next(iter(lesion.observations.all()), None)) for lesion in lesions]


def observation_for(user: User, pk: int) -> LesionObservation:
    queryset = LesionObservation.objects.filter(
        lesion__in=lesions_visible_to(user)).select_related(
        "lesion", "encounter__patient__site", "updated_by")
    return get_object_or_404(queryset, pk=pk)


def photo_for(user: User, pk: int) -> Photo:
    queryset = Photo.objects.filter(
        observation__lesion__patient__in=patients_visible_to(user))
    return get_object_or_404(queryset, pk=pk)


def assessments_for_export(user: User) -> QuerySet[Assessment]:
    """Every assessment of the user's sites, with what a data manager needs, in one query."""
    return Assessment.objects.filter(
        observation__encounter__patient__in=patients_visible_to(user)
    ).select_related(
        "observation__lesion", "observation__encounter__patient__site",
    ).order_by("observation__encounter__patient__record_number", "observation__encounter__date",
               "id")


def patient_history(user: User, pk: int
                    ) -> tuple[Patient, list[tuple[type, list[Any]]], dict[str, dict[int, str]]]:
    """The audit trail of a patient's record: every historical row, chronological per record
    type, and readable names for what the rows point at (``history_text.history_entries``
    turns them into clinical words, newest first).

    Every historical row of the patient and of its visits, lesions, observations, labs, imaging,
    assessments, decisions and photos becomes one entry: when, who, which record (named by its
    lesion and visit date, never by an id) and what changed, with field labels, choice labels,
    Yes/No/Unknown, formatted dates and units. The engine's input and output are summarised,
    never dumped. Queries: one per record type, one for clinics and one for people named in
    fields, whatever the number of rows.
    """
    from .models import AssessmentDecision as Decision
    from .models import ImagingFinding, LabResult

    patient = patient_for(user, pk)
    visits = Encounter.objects.filter(patient=patient).values("id")
    sources: list[tuple[type, QuerySet[Any]]] = [
        (Patient, Patient.history.filter(id=patient.pk)),
        (Encounter, Encounter.history.filter(patient_id=patient.pk)),
        (Lesion, Lesion.history.filter(patient_id=patient.pk)),
        (LesionObservation, LesionObservation.history.filter(
            lesion_id__in=Lesion.objects.filter(patient=patient).values("id"))),
        (LabResult, LabResult.history.filter(encounter_id__in=visits)),
        (ImagingFinding, ImagingFinding.history.filter(encounter_id__in=visits)),
        (Assessment, Assessment.history.filter(observation__encounter__patient=patient)),
        (Decision, Decision.history.filter(assessment__observation__encounter__patient=patient)),
        (Photo, Photo.history.filter(observation__encounter__patient=patient)),
    ]
    # Chronological per record, so each row is compared with the one before it.
    fetched = [(model, list(rows.select_related("history_user").order_by(
        "history_date", "history_id"))) for model, rows in sources]
    return patient, fetched, _history_names(fetched)


def _history_names(fetched: list[tuple[type, list[Any]]]) -> dict[str, dict[int, str]]:
    """Readable names for what history rows point at, from the rows already fetched (the
    latest state of each record) plus one query each for clinics and people."""
    from django.contrib.auth import get_user_model

    from .models import Site

    latest = {model: {row.id: row for row in rows} for model, rows in fetched}
    visits = {pk: history_date(row.date) for pk, row in latest[Encounter].items()}
    lesions = {pk: lesion_name(row) for pk, row in latest[Lesion].items()}
    observations = {
        pk: ", ".join(filter(None, [lesions.get(row.lesion_id), visits.get(row.encounter_id)]))
        for pk, row in latest[LesionObservation].items()}
    assessments = {pk: observations.get(row.observation_id, "")
                   for pk, row in latest[Assessment].items()}
    person_model = get_user_model()
    site_ids: set[int] = set()
    person_ids: set[int] = set()
    for model, rows in fetched:
        for field in shown_fields(model):
            if field.is_relation:
                ids = site_ids if field.related_model is Site else person_ids
                ids.update(v for row in rows if (v := getattr(row, field.attname)) is not None)
    sites = dict(Site.objects.filter(pk__in=site_ids).values_list("pk", "name"))
    people = {person.pk: history_person(person) for person in person_model.objects.filter(
        pk__in=person_ids).only("username", "first_name", "last_name")}
    return {"visits": visits, "lesions": lesions, "observations": observations,
            "assessments": assessments, "sites": sites, "people": people}


WORKLIST_CACHE_SECONDS = 300


def worklist(user: User, today: date) -> dict[str, Any]:
    """The worklist, computed once per user, day and change of the registry.

    Every write that alters it bumps a counter in the same transaction (services.
    worklist_changed), and the cache key includes that counter, so a cached worklist is never
    stale, in any server process; views between writes cost one small query.
    """
    from django.core.cache import cache

    from .models import ChangeCounter

    generation = ChangeCounter.objects.filter(name="worklist").values_list(
        "value", flat=True).first() or 0
    sites = access.site_ids(user, access.VIEW)
    scope = "all" if sites is None else "-".join(map(str, sites))
    # "v4": the rows' shape (v4 added cache_key); a shared cache must not hand an older
    # release's rows to this one.
    key = f"worklist:v4:{user.pk}:{scope}:{today.isoformat()}:{generation}"
    context = cache.get(key)
    if context is None:
        # The key goes with the rows: the page keeps its rendered markup under it too
        # (presenters.worklist_sections_html).
        context = {**_worklist(user, today), "cache_key": key}
        cache.set(key, context, WORKLIST_CACHE_SECONDS)
    return context


def _worklist(user: User, today: date) -> dict[str, Any]:
    """What needs attention, most pressing first: lesions whose latest assessment is urgent
    (whatever their due date), lesions whose management a ruleset update raised or lowered
    from urgent (shown only when there are some), overdue follow-ups, follow-ups due this
    week, lesions with an atypical course, visits awaiting review. Each row says in words why
    it is listed. A fixed number of queries whatever the registry size.

    The most visited page, so rows are plain dictionaries with only what is shown (building
    full model rows cost more than the queries). Archived patients' lesions carry no due date
    and no atypical flag (archiving clears them); the urgent list, read from assessments,
    leaves archived patients out explicitly.
    """
    from django.db.models import F

    from .models import EncounterKind, ManagementCategory

    active = lesions_visible_to(user).filter(status=LesionStatus.ACTIVE)
    week_end = today + timedelta(days=7)
    due = active.filter(next_follow_up_due__gte=today, next_follow_up_due__lt=week_end)
    overdue = active.filter(next_follow_up_due__lt=today)
    atypical = active.filter(atypical_course=True)
    allowed = access.site_ids(user, access.VIEW)
    # The category alone covers urgent red flags too: the output contract refuses a management
    # milder than a red flag's floor (engine/contract.py), and the category is indexed where
    # the flag is not (asking for either scanned every assessment: 10x slower at 5,000
    # patients).
    urgent = Assessment.objects.filter(
        management_category=ManagementCategory.URGENT,
        observation__lesion__status=LesionStatus.ACTIVE,
        observation__lesion__patient__archived_at__isnull=True,
    ).filter(_no_newer_assessment())
    if allowed is not None:
        urgent = urgent.filter(observation__lesion__clinic_id__in=allowed)
    review = Encounter.objects.filter(review_status=ReviewStatus.PENDING,
                                      patient__archived_at__isnull=True)
    if allowed is not None:
        review = review.filter(clinic_id__in=allowed)
    by_ruleset = _changed_by_ruleset(allowed)
    urls = _WorklistUrls()

    # An urgent result is due the day it is made, so "overdue" would repeat "waiting".
    urgent_rows = [
        {**_lesion_row(row, today, urls),
         **({"when": "", "when_css": ""} if row["due_on"] == row["seen"] else {}),
         "reason": _urgent_reason(row["flags"], row["reasons"]),
         "entity": _entity_label(row["entity"]), "assessment_url": urls.assessment(row["pk"]),
         "urgent": True, "seen": row["seen"], "waiting": _waiting_words(row["seen"], today)}
        for row in urgent.order_by("observation__encounter__date", "id").values(
            "pk", lesion_pk=F("observation__lesion_id"),
            lesion_label=F("observation__lesion__label"),
            lesion_site=F("observation__lesion__site"),
            lesion_subsite=F("observation__lesion__heel_subsite"),
            lesion_side=F("observation__lesion__laterality"),
            due_on=F("observation__lesion__next_follow_up_due"),
            patient_pk=F("observation__lesion__patient_id"),
            record=F("observation__lesion__patient__record_number"),
            seen=F("observation__encounter__date"), entity=F("leading_entity"),
            flags=F("output_json__red_flags"),
            reasons=F("output_json__management__reasons"))[:WORKLIST_LIMIT]]

    def lesions(queryset: QuerySet) -> list[dict[str, Any]]:
        return [_lesion_row(row, today, urls)
                for row in queryset.order_by("next_follow_up_due", "id").values(
                    lesion_pk=F("id"), lesion_label=F("label"), lesion_site=F("site"),
                    lesion_subsite=F("heel_subsite"), lesion_side=F("laterality"),
                    due_on=F("next_follow_up_due"), patient_pk=F("patient_id"),
                    record=F("patient__record_number"))[:WORKLIST_LIMIT]]

    overdue_rows, due_rows, atypical_rows = lesions(overdue), lesions(due), lesions(atypical)
    latest = _latest_assessments(
        {row["lesion_pk"] for row in [*overdue_rows, *due_rows, *atypical_rows]})
    for rows, reason in ((overdue_rows, "Follow-up overdue"), (due_rows, "Follow-up due"),
                         (atypical_rows, "Atypical course")):
        for row in rows:
            _explain(row, latest.get(row["lesion_pk"]), reason, urls)

    visits = [{"url": urls.encounter(row["pk"]), "record": row["record"],
               "title": f"{row['date'].day} {row['date']:%b %Y} "
                        f"({EncounterKind(row['kind']).label.lower()})",
               "date": row["date"], "kind": EncounterKind(row["kind"]).label,
               "patient_url": urls.patient(row["patient_pk"]),
               "clinician": _full_name(row),
               "reason": f"Assessment awaiting review: "
                         f"{EncounterKind(row['kind']).label.lower()} recorded by "
                         f"{_full_name(row)}",
               "when": _waiting_words(row["date"], today), "when_css": "text-bg-secondary"}
              for row in review.order_by("date", "id").values(
                  "pk", "date", "kind", record=F("patient__record_number"),
                  patient_pk=F("patient_id"), username=F("clinician__username"),
                  first_name=F("clinician__first_name"),
                  last_name=F("clinician__last_name"))[:WORKLIST_LIMIT]]
    counts = {"urgent": _capped_count(urgent), "ruleset": _capped_count(by_ruleset),
              "overdue": _capped_count(overdue), "due": _capped_count(due),
              "atypical": _capped_count(atypical), "review": _capped_count(review)}
    rows = {"urgent": urgent_rows, "ruleset": _ruleset_rows(by_ruleset, today, urls),
            "overdue": overdue_rows, "due": due_rows, "atypical": atypical_rows,
            "review": visits}
    return {
        "today": today,
        "week_end": week_end - timedelta(days=1),
        "count_cap": COUNT_CAP,
        **rows,
        **{f"{key}_count": count for key, count in counts.items()},
        "sections": [dict(section, rows=rows[section["key"]], count=counts[section["key"]])
                     for section in _WORKLIST_SECTIONS
                     if counts[section["key"]] or not section.get("only_when_listed")],
    }


def _changed_by_ruleset(allowed: list[int] | None) -> QuerySet[Any]:
    """Lesions whose management a re-assessment after a ruleset upgrade (manage.py reassess)
    raised, or lowered from urgent (so an urgent result no clinician has seen never leaves the
    worklist without a word): listed until a clinician records a decision on the new
    assessment, while that assessment is still the lesion's current one (a later visit
    supersedes it) and the lesion is active and its record open."""
    from django.db.models import OuterRef, Q

    from .models import ManagementCategory, ManagementChange, ReassessmentChange

    changed = ReassessmentChange.objects.filter(
        Q(management_change=ManagementChange.RAISED)
        | Q(management_change=ManagementChange.LOWERED,
            previous_management=ManagementCategory.URGENT),
        acknowledged_at__isnull=True, lesion__status=LesionStatus.ACTIVE,
        lesion__patient__archived_at__isnull=True,
    ).filter(assessment_id=_latest_assessment_id(OuterRef("lesion_id")))
    if allowed is not None:
        changed = changed.filter(lesion__clinic_id__in=allowed)
    return changed


def _ruleset_rows(changed: QuerySet[Any], today: date, urls: _WorklistUrls
                  ) -> list[dict[str, Any]]:
    """The rows of the "changed by a ruleset update" section: now urgent first, then no
    longer urgent, then refer, then the longest listed."""
    from django.db.models import Case, F, IntegerField, Value, When

    from .models import ManagementCategory, ManagementChange

    def label(code: str) -> str:
        return ManagementCategory(code).label.lower() if code in ManagementCategory.values \
            else ""

    severity = Case(When(management=ManagementCategory.URGENT, then=Value(0)),
                    When(previous_management=ManagementCategory.URGENT, then=Value(1)),
                    When(management=ManagementCategory.REFER, then=Value(2)),
                    default=Value(3), output_field=IntegerField())
    rows = []
    for row in changed.order_by(severity, "id").values(
            "management", "previous_management", "management_change", "entity",
            "previous_entity", "entity_changed", "ruleset_version",
            assessment_pk=F("assessment_id"),
            lesion_pk=F("lesion_id"), lesion_label=F("lesion__label"),
            lesion_site=F("lesion__site"), lesion_subsite=F("lesion__heel_subsite"),
            lesion_side=F("lesion__laterality"), due_on=F("lesion__next_follow_up_due"),
            patient_pk=F("lesion__patient_id"), record=F("lesion__patient__record_number"),
            seen=F("assessment__observation__encounter__date"))[:WORKLIST_LIMIT]:
        raised = row["management_change"] == ManagementChange.RAISED
        reason = (f"Management {'raised' if raised else 'lowered'} by ruleset "
                  f"{row['ruleset_version']}: {label(row['previous_management'])} to "
                  f"{label(row['management'])}")
        if row["entity_changed"]:
            reason += f"; leading entity was {_entity_label(row['previous_entity'])}"
        if not raised:
            reason += "; check the new assessment before the urgent one is set aside"
        rows.append({**_lesion_row(row, today, urls), "reason": f"{reason}.",
                     "entity": _entity_label(row["entity"]), "seen": row["seen"],
                     "assessment_url": urls.assessment(row["assessment_pk"]),
                     "urgent": row["management"] == ManagementCategory.URGENT})
    return rows


# The worklist's sections, most pressing first.
_WORKLIST_SECTIONS: tuple[dict[str, Any], ...] = (
    {"key": "urgent", "heading": "Urgent and unresolved", "tone": "danger",
     "empty": "No unresolved lesion has an urgent assessment.",
     "note": "Active lesions whose latest assessment is urgent, whatever their due date; "
             "longest waiting first."},
    {"key": "ruleset", "heading": "Management changed by a ruleset update", "tone": "warning",
     "empty": "None.", "wide": True, "only_when_listed": True,
     "note": "Re-assessed with the current ruleset, which advises more than the assessment "
             "it replaced (or no longer urgent care); listed until a clinician records a "
             "decision on the new assessment. Most urgent first."},
    {"key": "overdue", "heading": "Overdue follow-ups", "tone": "danger", "empty": "None.",
     "note": "Longest overdue first."},
    {"key": "due", "heading": "Follow-ups due this week", "tone": "primary", "empty": "None.",
     "note": ""},
    {"key": "atypical", "heading": "Atypical course", "tone": "warning", "empty": "None.",
     "note": ""},
    {"key": "review", "heading": "Visits awaiting review", "tone": "secondary",
     "empty": "None.", "note": "Oldest first."},
)


class _WorklistUrls:
    """Links built from one reverse() per kind, not one per row (the page lists up to a
    hundred rows)."""

    def __init__(self) -> None:
        from django.urls import reverse

        # "/lesions/0/" -> "/lesions/"
        self._prefix = {name: reverse(name, args=[0])[:-2] for name in (
            "lesion-timeline", "encounter-detail", "assessment-detail", "patient-detail")}

    def lesion(self, pk: int) -> str:
        return f"{self._prefix['lesion-timeline']}{pk}/"

    def encounter(self, pk: int) -> str:
        return f"{self._prefix['encounter-detail']}{pk}/"

    def assessment(self, pk: int) -> str:
        return f"{self._prefix['assessment-detail']}{pk}/"

    def patient(self, pk: int) -> str:
        return f"{self._prefix['patient-detail']}{pk}/"


def _no_newer_assessment() -> Any:
    """True for an assessment that is its lesion's current one (``_latest_assessment_id``'s
    order: visit date, observation, creation, id), said as "no later assessment of the same
    lesion exists". Written as an anti-join because the equivalent ``pk = (newest of the
    lesion)`` let PostgreSQL evaluate the subquery for every observation of the registry
    while building a hash join (15-26 s for the worklist's urgent list at 100,000 patients);
    the anti-join looks only at the candidates' own lesions."""
    from django.db.models import Exists, OuterRef, Q

    date = OuterRef("observation__encounter__date")
    observation = OuterRef("observation_id")
    created = OuterRef("created_at")
    later = (Q(observation__encounter__date__gt=date)
             | Q(observation__encounter__date=date, observation_id__gt=observation)
             | Q(observation__encounter__date=date, observation_id=observation,
                 created_at__gt=created)
             | Q(observation__encounter__date=date, observation_id=observation,
                 created_at=created, id__gt=OuterRef("id")))
    return ~Exists(Assessment.objects.filter(
        later, observation__lesion_id=OuterRef("observation__lesion_id")))


def _latest_assessment_id(lesion_id: Any) -> Any:
    """The id of a lesion's current assessment: the newest one of its latest visit (as
    services._lesion_follows and the lesion timeline read it)."""
    from django.db.models import Subquery

    return Subquery(Assessment.objects.filter(observation__lesion_id=lesion_id).order_by(
        "-observation__encounter__date", "-observation_id", "-created_at", "-id").values("id")[:1])


def _latest_assessments(lesion_ids: set[int]) -> dict[int, dict[str, Any]]:
    """{lesion id: its current assessment's id, leading entity, management and course flags},
    in one query."""
    from django.db.models import F, OuterRef

    from .models import ManagementCategory

    if not lesion_ids:
        return {}
    rows = Assessment.objects.filter(observation__lesion_id__in=lesion_ids).filter(
        pk=_latest_assessment_id(OuterRef("observation__lesion_id"))).values(
        "pk", "leading_entity", "management_category", "urgent", "course_flags",
        lesion_pk=F("observation__lesion_id"))
    return {row["lesion_pk"]: dict(row, is_urgent=row["urgent"] or row[
        "management_category"] == ManagementCategory.URGENT) for row in rows}


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def _due_words(due: date | None, today: date) -> str:
    """"overdue 12 days", "due today", "due in 3 days": what a date means for today."""
    if due is None:
        return ""
    days = (due - today).days
    if days < 0:
        return f"overdue {_days(-days)}"
    return "due today" if days == 0 else f"due in {_days(days)}"


def _waiting_words(since: date, today: date) -> str:
    days = (today - since).days
    return "flagged today" if days <= 0 else f"waiting {_days(days)}"


def _lower_first(text: str) -> str:
    """A sentence continued after a colon: "Critical value: ..." -> "critical value: ...",
    but "CTD ..." and "IV ..." keep their capitals."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _entity_label(code: str | None) -> str:
    from .engine.knowledge import ENTITIES

    entity = ENTITIES.get(code or "")
    return entity.label if entity else ""


def _lesion_title(row: dict[str, Any]) -> str:
    from .engine.vocab import words

    return row["lesion_label"] or " ".join(
        words(code) for code in (row["lesion_side"], row["lesion_subsite"], row["lesion_site"])
        if code)


def _lesion_row(row: dict[str, Any], today: date, urls: _WorklistUrls) -> dict[str, Any]:
    due = row["due_on"]
    days = None if due is None else (due - today).days
    return {"url": urls.lesion(row["lesion_pk"]), "lesion_pk": row["lesion_pk"],
            "record": row["record"], "title": _lesion_title(row),
            "patient_url": urls.patient(row["patient_pk"]), "due": due,
            "when": _due_words(due, today),
            "when_css": "" if days is None else "text-bg-danger" if days < 0
            else "text-bg-warning" if days == 0 else "text-bg-secondary",
            "reason": "", "entity": "", "assessment_url": "", "urgent": False}


def _urgent_reason(flags: Any, reasons: Any) -> str:
    """The first urgent red flag in the engine's words, else the urgent management reason."""
    from .engine.core import split_source

    urgent = [f["message"] for f in flags or [] if f.get("action") == "urgent"]
    if len(urgent) == 1:
        return f"Urgent red flag: {_lower_first(urgent[0])}"
    if urgent:
        return (f"Urgent red flag: {_lower_first(urgent[0]).rstrip('.')} "
                f"(and {len(urgent) - 1} more urgent).")
    reason = next((r for r in reasons or [] if r.startswith("Urgent")), None) or next(
        iter(reasons or []), "")
    return f"Urgent management: {_lower_first(split_source(reason)[0])}".rstrip(": ")


def _explain(row: dict[str, Any], assessment: dict[str, Any] | None, reason: str,
             urls: _WorklistUrls) -> None:
    """Say why a lesion is listed ("Follow-up due: recheck of heel-stick nodule"), with its
    current assessment's leading entity and link."""
    from .engine.knowledge import SHORT_NAMES

    follow_up = reason.startswith("Follow-up")
    if assessment is None:
        row["reason"] = f"{reason}: recheck" if follow_up else reason
        return
    row.update(entity=_entity_label(assessment["leading_entity"]),
               assessment_url=urls.assessment(assessment["pk"]),
               urgent=assessment["is_urgent"])
    if follow_up:
        name = SHORT_NAMES.get(assessment["leading_entity"], "the lesion")
        row["reason"] = f"{reason}: recheck of {name}"
    else:
        texts = [flag.get("text", "") for flag in assessment["course_flags"] or []]
        if not texts:
            row["reason"] = reason
        elif len(texts) == 1:
            row["reason"] = f"{reason}: {_lower_first(texts[0])}"
        else:
            row["reason"] = (f"{reason}: {_lower_first(texts[0]).rstrip('.')} "
                             f"(and {len(texts) - 1} more).")


def _full_name(row: dict[str, Any]) -> str:
    return " ".join(filter(None, (row["first_name"], row["last_name"]))) or row["username"]


def _capped_count(queryset: QuerySet) -> int:
    """Exact up to COUNT_CAP, then COUNT_CAP + 1 (shown as "1000+"): bounded work."""
    return queryset.order_by()[:COUNT_CAP + 1].count()


# --- FHIR export (assessment/interop/fhir.py) ----------------------------------------------------

def fhir_patients(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """``patients`` with everything the FHIR builders read, in 7 queries whatever their number
    of visits, lesions, labs and assessments. Only the parts of the engine's stored output the
    export uses are fetched (``out_*``), never the whole input and output documents."""
    from django.db.models import F

    from .models import LabResult

    decisions = AssessmentDecision.objects.select_related("decided_by").order_by(
        "decided_at", "id")
    assessments = Assessment.objects.defer("input_json", "output_json").annotate(
        out_differential=F("output_json__differential"), out_red_flags=F("output_json__red_flags"),
        out_labs=F("output_json__labs"), out_follow_up=F("output_json__follow_up"),
        out_refer_to=F("output_json__management__refer_to"),
        out_course_text=F("output_json__expected_course__text"),
    ).prefetch_related(Prefetch("decisions", queryset=decisions)).order_by("created_at", "id")
    observations = LesionObservation.objects.prefetch_related(
        Prefetch("assessments", queryset=assessments)).order_by("id")
    encounters = Encounter.objects.defer("notes", "review_comment").prefetch_related(
        Prefetch("observations", queryset=observations),
        Prefetch("labs", queryset=LabResult.objects.order_by("id"))).order_by("date", "id")
    return patients.select_related("site").prefetch_related(
        Prefetch("encounters", queryset=encounters),
        Prefetch("lesions", queryset=Lesion.objects.order_by("id")))


def patient_for_fhir(user: User, pk: int) -> Patient:
    """One patient the user may see (VIEW: a clinician exports one record for a referral),
    prefetched for the FHIR bundle; another clinic's patient is a 404."""
    return get_object_or_404(fhir_patients(patients_visible_to(user)), pk=pk)


def report_patients(user: User, sites: list[Site]) -> QuerySet[Patient]:
    """Every patient (archived ones included: it is the registry) of those of ``sites`` where
    the user may export (REPORT), ordered by id for keyset batches."""
    allowed = {site.pk for site in report_sites(user)}
    return Patient.objects.filter(site_id__in=[site.pk for site in sites if site.pk in allowed]
                                  ).order_by("pk")
