from __future__ import annotations

import pytest
from django.contrib.auth.models import User


@pytest.fixture
def staff_user(db) -> User:
    return User.objects.create_user("alice", password="alice-pass-1234", is_staff=True,
                                    first_name="Alice", last_name="Clinician")


@pytest.fixture
def plain_user(db) -> User:
    return User.objects.create_user("bob", password="bob-pass-1234")
