"""``python manage.py restore --input DIR``: load a backup into an empty, migrated database and
put the photos back. Refuses a database that already holds clinical records, and checks the
files against the manifest before touching anything."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from assessment.management.commands.backup import model_counts, sha256
from assessment.models import Patient, Site


class Command(BaseCommand):
    help = "Restore a backup made by `manage.py backup` into an empty, migrated database."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--input", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["input"])
        manifest_path = source / "manifest.json"
        if not manifest_path.is_file():
            raise CommandError(f"{source} is not a backup (no manifest.json).")
        manifest = json.loads(manifest_path.read_text())
        for name in ("db.json", "media.tar.gz"):
            if sha256(source / name) != manifest[name]:
                raise CommandError(f"{name} does not match its checksum; the backup is damaged.")
        if Patient.objects.exists() or Site.objects.exists():
            raise CommandError("The database already holds records; restore into an empty one.")
        with transaction.atomic():
            call_command("loaddata", str(source / "db.json"), verbosity=0)
            counts = model_counts()
            differ = {label: (count, counts.get(label)) for label, count
                      in manifest["counts"].items() if counts.get(label) != count}
            if differ:
                raise CommandError(f"Row counts differ after loading (expected, found): {differ}")
        media_root = Path(settings.MEDIA_ROOT)
        with tarfile.open(source / "media.tar.gz", "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("media/")]
            for member in members:
                member.name = member.name[len("media/"):]
            media_root.mkdir(parents=True, exist_ok=True)
            tar.extractall(media_root, members=[m for m in members if m.name],
                           filter="data")
        self.stdout.write(f"Restored {sum(manifest['counts'].values())} rows and the photos.")
