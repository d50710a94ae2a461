"""The assessment page's lookup (selectors.assessment_for), whose SQL is compiled once per
process and set of sites, gives what the plain queryset gives: every field, every joined row,
the annotations, and nothing outside the user's sites."""

from __future__ import annotations

from datetime import date

import pytest
from django.http import Http404

from assessment import selectors
from assessment.demo import record_contract_case
from assessment.models import Assessment
from tests.builders import load_case

CASE_A = load_case("seed_case_a_pearl_like_heel_nodule.json")["input"]


@pytest.fixture
def assessments(alice, charlie, north, south) -> list[Assessment]:
    for number, (user, site) in enumerate(((alice, north), (alice, north), (charlie, south))):
        record_contract_case(data=CASE_A, record_number=f"LOOKUP-{number}",
                             born=date(2025, 8, 10), visit=date(2026, 8, 10),
                             label="right heel", user=user, site=site)
    return list(Assessment.objects.order_by("id"))


def values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname)
            for field in instance._meta.concrete_fields}


def same(compiled: Assessment, plain: Assessment) -> None:
    assert values(compiled) == values(plain)
    for name in ("newest_pk", "decided", "later_visit"):
        assert getattr(compiled, name) == getattr(plain, name)
    for a, b in ((compiled.observation, plain.observation),
                 (compiled.observation.lesion, plain.observation.lesion),
                 (compiled.observation.encounter, plain.observation.encounter),
                 (compiled.observation.encounter.patient, plain.observation.encounter.patient)):
        assert type(a) is type(b) and values(a) == values(b)
        assert a._state.db == b._state.db and not a._state.adding


def test_compiled_lookup_matches_the_queryset(assessments, alice, django_assert_num_queries
                                              ) -> None:
    selectors._LOOKUPS.clear()
    for assessment in assessments[:2]:
        plain = selectors._assessment_lookup(alice).get(pk=assessment.pk)
        same(selectors.assessment_for(alice, assessment.pk), plain)
    # Compiled once: a later lookup is the one query (no decision to read).
    with django_assert_num_queries(1):
        selectors.assessment_for(alice, assessments[0].pk)


def test_compiled_lookup_keeps_to_the_users_sites(assessments, alice, charlie, bob,
                                                  superuser) -> None:
    selectors._LOOKUPS.clear()
    south_one = assessments[2]
    with pytest.raises(Http404):
        selectors.assessment_for(alice, south_one.pk)
    same(selectors.assessment_for(charlie, south_one.pk),
         selectors._assessment_lookup(charlie).get(pk=south_one.pk))
    with pytest.raises(Http404):
        selectors.assessment_for(charlie, assessments[0].pk)
    with pytest.raises(Http404):  # no membership at all
        selectors.assessment_for(bob, assessments[0].pk)
    for assessment in assessments:  # every site
        same(selectors.assessment_for(superuser, assessment.pk),
             selectors._assessment_lookup(superuser).get(pk=assessment.pk))
    with pytest.raises(Http404):
        selectors.assessment_for(superuser, max(a.pk for a in assessments) + 100)


@pytest.mark.parametrize("pk", [0, -1, 2**63, 10**30])
def test_an_impossible_id_is_not_found(assessments, alice, superuser, client, pk) -> None:
    for user in (alice, superuser):
        with pytest.raises(Http404):
            selectors.assessment_for(user, pk)
    if pk > 0:  # the address takes digits only
        client.force_login(alice)
        assert client.get(f"/assessments/{pk}/").status_code == 404


@pytest.fixture
def superuser(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("lookup-admin", "a@example.org", "x-pass-1")
