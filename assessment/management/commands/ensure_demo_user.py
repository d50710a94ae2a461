"""Create the demo accounts for local use (``make run``), only when DEBUG is on: a clinician who
enters cases, and a reviewer who approves encounters in the admin."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from assessment.roles import CLINICIANS, REVIEWERS, ensure_groups

# Local demo only; refused when DEBUG is off.
DEMO_ACCOUNTS = (
    ("demo", "heel-nodule-demo", CLINICIANS, False, "Demo", "Clinician"),
    ("reviewer", "heel-nodule-review", REVIEWERS, True, "Demo", "Reviewer"),
)


class Command(BaseCommand):
    help = "Create the demo clinician and reviewer accounts (DEBUG only); print them once."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Refusing to create demo accounts with DEBUG off.")
        ensure_groups()
        users = get_user_model().objects
        for username, password, group, staff, first, last in DEMO_ACCOUNTS:
            user, created = users.get_or_create(username=username, defaults={
                "is_staff": staff, "first_name": first, "last_name": last})
            user.groups.add(Group.objects.get(name=group))
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(f"Demo {group[:-1].lower()} created: user '{username}', "
                                  f"password '{password}' (local development only).")
            else:
                self.stdout.write(f"Demo account '{username}' exists (its password was printed "
                                  "when it was created).")
