"""Management commands are a door like the pages: a command that reads patient records runs as a
named user (``--as``), is limited to that user's clinics and role through the same selectors, and
is logged like a web export."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from assessment import access, selectors


def add_as_argument(parser: Any) -> None:
    parser.add_argument("--as", dest="username", required=True, metavar="USERNAME",
                        help="run as this user: their role at each clinic decides what is "
                             "exported, and the export is logged under their name")


def add_site_argument(parser: Any) -> None:
    parser.add_argument("--site", action="append", required=True, metavar="CODE",
                        help="clinic code (repeat for several clinics)")


def command_user(username: str) -> Any:
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"--as: no active user '{username}'.")
    return user


def report_sites(user: Any, codes: list[str]) -> list[Any]:
    """The named clinics, each of which the user may export (REPORT); refuse otherwise. A
    clinic the user has no report role at reads as unknown, as on the pages."""
    sites = selectors.report_sites(user, codes)
    missing = sorted(set(codes) - {site.code for site in sites})
    if missing:
        raise CommandError(f"--site: no clinic '{missing[0]}' that {user.get_username()} may "
                           f"export ({access.ACTION_WORDS[access.REPORT]} needs a data manager "
                           f"or reviewer role there).")
    return sites
