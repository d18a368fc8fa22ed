"""The real Redis on 127.0.0.1:6379, one database number per suite that needs it.

Each suite owns its number (health 11, minting 12, metrics 8, cache isolation 6)
and flushes only that database. Without Redis a test skips locally and fails in CI
(CI=true), where .ci/run has started it.
"""

from __future__ import annotations

import os

import pytest
import redis


def redis_database(url: str) -> redis.Redis:
    """A client on ``url``'s database, or skip (fail under CI) when Redis is not there."""
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Redis is not running on 127.0.0.1:6379 (CI=true, so this is an error)")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return client
