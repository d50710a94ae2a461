"""``python manage.py backup --output DIR``: the database (every record and every history entry)
as JSON with natural keys (datetimes to the microsecond, see ``assessment.backup_format``), plus
the photo files, plus a manifest with counts, checksums and the format. Patient data: the folder
is 0700 and every file in it 0600, whatever the umask.

The photos are read through Django's storage API (``default_storage``), never from MEDIA_ROOT
on disk: the same command backs up a file-system storage and object storage (S3), where files
have no local path. The archive holds every file of the storage as ``media/<name>``."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.files.storage import Storage, default_storage
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


def storage_files(storage: Storage, folder: str = "") -> Iterator[str]:
    """Every file name in ``storage`` under ``folder``, sorted, depth first. An absent root
    (a file-system storage before the first upload) holds no files."""
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        if folder:
            raise
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for name in sorted(folders):
        yield from storage_files(storage, f"{folder}/{name}" if folder else name)


def _modified_at(storage: Storage, name: str) -> float:
    # Not every backend can say (the base Storage raises NotImplementedError); the time is
    # only informative in the archive.
    try:
        return storage.get_modified_time(name).timestamp()
    except (NotImplementedError, AttributeError):
        return time.time()


def archive_media(archive: Path, storage: Storage) -> int:
    """Write every file of ``storage`` into the gzipped tar ``archive`` as ``media/<name>``,
    streamed one file at a time (a photo is never held whole in memory); returns the count."""
    count = 0
    with tarfile.open(archive, "w:gz") as tar:
        for name in storage_files(storage):
            info = tarfile.TarInfo(f"media/{name}")
            info.size = storage.size(name)
            info.mtime = _modified_at(storage, name)
            info.mode = 0o600
            with storage.open(name, "rb") as handle:
                tar.addfile(info, handle)
            count += 1
    return count


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
        self.stdout.write(f"Backed up {total} rows and {manifest['media_files']} photo file(s) "
                          f"to {out}.")

    def write(self, out: Path) -> dict[str, Any]:
        data = out / "db.json"
        call_command("dumpdata", format=backup_format.FORMAT, natural_foreign=True,
                     natural_primary=True, exclude=EXCLUDED, indent=1, output=str(data),
                     verbosity=0)
        archive = out / "media.tar.gz"
        files = archive_media(archive, default_storage)
        manifest = {"counts": model_counts(), "format": backup_format.FORMAT,
                    "db.json": sha256(data), "media.tar.gz": sha256(archive),
                    "media_files": files}
        (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
        return manifest
