"""``python manage.py remove_demo_accounts``: make the demo accounts unusable for good.

Their passwords are published, so a database made by ``make run`` must not keep them when it is
served for real. The user rows cannot be deleted (clinical records and their history point at
them with PROTECT, and the audit trail must keep naming who did what), so each account is
deactivated, its password made unusable, its staff rights, clinic memberships and API tokens
removed. Works with DEBUG on or off, and is safe to run again.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from assessment.demo_accounts import DEMO_ACCOUNTS
from assessment.models import ApiToken, Membership


class Command(BaseCommand):
    help = ("Disable the demo accounts (demo, reviewer, viewer) for good: deactivate them, "
            "make their passwords unusable, remove their memberships and revoke their API "
            "tokens.")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        for account in DEMO_ACCOUNTS:
            user = users.filter(username=account.username).first()
            if user is None:
                self.stdout.write(f"Demo account '{account.username}': not present.")
                continue
            # One transaction per account: never a half-disabled account.
            with transaction.atomic():
                was_active = user.is_active
                user.is_active = False
                user.is_staff = False
                user.is_superuser = False
                user.set_unusable_password()
                user.save(update_fields=["is_active", "is_staff", "is_superuser", "password"])
                # Delete one by one so simple-history records each membership's removal.
                memberships = list(Membership.objects.filter(user=user))
                for membership in memberships:
                    membership.delete()
                revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
                    revoked_at=timezone.now())
            self.stdout.write(
                f"Demo account '{account.username}': "
                f"{'deactivated' if was_active else 'already inactive'}, password made "
                f"unusable, {len(memberships)} membership(s) removed, {revoked} API token(s) "
                "revoked.")
