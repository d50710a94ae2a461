"""Who may do what, per site. Every page, the API, photos, exports and the admin ask here.

A user's role is per site (clinician at one clinic, viewer at another is possible). Reads go
through selectors that filter to the user's sites, so another site's record answers 404; a
write by someone whose role at that site does not allow it answers 403.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connections, router

from . import prepared
from .models import Membership, Role

VIEW, WRITE, REVIEW, REPORT = "view", "write", "review", "report"
# REASSESS: re-run the engine over a clinic's lesions after a ruleset upgrade (manage.py
# reassess). It adds assessments and changes clinicians' worklists, but decides nothing a
# clinician has not: registry upkeep for the roles that oversee a clinic's records. Its own
# action, so widening REPORT (a read) never grants this write by the way.
REASSESS = "reassess"
# REPORT: clinic-wide exports (FHIR bulk, REDCap) and the registry outcomes page. A clinician
# exports one patient's record (a FHIR bundle for a referral) with VIEW; taking a whole clinic's
# records out is a data manager's or reviewer's job.
ROLE_ACTIONS = {
    Role.CLINICIAN: {VIEW, WRITE},
    Role.REVIEWER: {VIEW, REVIEW, REPORT, REASSESS},
    Role.DATA_MANAGER: {VIEW, REPORT, REASSESS},
    Role.VIEWER: {VIEW},
}
ACTION_WORDS = {WRITE: "enter or change records", REVIEW: "review visits", VIEW: "see records",
                REPORT: "export a clinic's records or see registry outcomes",
                REASSESS: "re-assess a clinic's lesions with a new ruleset"}

User = AbstractBaseUser | AnonymousUser


def roles(user: User) -> dict[int, str]:
    """{site id: role} for the user, read once per user object (so once per request)."""
    if not user.is_authenticated:
        return {}
    cached = getattr(user, "_site_roles", None)
    if cached is None:
        cached = _read_roles(user.pk)
        user._site_roles = cached  # type: ignore[union-attr]
    return cached


# Every page but the trivial one asks for the roles. Built by the ORM
# (``Membership.objects.filter(user=user).values_list(...)``), the query cost a page about 1 ms,
# most of it compiling the same SQL again; written once here, and prepared on PostgreSQL
# (assessment/prepared.py), it costs a round trip. Same rows: the membership table, by user.
_ROLES_SQL = (f"SELECT site_id, role FROM {Membership._meta.db_table} "
              f"WHERE {Membership._meta.get_field('user').column} = %s")


def _read_roles(user_id: int) -> dict[int, str]:
    with prepared.cursor(connections[router.db_for_read(Membership)]) as cursor:
        cursor.execute(_ROLES_SQL, [user_id])
        return dict(cursor.fetchall())


def site_ids(user: User, action: str) -> list[int] | None:
    """Sites where the user may do ``action``; None means every site (superusers)."""
    if user.is_authenticated and user.is_superuser:
        return None
    return sorted(site for site, role in roles(user).items() if action in ROLE_ACTIONS[role])


def can(user: User, action: str, site_id: int) -> bool:
    allowed = site_ids(user, action)
    return allowed is None or site_id in allowed


def can_anywhere(user: User, action: str) -> bool:
    allowed = site_ids(user, action)
    return allowed is None or bool(allowed)


def require(user: User, action: str, site_id: int) -> None:
    if not can(user, action, site_id):
        raise PermissionDenied(f"Your role at this site does not allow you to "
                               f"{ACTION_WORDS[action]}.")


def require_anywhere(user: User, action: str) -> None:
    if not can_anywhere(user, action):
        raise PermissionDenied(f"Your account does not allow you to {ACTION_WORDS[action]}.")
