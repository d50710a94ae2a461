"""Create the demo accounts for local use (``make run``), only when DEBUG is on: a clinician who
enters cases, a reviewer who approves visits in the admin, and a read-only viewer, all members of
the demo clinic.

Run again, it resets each existing demo account to its published password, staff flag and role
at the demo clinic (someone may have changed the password while trying the app). An account that
``remove_demo_accounts`` disabled stays disabled: that command promises "for good".
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from assessment.demo import demo_site
from assessment.demo_accounts import DEMO_ACCOUNTS
from assessment.models import Membership, Role


class Command(BaseCommand):
    help = ("Create the demo accounts (DEBUG only) and print their credentials once; reset "
            "existing ones to their published passwords and roles.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Refusing to create demo accounts with DEBUG off.")
        site = demo_site()
        users = get_user_model().objects
        for username, password, role_value, staff, first, last in DEMO_ACCOUNTS:
            role = Role(role_value)
            user, created = users.get_or_create(username=username, defaults={
                "is_staff": staff, "first_name": first, "last_name": last})
            if not created and not user.is_active:
                self.stdout.write(f"Demo account '{username}' was disabled (remove_demo_accounts"
                                  "); left disabled.")
                continue
            membership, _ = Membership.objects.get_or_create(user=user, site=site,
                                                             defaults={"role": role})
            if membership.role != role:
                membership.role = role
                membership.save(update_fields=["role"])
            user.set_password(password)
            user.is_staff = staff
            user.save(update_fields=["password", "is_staff"])
            if created:
                self.stdout.write(f"Demo {role.label.split(' (')[0].lower()} created: user "
                                  f"'{username}', password '{password}' (local development "
                                  "only).")
            else:
                # The password is not printed again: it is in the README and the first output.
                self.stdout.write(f"Demo account '{username}' exists: reset to its published "
                                  f"password and the {role.label.split(' (')[0].lower()} role.")
