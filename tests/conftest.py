"""Personas, as in the house style. At the North clinic: alice is a clinician, rita a reviewer
(with admin access), victor a viewer, dana a data manager (exports and outcomes). charlie is a
clinician at the South clinic (an outsider to North's records); bob is logged in but a member of
no clinic."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from assessment.models import Role, Site
from tests.factories import SiteFactory, UserFactory


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Each test starts with no cached counts (the cache lives as long as the process)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def north(db) -> Site:
    return SiteFactory(code="north", name="North heel clinic")


@pytest.fixture
def south(db) -> Site:
    return SiteFactory(code="south", name="South heel clinic")


@pytest.fixture
def alice(north) -> User:
    return UserFactory(username="alice", first_name="Alice", last_name="Clinician",
                       roles=[(north, Role.CLINICIAN)])


@pytest.fixture
def rita(north) -> User:
    return UserFactory(username="rita", first_name="Rita", last_name="Reviewer", is_staff=True,
                       roles=[(north, Role.REVIEWER)])


@pytest.fixture
def victor(north) -> User:
    return UserFactory(username="victor", first_name="Victor", last_name="Viewer",
                       roles=[(north, Role.VIEWER)])


@pytest.fixture
def dana(north) -> User:
    return UserFactory(username="dana", first_name="Dana", last_name="Datamanager",
                       roles=[(north, Role.DATA_MANAGER)])


@pytest.fixture
def charlie(south) -> User:
    return UserFactory(username="charlie", first_name="Charlie", last_name="Outsider",
                       is_staff=True, roles=[(south, Role.CLINICIAN)])


@pytest.fixture
def bob(db) -> User:
    return UserFactory(username="bob")


@pytest.fixture
def staff_user(db) -> User:
    return UserFactory(username="sam", is_staff=True)


@pytest.fixture
def plain_user(bob) -> User:
    return bob


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice) -> Client:
    return client_for(alice)


@pytest.fixture
def rita_client(rita) -> Client:
    return client_for(rita)


@pytest.fixture
def victor_client(victor) -> Client:
    return client_for(victor)


@pytest.fixture
def dana_client(dana) -> Client:
    return client_for(dana)


@pytest.fixture
def charlie_client(charlie) -> Client:
    return client_for(charlie)


@pytest.fixture
def bob_client(bob) -> Client:
    return client_for(bob)
