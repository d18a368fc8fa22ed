"""A small per-user rate limit on Django's cache, for endpoints that reach out.

The verification pages make outbound requests to hosts the user chooses; a modest
fixed-window budget per user keeps one account from turning the server into a
scanner or hammering a registry. Fixed windows are coarse (a burst can straddle
two), which is fine for a budget this small. With the default LocMemCache the
budget is per process; a shared cache (REDIS_URL) makes it global.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

__all__ = ["DEFAULT_VERIFY_RATE_LIMIT", "rate_limited", "verify_rate_limited"]

DEFAULT_VERIFY_RATE_LIMIT = 30  # requests per user per minute


def rate_limited(scope: str, ident: object, *, limit: int, window: int = 60) -> bool:
    """Count one request of ``ident`` in ``scope``; True once it exceeds ``limit``.

    ``limit`` <= 0 disables the limit (an operator's escape hatch).
    """
    if limit <= 0:
        return False
    bucket = int(time.time() // window)
    key = f"ratelimit:{scope}:{ident}:{bucket}"
    # add() is atomic where the backend is (Redis, Memcached): the first request
    # of a window creates the counter, every request then increments it.
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=window + 5)
        count = 1
    return count > limit


def verify_rate_limited(user: object) -> bool:
    """The budget shared by every web "test credentials" / "verify image" action."""
    limit = int(getattr(settings, "REGSECRETS_VERIFY_RATE_LIMIT", DEFAULT_VERIFY_RATE_LIMIT))
    return rate_limited("verify", getattr(user, "pk", None), limit=limit)
