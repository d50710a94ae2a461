"""``python manage.py backup --output DIR``: the database (every record and every history entry)
as JSON with natural keys (datetimes to the microsecond, see ``assessment.backup_format``), plus
the photo files, plus a manifest with counts, checksums and the format. Patient data: the folder
is 0700 and every file in it 0600, whatever the umask."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from assessment import backup_format

# Rebuilt by migrate (content types, permissions) or short-lived (sessions, login attempts).
EXCLUDED = ["contenttypes", "auth.permission", "sessions", "axes"]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_counts() -> dict[str, int]:
    skip = {label.split(".")[0] for label in EXCLUDED if "." not in label}
    skip_models = {label for label in EXCLUDED if "." in label}
    return {
        model._meta.label_lower: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.app_label not in skip and model._meta.label_lower not in skip_models
    }


class Command(BaseCommand):
    help = "Back up the database and photos into DIR (created; must not exist)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["output"])
        if out.exists():
            raise CommandError(f"{out} exists; choose a new folder.")
        # Parents get ordinary permissions; only the backup folder itself is private.
        out.parent.mkdir(parents=True, exist_ok=True)
        backup_format.register()
        # Under umask 077 nothing is ever created readable by others, not even for a moment.
        previous_umask = os.umask(0o077)
        try:
            out.mkdir(mode=0o700)
            manifest = self.write(out)
        finally:
            os.umask(previous_umask)
        # And exactly these modes: a umask only takes bits away.
        out.chmod(0o700)
        for path in out.iterdir():
            path.chmod(0o600)
        total = sum(manifest["counts"].values())
        self.stdout.write(f"Backed up {total} rows and the photos to {out}.")

    def write(self, out: Path) -> dict[str, Any]:
        data = out / "db.json"
        call_command("dumpdata", format=backup_format.FORMAT, natural_foreign=True,
                     natural_primary=True, exclude=EXCLUDED, indent=1, output=str(data),
                     verbosity=0)
        media = Path(settings.MEDIA_ROOT)
        archive = out / "media.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            if media.exists():
                tar.add(media, arcname="media")
        manifest = {"counts": model_counts(), "format": backup_format.FORMAT,
                    "db.json": sha256(data), "media.tar.gz": sha256(archive)}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        return manifest
