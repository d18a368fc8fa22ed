"""Cache isolation: every key carries a per-deployment prefix and version, so two
deployments (or a test run) sharing a Redis database share no counter."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

import regsecrets.settings as django_settings_module
from regsecrets.api.auth import failure_count, record_failure
from tests.redisdb import redis_database

REDIS_URL = "redis://127.0.0.1:6379/6"  # this suite's own database; only it is flushed


def _settings_with(monkeypatch, **env: str) -> dict:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(Path(django_settings_module.__file__)))


def test_the_cache_prefix_and_version_come_from_the_environment(monkeypatch):
    fresh = _settings_with(
        monkeypatch,
        REDIS_URL=REDIS_URL,
        REGSECRETS_CACHE_KEY_PREFIX="staging",
        REGSECRETS_CACHE_VERSION="3",
    )
    cache = fresh["CACHES"]["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert (cache["KEY_PREFIX"], cache["VERSION"]) == ("staging", 3)


def test_the_default_prefix_applies_without_redis_too(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("REGSECRETS_CACHE_KEY_PREFIX", raising=False)
    cache = runpy.run_path(str(Path(django_settings_module.__file__)))["CACHES"]["default"]
    assert (cache["KEY_PREFIX"], cache["VERSION"]) == ("regsecrets", 1)


@pytest.fixture
def redis_db():
    client = redis_database(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _use(settings, prefix: str, version: int = 1) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
            "VERSION": version,
        }
    }


def test_two_deployments_on_one_redis_database_do_not_share_rate_limit_counters(settings, redis_db):
    _use(settings, "deployment-a")
    for _ in range(3):
        record_failure("203.0.113.9")
    assert failure_count("203.0.113.9") == 3

    _use(settings, "deployment-b")
    assert failure_count("203.0.113.9") == 0
    record_failure("203.0.113.9")
    assert failure_count("203.0.113.9") == 1

    _use(settings, "deployment-a")
    assert failure_count("203.0.113.9") == 3
    assert all(key.startswith(b"deployment-") for key in redis_db.keys("*"))


def test_a_new_cache_version_abandons_the_old_values(settings, redis_db):
    _use(settings, "deployment-a", version=1)
    record_failure("203.0.113.9")
    _use(settings, "deployment-a", version=2)
    assert failure_count("203.0.113.9") == 0
