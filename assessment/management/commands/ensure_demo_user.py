"""Create the demo clinician account for local use (``make run``), only when DEBUG is on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "heel-nodule-demo"  # local demo only; refused when DEBUG is off


class Command(BaseCommand):
    help = "Create the demo clinician account (DEBUG only) and print its credentials once."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("Refusing to create a demo account with DEBUG off.")
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True, "first_name": "Demo",
                                              "last_name": "Clinician"})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            self.stdout.write(f"Demo account created: user '{DEMO_USERNAME}', password "
                              f"'{DEMO_PASSWORD}' (local development only).")
        else:
            self.stdout.write(f"Demo account '{DEMO_USERNAME}' exists (password as printed when "
                              "it was created).")
