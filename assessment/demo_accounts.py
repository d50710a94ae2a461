"""The demo accounts that ``make run`` creates, defined once.

``ensure_demo_user`` creates them, ``remove_demo_accounts`` disables them, and the
authentication backend (``assessment.auth``) refuses them when DEBUG is off. Their passwords are
published (README, ``make run`` output), so these usernames must never log in on a production
deployment. Roles are plain strings so that the authentication backend can import this module
without importing the models.
"""

from __future__ import annotations

from typing import NamedTuple


class DemoAccount(NamedTuple):
    username: str
    password: str
    role: str  # an assessment.models.Role value
    is_staff: bool
    first_name: str
    last_name: str


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("demo", "heel-nodule-demo", "clinician", False, "Demo", "Clinician"),
    DemoAccount("reviewer", "heel-nodule-review", "reviewer", True, "Demo", "Reviewer"),
    DemoAccount("datamanager", "heel-nodule-data", "data_manager", False, "Demo",
                "Data manager"),
    DemoAccount("viewer", "heel-nodule-view", "viewer", False, "Demo", "Viewer"),
)

DEMO_USERNAMES: frozenset[str] = frozenset(account.username for account in DEMO_ACCOUNTS)
