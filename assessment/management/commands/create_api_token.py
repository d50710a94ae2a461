"""``python manage.py create_api_token USERNAME --name NAME``: print a new API key once."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from assessment import access, services


class Command(BaseCommand):
    help = "Create an API token for a clinician; the key is printed once and stored hashed."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="what the token is for")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user '{options['username']}'.")
        if not access.can_anywhere(user, access.WRITE):
            raise CommandError("Only clinicians may call the assessment API.")
        token, key = services.api_token_create(user=user, name=options["name"])
        self.stdout.write(f"Token '{token.name}' for {user.username} (shown once, store it now):")
        self.stdout.write(key)
