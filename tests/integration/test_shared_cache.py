"""The cache shared by several app servers (REDIS_URL, Django's RedisCache): the settings read
it, and the worklist computed by one server is served by another from Redis, until a write
bumps the change counter.

The Redis round trip needs a Redis server (REDIS_TEST_URL, default redis://127.0.0.1:6379/15)
and is skipped without one. It never flushes that database: its keys carry a prefix of their
own and are deleted at the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from assessment import selectors, services
from assessment.demo import record_contract_case
from assessment.models import Site
from tests.builders import load_case

ROOT = Path(__file__).resolve().parents[2]
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
CACHES_OF = ("import json; from django.conf import settings; "
             "print(json.dumps(settings.CACHES['default']))")


def caches_with(env_extra: dict[str, str]) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "CACHE_KEY_PREFIX"}}
    env.update({"DJANGO_DEBUG": "1", "DJANGO_SETTINGS_MODULE": "calcinosis_site.settings",
                **env_extra})
    result = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", CACHES_OF],
                            cwd=ROOT, env=env, text=True, capture_output=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_settings_share_the_cache_only_when_redis_url_is_set() -> None:
    assert caches_with({})["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    shared = caches_with({"REDIS_URL": "redis://cache.internal:6379/2"})
    assert shared == {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                      "LOCATION": "redis://cache.internal:6379/2", "KEY_PREFIX": "calcinosis"}


def _redis_or_skip() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError:
        pytest.skip(f"no Redis server at {REDIS_TEST_URL}")


@pytest.fixture
def redis_cache() -> Iterator[dict]:
    _redis_or_skip()
    config = {"BACKEND": "django.core.cache.backends.redis.RedisCache",
              "LOCATION": REDIS_TEST_URL, "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}"}
    with override_settings(CACHES={"default": config}):
        yield config
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    for key in client.scan_iter(f"{config['KEY_PREFIX']}:*"):
        client.delete(key)


@pytest.mark.django_db
def test_a_worklist_computed_on_one_server_is_served_to_another(
        redis_cache: dict, alice: User, north: Site) -> None:
    record_contract_case(data=load_case("seed_case_a_pearl_like_heel_nodule.json")["input"],
                         record_number="CASE-A", born=date(2025, 8, 10),
                         visit=date(2026, 8, 10), label="right lateral heel nodule",
                         user=alice, site=north)
    today = date(2026, 8, 20)
    with CaptureQueriesContext(connection) as cold:
        first = selectors.worklist(alice, today)
    # Another app server: its own connection to the same Redis, nothing in process memory.
    other_server = RedisCache(redis_cache["LOCATION"], {"KEY_PREFIX": redis_cache["KEY_PREFIX"]})
    keys = [key for key in _keys(redis_cache) if ":worklist:" in key]
    assert len(keys) == 1
    assert other_server.get(keys[0].split(":", 2)[2]) == first
    with CaptureQueriesContext(connection) as warm:
        assert selectors.worklist(alice, today) == first
    # The change counter (and the user's clinics) only: the rows come from Redis.
    assert len(warm) < len(cold) and len(warm) <= 2

    services.worklist_changed()  # what every write that alters the worklist does
    with CaptureQueriesContext(connection) as after_write:
        selectors.worklist(alice, today)
    # Computed again (the first, cold call also read the user's clinics, now held on the user).
    assert len(after_write) > len(warm)
    assert len([key for key in _keys(redis_cache) if ":worklist:" in key]) == 2


def _keys(config: dict) -> list[str]:
    import redis

    client = redis.Redis.from_url(config["LOCATION"])
    return sorted(key.decode() for key in client.scan_iter(f"{config['KEY_PREFIX']}:*"))
