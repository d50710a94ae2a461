"""Settings read from the environment.

A newcomer gets SQLite and DEBUG by running `make run`; production (`make serve`) must supply
DJANGO_SECRET_KEY and DATABASE_URL. A missing secret with DEBUG off fails at start, loudly,
rather than running with a guessable key.
"""

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG:
        # Development only: a fixed key is harmless on a laptop and keeps sessions across restarts.
        SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
    else:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (production settings)."
        )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "axes",
    "csp",
    "assessment",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads a request body: a malformed Content-Length is a 400, not a 500.
    "assessment.middleware.MalformedContentLengthMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # No response with patient data may be cached (static files are served before this).
    "assessment.middleware.NoStoreMiddleware",
    # Every page needs a login except those marked login_not_required (login, the JSON API,
    # which answers 401 itself).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Who made each change, for the audit trail.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes requires: it locks out repeated failed logins.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend that refuses the demo accounts (published passwords) when DEBUG is off.
    "assessment.auth.DemoAwareModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))  # hours
# Each entry is counted on its own and the highest count is compared with the limit: 5 failures
# for one username from one address, or 5 failures from one address whatever the usernames (one
# password tried across many accounts). A clinic behind one NAT address shares that second count,
# which is acceptable because any successful login from the address resets it
# (AXES_RESET_ON_SUCCESS deletes the records matching each entry): colleagues' typos add up only
# until someone logs in, and a lockout lasts AXES_COOLOFF_TIME. The price: that reset clears
# every username's count at the address, so an insider with a working login could interleave
# successes with guesses at a colleague's password from the same address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
# Behind a load balancer (docs/DEPLOYMENT.md) the address above must be the client's, not the
# balancer's: DJANGO_TRUSTED_PROXY_COUNT is the number of proxies that append to
# X-Forwarded-For in front of the app (0, the default: REMOTE_ADDR, no header trusted).
TRUSTED_PROXY_COUNT = int(os.environ.get("DJANGO_TRUSTED_PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "assessment.auth.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

ROOT_URLCONF = "calcinosis_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "calcinosis_site.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the lock when their transaction starts and wait for each other, instead of
    # failing with "database is locked" when two saves race.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20})
elif env_bool("DJANGO_DB_PREPARED_STATEMENTS", True):
    # PostgreSQL: the hot lookups that ask for it (assessment/prepared.py) are prepared once per
    # connection; Django's own statements are bound on the client and never prepared. Off for
    # a pooler in transaction mode that cannot keep prepared statements (docs/DEPLOYMENT.md).
    from assessment.prepared import ONLY_WHEN_ASKED

    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = ONLY_WHEN_ASKED
# Optional read replica (docs/DEPLOYMENT.md): only the exports and the outcomes page read from
# it (assessment/replica.py); every write and every other page uses the primary.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
    )
    # Tests read the primary's test database through this alias; none is created for it.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["assessment.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds the worklist and the outcomes figures (keyed by the change counter, so never
# stale) and list counts (a minute). Unset: each worker process keeps its own (Django's
# local-memory cache), right for one server. With several app servers, REDIS_URL
# (redis://host:6379/0) makes them share one, so a figure computed once serves every server.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            # Another app on the same Redis database cannot collide with these keys.
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "calcinosis"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

def photo_storage() -> dict:
    """Where photos are kept: MEDIA_ROOT on this server by default; with several app servers,
    object storage, e.g. DJANGO_STORAGE_BACKEND=storages.backends.s3.S3Storage (django-storages)
    and DJANGO_STORAGE_OPTIONS as JSON (docs/DEPLOYMENT.md). The app reads and writes photos
    only through the storage API, so no code changes with the backend."""
    backend = {"BACKEND": os.environ.get("DJANGO_STORAGE_BACKEND",
                                         "django.core.files.storage.FileSystemStorage")}
    options = os.environ.get("DJANGO_STORAGE_OPTIONS", "")
    if options:
        try:
            backend["OPTIONS"] = json.loads(options)
        except ValueError as error:
            raise ImproperlyConfigured(f"DJANGO_STORAGE_OPTIONS is not valid JSON: {error}"
                                       ) from None
        if not isinstance(backend["OPTIONS"], dict):
            raise ImproperlyConfigured("DJANGO_STORAGE_OPTIONS must be a JSON object "
                                       '({"name": value, ...}).')
    return backend


STORAGES = {
    "default": photo_storage(),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Uploaded clinical photos: outside the static files, served only by a permission-checked view
# (there is deliberately no MEDIA_URL route).
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))
PHOTO_MAX_BYTES = int(os.environ.get("PHOTO_MAX_BYTES", str(8 * 1024 * 1024)))
PHOTO_MAX_PIXELS = 40_000_000  # larger images are refused as possible decompression bombs
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
CSRF_FAILURE_VIEW = "assessment.api.csrf_failure"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Largest JSON body the assessment API accepts; a contract input is a few kilobytes.
API_MAX_BODY_BYTES = 64 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

SESSION_COOKIE_HTTPONLY = True
# Sessions end after 30 minutes without activity (every request renews the window).
SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Content-Security-Policy: only this origin's files; no inline script or style anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # Bootstrap draws form controls with data: SVGs
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
CSRF_COOKIE_HTTPONLY = False  # the API's browser callers read it to send X-CSRFToken
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}

# Bootstrap's alert classes: an error message is "alert-danger", not the unstyled "alert-error".
MESSAGE_TAGS = {40: "danger"}  # messages.ERROR
