"""Create the demo accounts for local use (``make run``), only when DEBUG is on: a clinician who
enters cases, a reviewer who approves visits in the admin, and a read-only viewer, all members of
the demo clinic."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from assessment.demo import demo_site
from assessment.demo_accounts import DEMO_ACCOUNTS
from assessment.models import Membership, Role


class Command(BaseCommand):
    help = "Create the demo accounts (DEBUG only) and print their credentials once."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Refusing to create demo accounts with DEBUG off.")
        site = demo_site()
        users = get_user_model().objects
        for username, password, role_value, staff, first, last in DEMO_ACCOUNTS:
            role = Role(role_value)
            user, created = users.get_or_create(username=username, defaults={
                "is_staff": staff, "first_name": first, "last_name": last})
            Membership.objects.get_or_create(user=user, site=site, defaults={"role": role})
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
                self.stdout.write(f"Demo {role.label.split(' (')[0].lower()} created: user "
                                  f"'{username}', password '{password}' (local development "
                                  "only).")
            else:
                self.stdout.write(f"Demo account '{username}' exists (its password was printed "
                                  "when it was created).")
