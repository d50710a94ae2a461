"""``python manage.py backup --output DIR``: the database (every record and every history entry)
as JSON with natural keys, plus the photo files, plus a manifest with counts and checksums."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

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
        out.mkdir(parents=True)
        data = out / "db.json"
        call_command("dumpdata", natural_foreign=True, natural_primary=True, exclude=EXCLUDED,
                     indent=1, output=str(data), verbosity=0)
        media = Path(settings.MEDIA_ROOT)
        archive = out / "media.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            if media.exists():
                tar.add(media, arcname="media")
        manifest = {"counts": model_counts(), "db.json": sha256(data),
                    "media.tar.gz": sha256(archive)}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        total = sum(manifest["counts"].values())
        self.stdout.write(f"Backed up {total} rows and the photos to {out}.")
