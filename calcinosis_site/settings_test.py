"""Settings for the test suite.

The live server used by the browser tests reads the security settings at start, so HTTPS
redirects and HSTS stay off here; everything else matches production settings.
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production")

from calcinosis_site.settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Hashing speed is not what the tests check.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# Serve static files from the app folders (no collectstatic in tests), as runserver does.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: the concurrency tests save from several threads, each with its own
    # connection, and only a file database gives them SQLite's real locking.
    _test_db_dir = BASE_DIR / "test-output"  # noqa: F405
    _test_db_dir.mkdir(exist_ok=True)
    # TEST_DB_SUFFIX keeps two suites run side by side on one checkout apart.
    _name = f"test-db{os.environ.get('TEST_DB_SUFFIX', '')}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": str(_test_db_dir / _name)}  # noqa: F405
