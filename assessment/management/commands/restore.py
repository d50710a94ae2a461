"""``python manage.py restore --input DIR``: load a backup into an empty, migrated database and
put the photos back. Refuses a database that already holds clinical records, and checks the
files against the manifest before touching anything."""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from assessment import backup_format
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
        # Backups from before the format was recorded were written with Django's plain json.
        data_format = manifest.get("format", "json")
        backup_format.register()
        if data_format not in serializers.get_serializer_formats():
            raise CommandError(f"db.json is in an unknown format: {data_format}.")
        for name in ("db.json", "media.tar.gz"):
            if sha256(source / name) != manifest[name]:
                raise CommandError(f"{name} does not match its checksum; the backup is damaged.")
        if Patient.objects.exists() or Site.objects.exists():
            raise CommandError("The database already holds records; restore into an empty one.")
        with transaction.atomic():
            load(source / "db.json", data_format)
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


def load(path: Path, data_format: str) -> None:
    """``loaddata`` the file in ``data_format``. loaddata takes a file's format from its name
    (db.json would be read as plain json) and honours ``format`` only for stdin, so the file is
    given as stdin."""
    with path.open(encoding="utf-8") as handle:
        saved, sys.stdin = sys.stdin, handle
        try:
            call_command("loaddata", "-", format=data_format, verbosity=0)
        finally:
            sys.stdin = saved
