"""Access rules for every admin URL, generated from ``admin.site._registry``.

For each registered model the test makes one record of the North clinic (a new model fails
here until ``world`` knows how to make one), then walks every URL its ModelAdmin serves
(changelist, add, change, history, simple-history's version page, delete, and any custom URL):

- a reviewer, a viewer and a clinician of the South clinic (all with staff status, so they do
  reach the admin) never get a 200 on an object URL, and change nothing, whatever they POST
  (the whole database is compared before and after);
- North's own reviewer cannot change a field she may only read, not even by POSTing a version
  page (a "revert"): only the review fields of a visit change, and only on its change page;
- nobody reverts a clinical record from its history, not even a superuser;
- malformed ids answer 4xx, never 500;
- admin reads of a child's record are in the view log, and no page shows another clinic's
  records, in lists or dropdowns.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import date
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import models
from django.test import Client, RequestFactory
from django.urls import URLPattern, reverse
from django.urls.resolvers import RegexPattern
from PIL import Image

from assessment import services
from assessment.demo import record_contract_case
from assessment.models import (
    ApiToken,
    Assessment,
    AssessmentDecision,
    Encounter,
    ExportLog,
    ImagingFinding,
    LabResult,
    Lesion,
    LesionObservation,
    Membership,
    Patient,
    PatientViewLog,
    Photo,
    ReassessmentChange,
    ReassessmentRun,
    Site,
)
from assessment.photos import clean_photo
from tests.builders import load_case
from tests.factories import UserFactory

NORTH_RECORD, SOUTH_RECORD = "ADM-N1", "ADM-S1"
REVIEW_FIELDS = {"review_status", "review_comment", "reviewed_by_id", "reviewed_at", "version",
                 "updated_at"}
# Rows that reading or logging in writes, not clinical data.
NOT_COMPARED = {"sessions", "axes"}
BAD_IDS = ["abc", "1.5", "-1", "99999999999999999999999999", "0x1", "%20", "1;", "%E2%80%AE1"]
REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _photo(observation: LesionObservation, user: User) -> Photo:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, "JPEG")
    return services.photo_attach(observation=observation, photo=clean_photo(
        io.BytesIO(buffer.getvalue())), caption="heel", user=user)


def _clinic_records(*, site: Site, record_number: str, user: User) -> dict[type, Any]:
    """One record of every clinical kind at ``site``, with labs and imaging (seed case B)."""
    patient = record_contract_case(
        data=load_case("seed_case_b_extravasation_renal_failure.json")["input"],
        record_number=record_number, born=date(2025, 4, 15), visit=date(2026, 9, 15),
        label="heel", user=user, site=site)
    observation = LesionObservation.objects.get(lesion__patient=patient)
    assessment = Assessment.objects.get(observation=observation)
    decision = services.assessment_decide(
        assessment=assessment, decision="override", final_subtypes=["dystrophic"],
        final_entity="heel_stick_calcinosis", final_management="refer",
        reason="Seen before.", user=user, flag_considered=True)
    services.record_view(user=user, patient_id=patient.pk, path="/seed/")
    # A ruleset upgrade's re-assessment that raised the management (manage.py reassess).
    run = ReassessmentRun.objects.create(user=user, ruleset_version="2099.1.1",
                                         site_codes=[site.code])
    change = ReassessmentChange.objects.create(
        run=run, lesion=observation.lesion, previous=assessment, assessment=assessment,
        ruleset_version="2099.1.1", previous_entity=assessment.leading_entity,
        entity=assessment.leading_entity, previous_management="refer",
        management=assessment.management_category, management_change="raised")
    return {
        Patient: patient, Encounter: observation.encounter, Lesion: observation.lesion,
        LesionObservation: observation, Assessment: assessment,
        LabResult: LabResult.objects.filter(encounter=observation.encounter).first(),
        ImagingFinding: ImagingFinding.objects.filter(encounter=observation.encounter).first(),
        AssessmentDecision: decision, Photo: _photo(observation, user), Site: site,
        Membership: Membership.objects.get(user=user, site=site),
        PatientViewLog: PatientViewLog.objects.filter(patient=patient).first(),
        ExportLog: services.export_started(user=user, kind="fhir_bundle", channel="web",
                                           site_codes=[site.code], patient_id=patient.pk),
        ApiToken: services.api_token_create(user=user, name=f"{record_number} lab")[0],
        User: user, ReassessmentRun: run, ReassessmentChange: change,
    }


def _axes_records() -> dict[type, Any]:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    common = {"user_agent": "test", "ip_address": "10.0.0.1", "username": "someone",
              "http_accept": "*/*", "path_info": "/accounts/login/"}
    return {
        AccessAttempt: AccessAttempt.objects.create(failures_since_start=1, get_data="",
                                                    post_data="", **common),
        AccessLog: AccessLog.objects.create(**common),
        AccessFailureLog: AccessFailureLog.objects.create(locked_out=False, **common),
    }


@pytest.fixture
def world(alice, charlie, north, south, settings, tmp_path) -> dict[str, Any]:
    """North's records (the targets) and South's (what a tampered POST would point at)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    ours = _clinic_records(site=north, record_number=NORTH_RECORD, user=alice)
    ours.update(_axes_records())
    ours[Group] = Group.objects.create(name="North reviewers")
    theirs = _clinic_records(site=south, record_number=SOUTH_RECORD, user=charlie)
    missing = {model._meta.label for model, _ in REGISTRY} - {m._meta.label for m in ours}
    assert not missing, f"teach world() to make a record of {missing}"
    return {"ours": ours, "theirs": theirs}


@pytest.fixture
def outsiders(south, charlie) -> dict[str, Client]:
    """South's reviewer, viewer and clinician, each with staff status."""
    clients = {}
    for role in ("reviewer", "viewer"):
        user = UserFactory(username=f"south-{role}", is_staff=True, roles=[(south, role)])
        clients[role] = Client()
        clients[role].force_login(user)
    clients["clinician"] = Client()
    clients["clinician"].force_login(charlie)
    return clients


def snapshot(*, skip: set[str] = frozenset()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table that holds data (sessions and login throttling aside)."""
    rows = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if model._meta.app_label in NOT_COMPARED or label in skip:
            continue
        rows[label] = list(model._default_manager.order_by("pk").values_list())
    return rows


# --- URLs -------------------------------------------------------------------------------------

def object_patterns(model_admin: admin.ModelAdmin) -> list[URLPattern]:
    return [p for p in model_admin.urls if _params(p)]


def _params(pattern: URLPattern) -> list[str]:
    route = str(pattern.pattern)
    if isinstance(pattern.pattern, RegexPattern):
        return re.findall(r"\([^)]*\)", route)
    return re.findall(r"<[^>]+>", route)


def fill(model: type, pattern: URLPattern, values: list[str]) -> str:
    """The URL of ``pattern`` with its parameters (object id, then version id) filled in."""
    route = str(pattern.pattern)
    for token, value in zip(_params(pattern), values, strict=False):
        route = route.replace(token, value, 1)
    base = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return base + route.lstrip("^").rstrip("$")


def ids_for(model: type, obj: Any) -> list[str]:
    history = getattr(model, "history", None)
    version = history.filter(**{model._meta.pk.attname: obj.pk}).latest(
        "history_id").history_id if history else 1
    return [str(obj.pk), str(version)]


def kind(pattern: URLPattern) -> str:
    route = str(pattern.pattern)
    if "history" in route:
        return "history-version" if len(_params(pattern)) == 2 else "history"
    for name in ("change", "delete", "password"):
        if f"/{name}/" in route:
            return name
    return "redirect"


# --- What a tampering POST sends --------------------------------------------------------------

def tampered(model_admin: admin.ModelAdmin, obj: Any, theirs: dict[type, Any]) -> dict[str, str]:
    """A value different from the stored one for every field, foreign keys pointing at the
    other clinic's records, plus the inline management forms and the current version token."""
    data: dict[str, str] = {}
    for field in type(obj)._meta.concrete_fields:
        if field.primary_key:
            continue
        current = getattr(obj, field.attname)
        if field.is_relation:
            target = theirs.get(field.related_model)
            value = str(target.pk) if target is not None else "1"
        elif field.choices:
            value = next((str(code) for code, _ in field.flatchoices
                          if code not in ("", None) and code != current), "x")
        elif isinstance(field, models.DateTimeField):
            data[f"{field.name}_0"], data[f"{field.name}_1"] = "2020-01-01", "00:00:00"
            value = "2020-01-01 00:00:00"
        elif isinstance(field, models.DateField):
            value = "2020-01-01"
        elif isinstance(field, models.BooleanField):
            value = "false" if current else "true"
        elif isinstance(field, models.DecimalField | models.IntegerField | models.FloatField):
            value = "99"
        elif isinstance(field, models.JSONField):
            value = '["tampered"]'
        elif isinstance(field, models.UUIDField):
            value = str(uuid.uuid4())
        else:
            value = "tampered"
        data[field.name] = value
    request = RequestFactory().get("/")
    request.user = User.objects.filter(is_superuser=True).first() or User(
        is_superuser=True, is_staff=True, is_active=True)
    for inline in model_admin.get_inline_instances(request, obj):
        prefix = inline.get_formset(request, obj).get_default_prefix()
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0",
                     f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})
    data["expected_version"] = str(getattr(obj, "version", 1))
    data["post"] = "yes"  # the delete confirmation
    data["password1"] = data["password2"] = "Tampered-pass-9876"
    return data


# --- Another clinic ---------------------------------------------------------------------------

@pytest.mark.parametrize(("model", "model_admin"), REGISTRY, ids=lambda x: getattr(
    getattr(x, "_meta", None), "label", ""))
def test_another_clinics_staff_get_no_200_and_change_nothing(
        model: type, model_admin: admin.ModelAdmin, world, outsiders) -> None:
    obj = world["ours"][model]
    data = tampered(model_admin, obj, world["theirs"])
    before = snapshot()
    for role, client in outsiders.items():
        for pattern in object_patterns(model_admin):
            url = fill(model, pattern, ids_for(model, obj))
            for response in (client.get(url), client.post(url, data), client.post(url, {})):
                assert response.status_code != 200, (role, url, response.status_code)
                assert response.status_code < 500, (role, url)
        for url in (fill(model, p, []) for p in model_admin.urls if not _params(p)):
            page = client.get(url)
            assert page.status_code < 500, (role, url)
            if page.status_code == 200:
                assert NORTH_RECORD.encode() not in page.content, (role, url)
    assert snapshot() == before, f"a South {role} changed data through {model._meta.label}"


# --- The same clinic's reviewer ---------------------------------------------------------------

@pytest.mark.parametrize(("model", "model_admin"), REGISTRY, ids=lambda x: getattr(
    getattr(x, "_meta", None), "label", ""))
def test_a_reviewer_changes_only_review_fields_and_never_by_a_version_page(
        model: type, model_admin: admin.ModelAdmin, world, rita, rita_client: Client) -> None:
    obj = world["ours"][model]
    data = tampered(model_admin, obj, world["theirs"])
    reads = {"assessment.patientviewlog", "admin.logentry", "assessment.changecounter"}
    for pattern in object_patterns(model_admin):
        url = fill(model, pattern, ids_for(model, obj))
        page = rita_client.get(url)
        assert page.status_code < 500, url
        if page.status_code == 200:
            # No other clinic's record or clinic, in the page or in any dropdown.
            assert SOUTH_RECORD.encode() not in page.content, url
            assert b"South heel clinic" not in page.content, url
        reviewing = model is Encounter and kind(pattern) == "change"
        skip = reads | ({"assessment.encounter", "assessment.historicalencounter"}
                        if reviewing else set())
        before = snapshot(skip=skip)
        stored = Encounter.objects.filter(pk=obj.pk).values().first() if reviewing else None
        for payload in (data, {}):
            response = rita_client.post(url, payload)
            assert response.status_code < 500, url
            if kind(pattern) == "history-version":
                assert response.status_code in (403, 404, 405), "a version page never saves"
        assert snapshot(skip=skip) == before, url
        if reviewing:
            after = Encounter.objects.filter(pk=obj.pk).values().first()
            changed = {name for name in after if after[name] != stored[name]}
            assert changed <= REVIEW_FIELDS, changed
            assert after["clinic_id"] == world["ours"][Site].pk


def test_nobody_reverts_a_clinical_record_from_its_history(world) -> None:
    root = User.objects.create_superuser("root", password="root-pass-1234")
    client = Client()
    client.force_login(root)
    for model, model_admin in REGISTRY:
        if model._meta.app_label != "assessment" or getattr(model_admin, "allow_revert", True):
            continue
        obj = world["ours"][model]
        pattern = next(p for p in object_patterns(model_admin) if kind(p) == "history-version")
        url = fill(model, pattern, ids_for(model, obj))
        before = snapshot(skip={"assessment.patientviewlog", "admin.logentry"})
        assert client.get(url).status_code == 200
        page = client.get(url).content.decode()
        assert "<select" not in page and 'name="_save"' not in page, url
        assert client.post(url, tampered(model_admin, obj, world["theirs"])).status_code == 403
        assert client.post(url, {}).status_code == 403
        assert snapshot(skip={"assessment.patientviewlog", "admin.logentry"}) == before, url


def test_admin_reads_of_a_childs_record_are_logged(world, rita, rita_client: Client) -> None:
    patient = world["ours"][Patient]
    for model, model_admin in REGISTRY:
        if not hasattr(model_admin, "patient_path"):
            continue
        obj = world["ours"][model]
        for pattern in object_patterns(model_admin):
            if kind(pattern) not in ("change", "history", "history-version"):
                continue
            url = fill(model, pattern, ids_for(model, obj))
            assert rita_client.get(url).status_code == 200, url
            assert PatientViewLog.objects.filter(user=rita, patient=patient, path=url).exists(), \
                url


def test_the_admin_patient_filter_lists_only_the_reviewers_clinics(world,
                                                                   rita_client: Client) -> None:
    page = rita_client.get("/admin/assessment/patient/")
    assert page.status_code == 200
    assert b"North heel clinic" in page.content and b"South heel clinic" not in page.content


# --- Malformed ids ----------------------------------------------------------------------------

@pytest.mark.parametrize(("model", "model_admin"), REGISTRY, ids=lambda x: getattr(
    getattr(x, "_meta", None), "label", ""))
def test_malformed_ids_on_every_admin_url_answer_4xx(model: type, model_admin: admin.ModelAdmin,
                                                      world, rita_client: Client) -> None:
    root = User.objects.create_superuser("root", password="root-pass-1234")
    root_client = Client()
    root_client.force_login(root)
    good = ids_for(model, world["ours"][model])
    for pattern in object_patterns(model_admin):
        for bad in BAD_IDS:
            variants = [[bad, good[1]], [good[0], bad]] if len(_params(pattern)) == 2 else [[bad]]
            for values in variants:
                url = fill(model, pattern, values)
                for client in (rita_client, root_client):
                    # follow: "<id>/" is Django's plain redirect to "<id>/change/"
                    for response in (client.get(url, follow=True),
                                     client.post(url, {}, follow=True)):
                        assert 400 <= response.status_code < 500, (
                            url, response.status_code)


def test_malformed_ids_on_the_admin_sites_own_urls_answer_4xx(rita_client: Client, db) -> None:
    for url in ("/admin/r/abc/1/", "/admin/r/1/abc/", "/admin/r/99999999999999999999/1/",
                "/admin/autocomplete/?app_label=assessment&model_name=patient&field_name=x"):
        assert 400 <= rita_client.get(url).status_code < 500, url


def test_a_version_of_another_record_is_not_shown_under_this_one(world) -> None:
    root = User.objects.create_superuser("root", password="root-pass-1234")
    client = Client()
    client.force_login(root)
    ours, theirs = world["ours"][Lesion], world["theirs"][Lesion]
    other_version = Lesion.history.filter(id=theirs.pk).latest("history_id").history_id
    url = f"/admin/assessment/lesion/{ours.pk}/history/{other_version}/"
    assert client.get(url).status_code == 404
    own_version = Lesion.history.filter(id=ours.pk).latest("history_id").history_id
    assert client.get(f"/admin/assessment/lesion/{ours.pk}/history/{own_version}/"
                      ).status_code == 200
