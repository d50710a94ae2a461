"""Photos go only through Django's storage API, so a deployment on several servers can keep them
in object storage (django-storages, S3) by changing STORAGES alone.

Each test runs twice: on Django's InMemoryStorage, and on a storage that, like S3, has no local
path at all (``path()`` raises, as in django-storages). Uploading through the real form, serving
through the permission-checked view, backing up and restoring must work on both, and nothing may
be written under MEDIA_ROOT."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.files.base import File
from django.core.files.storage import InMemoryStorage, Storage, default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from PIL import Image

from assessment.demo import record_contract_case
from assessment.management.commands.backup import storage_files
from assessment.models import LesionObservation, Patient, Photo, Site
from tests.builders import load_case

ROOT = Path(__file__).resolve().parents[2]
CASE_A = load_case("seed_case_a_pearl_like_heel_nodule.json")["input"]


class PathlessMemoryStorage(Storage):
    """Files held in memory and reachable only through the storage API, like django-storages'
    S3 backend: ``path()`` is the base class's NotImplementedError, so any code that asks for a
    local file fails here. (InMemoryStorage itself answers ``path()`` with a made-up name.)"""

    def __init__(self) -> None:
        self._files = InMemoryStorage(location="/pathless-storage-has-no-folder")

    def _open(self, name: str, mode: str = "rb") -> File:
        return self._files._open(name, mode)

    def _save(self, name: str, content: File) -> str:
        return self._files._save(name, content)

    def exists(self, name: str) -> bool:
        return self._files.exists(name)

    def delete(self, name: str) -> None:
        self._files.delete(name)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        return self._files.listdir(path)

    def size(self, name: str) -> int:
        return self._files.size(name)

    def get_modified_time(self, name: str) -> datetime:
        return self._files.get_modified_time(name)


BACKENDS = ["django.core.files.storage.InMemoryStorage",
            f"{__name__}.PathlessMemoryStorage"]


def storages_with(backend: str) -> dict[str, Any]:
    # Only the photos' storage changes; static files stay as the test settings have them.
    return {**django_settings.STORAGES, "default": {"BACKEND": backend}}


@pytest.fixture(params=BACKENDS, ids=["in-memory", "pathless"])
def object_storage(request: Any, settings: Any, tmp_path: Path) -> Iterator[Storage]:
    """The photo storage swapped for ``request.param``; MEDIA_ROOT points at a folder that must
    still not exist when the test ends."""
    settings.MEDIA_ROOT = tmp_path / "media"
    with override_settings(STORAGES=storages_with(request.param)):
        yield default_storage
    assert not (tmp_path / "media").exists(), "a photo was written to the file system"


def jpeg(colour: tuple[int, int, int] = (200, 120, 90)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def upload(client: Client, observation: LesionObservation, content: bytes) -> Any:
    return client.post(f"/observations/{observation.pk}/photos/", {
        "image": SimpleUploadedFile("IMG_0042.jpg", content, content_type="image/jpeg"),
        "caption": "left heel"})


def record_case(user: User, site: Site) -> Patient:
    return record_contract_case(data=CASE_A, record_number="CASE-A", born=date(2025, 8, 10),
                                visit=date(2026, 8, 10), label="right lateral heel nodule",
                                user=user, site=site)


def test_the_photo_field_follows_the_storages_setting(object_storage: Storage) -> None:
    # FileField keeps default_storage, a lazy object Django resets when STORAGES changes: the
    # model needs no storage argument for a deployment to move its photos.
    field_storage = Photo._meta.get_field("image").storage
    assert field_storage is default_storage
    assert not field_storage.exists("photos/none.jpg")  # resolves the lazy object
    assert field_storage._wrapped is storages["default"]
    assert type(storages["default"]).__name__ in {"InMemoryStorage", "PathlessMemoryStorage"}


@pytest.mark.django_db
def test_it_uploads_and_serves_a_photo_through_the_storage(
        object_storage: Storage, alice: User, north: Site, alice_client: Client,
        charlie_client: Client) -> None:
    record_case(alice, north)
    observation = LesionObservation.objects.get()
    assert upload(alice_client, observation, jpeg()).status_code == 302
    photo = Photo.objects.get()
    assert photo.image.name.startswith("photos/")
    assert object_storage.exists(photo.image.name)
    with object_storage.open(photo.image.name, "rb") as handle:
        stored = handle.read()
    assert object_storage.size(photo.image.name) == len(stored) == photo.size_bytes

    served = alice_client.get(f"/photos/{photo.pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content) == stored
    # The permission check stays in front of the storage: another clinic's clinician gets 404.
    assert charlie_client.get(f"/photos/{photo.pk}/").status_code == 404


@pytest.mark.django_db
def test_a_refused_upload_stores_nothing(object_storage: Storage, alice: User, north: Site,
                                         alice_client: Client) -> None:
    record_case(alice, north)
    response = upload(alice_client, LesionObservation.objects.get(), b"%PDF-1.7 not a photo")
    assert response.status_code == 400
    assert not Photo.objects.exists()
    assert list(storage_files(object_storage)) == []


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_carry_the_photos_through_the_storage(
        object_storage: Storage, alice: User, north: Site, alice_client: Client,
        tmp_path: Path) -> None:
    record_case(alice, north)
    observation = LesionObservation.objects.get()
    assert upload(alice_client, observation, jpeg()).status_code == 302
    assert upload(alice_client, observation, jpeg((10, 20, 30))).status_code == 302
    stored = {}
    for photo in Photo.objects.all():
        with object_storage.open(photo.image.name, "rb") as handle:
            stored[photo.image.name] = handle.read()
    backup = tmp_path / "backup"
    call_command("backup", output=str(backup), stdout=io.StringIO())
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["media_files"] == 2

    # A new deployment: an empty database (migrated) and an empty bucket.
    call_command("flush", interactive=False, verbosity=0)
    with override_settings(STORAGES=storages_with(
            django_settings.STORAGES["default"]["BACKEND"])):
        fresh = default_storage
        assert list(storage_files(fresh)) == []
        out = io.StringIO()
        call_command("restore", input=str(backup), stdout=out)
        assert "2 photo file(s)" in out.getvalue()
        restored = {}
        for name in stored:
            with fresh.open(name, "rb") as handle:
                restored[name] = handle.read()
        assert restored == stored
        client = Client()
        client.force_login(User.objects.get(username="alice"))
        for photo in Photo.objects.all():
            served = client.get(f"/photos/{photo.pk}/")
            assert b"".join(served.streaming_content) == stored[photo.image.name]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["backup"]


def _backup_with_archive(tmp_path: Path, write: Any) -> Path:
    """A backup of an empty database whose photo archive is written by ``write(tar)``, with
    checksums that match (so only the archive's content can give it away)."""
    backup = tmp_path / "backup"
    call_command("backup", output=str(backup), stdout=io.StringIO())
    archive = backup / "media.tar.gz"
    archive.chmod(0o600)
    with tarfile.open(archive, "w:gz") as tar:
        write(tar)
    manifest_path = backup / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["media.tar.gz"] = hashlib.sha256(archive.read_bytes()).hexdigest()
    del manifest["media_files"]
    manifest_path.write_text(json.dumps(manifest))
    return backup


def _damaged_backup(tmp_path: Path, member: tarfile.TarInfo, body: bytes = b"") -> Path:
    return _backup_with_archive(tmp_path, lambda tar: tar.addfile(
        member, io.BytesIO(body) if member.isfile() else None))


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:No fixture data found")  # the database backed up is empty
def test_restore_reads_the_photo_archive_of_older_backups(object_storage: Storage,
                                                          tmp_path: Path) -> None:
    """Before the storage API, backup archived the MEDIA_ROOT folder itself (folder entries
    included); such a backup restores into any storage."""
    old_media = tmp_path / "old-server" / "media"
    (old_media / "photos").mkdir(parents=True)
    (old_media / "photos" / "0123abcd.jpg").write_bytes(jpeg())
    backup = _backup_with_archive(tmp_path, lambda tar: tar.add(old_media, arcname="media"))
    call_command("restore", input=str(backup), stdout=io.StringIO())
    with object_storage.open("photos/0123abcd.jpg", "rb") as handle:
        assert handle.read() == jpeg()
    assert list(storage_files(object_storage)) == ["photos/0123abcd.jpg"]


def _escaping_file() -> tarfile.TarInfo:
    member = tarfile.TarInfo("media/../../outside.jpg")
    member.size = 3
    return member


def _link() -> tarfile.TarInfo:
    member = tarfile.TarInfo("media/photos/link.jpg")
    member.type = tarfile.SYMTYPE
    member.linkname = "/etc/passwd"
    return member


@pytest.mark.django_db
@pytest.mark.parametrize(("member", "words"), [
    (_escaping_file(), "points outside the photo storage"),
    (_link(), "is not a regular file"),
])
def test_restore_refuses_an_archive_that_would_write_outside_the_storage(
        object_storage: Storage, tmp_path: Path, member: tarfile.TarInfo, words: str) -> None:
    backup = _damaged_backup(tmp_path, member, b"abc")
    users_before = User.objects.count()
    with pytest.raises(CommandError, match=words):
        call_command("restore", input=str(backup), stdout=io.StringIO())
    assert User.objects.count() == users_before
    assert not (tmp_path.parent / "outside.jpg").exists()
    assert list(storage_files(object_storage)) == []


def _storages_in_a_new_process(**env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "calcinosis_site.settings",
                **env_extra})
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c",
         "import json; from django.conf import settings; "
         "print(json.dumps(settings.STORAGES['default']))"],
        cwd=ROOT, env=env, text=True, capture_output=True, timeout=120, check=False)


def test_a_deployment_chooses_the_photo_storage_from_the_environment() -> None:
    default = _storages_in_a_new_process()
    assert json.loads(default.stdout) == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"}
    s3 = _storages_in_a_new_process(
        DJANGO_STORAGE_BACKEND="storages.backends.s3.S3Storage",
        DJANGO_STORAGE_OPTIONS='{"bucket_name": "clinic-photos", "location": "photos"}')
    assert json.loads(s3.stdout) == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"bucket_name": "clinic-photos", "location": "photos"}}
    broken = _storages_in_a_new_process(DJANGO_STORAGE_OPTIONS="bucket_name=clinic-photos")
    assert broken.returncode != 0
    assert "DJANGO_STORAGE_OPTIONS is not valid JSON" in broken.stderr
