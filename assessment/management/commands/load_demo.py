"""``python manage.py load_demo``: the three seed cases as demo patients (idempotent)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from assessment.demo import load_demo

SYSTEM_USERNAME = "demo-loader"


class Command(BaseCommand):
    help = "Load the seed cases as demo patients DEMO-A, DEMO-B and DEMO-C (skips existing ones)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--as", dest="username", default=None,
                            help="record the demo data as this user (default: a system account "
                                 "that cannot log in)")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        if options["username"]:
            user = users.filter(username=options["username"]).first()
            if user is None:
                raise CommandError(f"No user '{options['username']}'.")
        else:
            user, created = users.get_or_create(username=SYSTEM_USERNAME,
                                                defaults={"is_active": False})
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
        created = load_demo(user)
        if created:
            self.stdout.write(f"Demo data created: {', '.join(created)}.")
        else:
            self.stdout.write("Demo data already present; nothing to do.")
