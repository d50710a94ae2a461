"""Personas, as in the house style: alice is a clinician, rita a reviewer (admin access),
bob a logged-in user with no clinical permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from assessment.roles import CLINICIANS, REVIEWERS
from tests.factories import UserFactory


@pytest.fixture
def alice(db) -> User:
    return UserFactory(username="alice", first_name="Alice", last_name="Clinician",
                       groups=[CLINICIANS])


@pytest.fixture
def rita(db) -> User:
    return UserFactory(username="rita", first_name="Rita", last_name="Reviewer", is_staff=True,
                       groups=[REVIEWERS])


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
def bob_client(bob) -> Client:
    return client_for(bob)
