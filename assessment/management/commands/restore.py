"""``python manage.py restore --input DIR``: load a backup into an empty, migrated database and
put the photos back. Refuses a database that already holds clinical records, and checks the
files against the manifest before touching anything.

The photos are written through Django's storage API (``default_storage``), so a backup taken
on one server's disk restores into object storage (S3) and back. They are written inside the
database transaction: if one cannot be stored, no record is restored (the files already
written are harmless and are replaced by the next attempt)."""

from __future__ import annotations

import json
import sys
import tarfile
from pathlib import Path
from typing import Any

from django.core import serializers
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.core.files.utils import validate_file_name
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
        with tarfile.open(source / "media.tar.gz", "r:gz") as tar:
            members = media_members(tar)
            expected_files = manifest.get("media_files")  # absent in older backups
            if expected_files is not None and expected_files != len(members):
                raise CommandError(f"media.tar.gz holds {len(members)} photo file(s); the "
                                   f"manifest lists {expected_files}. The backup is damaged.")
            with transaction.atomic():
                load(source / "db.json", data_format)
                counts = model_counts()
                differ = {label: (count, counts.get(label)) for label, count
                          in manifest["counts"].items() if counts.get(label) != count}
                if differ:
                    raise CommandError(
                        f"Row counts differ after loading (expected, found): {differ}")
                restore_media(tar, members, default_storage)
        self.stdout.write(f"Restored {sum(manifest['counts'].values())} rows and "
                          f"{len(members)} photo file(s).")


def media_members(tar: tarfile.TarFile) -> list[tuple[tarfile.TarInfo, str]]:
    """The archive's files under ``media/`` with their storage names, checked before anything
    is written: regular files only (no links or devices), and names that stay inside the
    storage (no absolute paths, no ``..``). Folder entries (older backups have them) are
    skipped: storages create folders, or have none."""
    found = []
    for member in tar.getmembers():
        if not member.name.startswith("media/") or member.isdir():
            continue
        name = member.name[len("media/"):]
        if not name:
            continue
        if not member.isfile():
            raise CommandError(f"media.tar.gz: {member.name} is not a regular file; this "
                               "archive was not written by the backup command.")
        try:
            validate_file_name(name, allow_relative_path=True)
        except SuspiciousFileOperation:
            raise CommandError(f"media.tar.gz: {member.name} points outside the photo "
                               "storage; this archive was not written by the backup command."
                               ) from None
        found.append((member, name))
    return found


def restore_media(tar: tarfile.TarFile, members: list[tuple[tarfile.TarInfo, str]],
                  storage: Storage) -> None:
    """Write each archived file to ``storage`` under its own name, streamed from the archive.
    A file of that name already there is replaced (as extracting over the media folder did):
    the records being restored point at exactly these names."""
    for member, name in members:
        handle = tar.extractfile(member)
        if handle is None:  # not reachable for regular files; keeps the type checker honest
            raise CommandError(f"media.tar.gz: {member.name} cannot be read.")
        with handle:
            if storage.exists(name):
                storage.delete(name)
            saved = storage.save(name, File(handle, name=name))
        if saved != name:
            raise CommandError(f"The photo storage saved {name} as {saved}; the restored "
                               "records would not find it.")


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
