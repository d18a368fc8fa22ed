"""Per-registry-host politeness for scheduled checks, shared by every worker.

A thousand secrets on one registry must not trip its rate limits: at most
REGSECRETS_HEALTH_HOST_CONCURRENCY checks are in flight per host, and a host that
answered 429 or 5xx is left alone until its Retry-After (or our own backoff) has
passed. The state lives in Django's cache, which is Redis when REDIS_URL is set, so
every worker on every machine sees the same slots and backoffs. Nothing here is a
credential: keys hold host names and deadlines.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache

# A host that answered 5xx without Retry-After, or with 0, rests this long.
DEFAULT_BACKOFF = 60.0
MAX_BACKOFF = 3600.0
# A slot outlives a crashed worker by at most this long (a check is bounded by
# REGSECRETS_VERIFY_TIMEOUT per host, well under it).
_SLOT_LEASE = 120


def _backoff_key(host: str) -> str:
    return f"regsecrets:health:backoff:{host}"


def _slot_key(host: str, index: int) -> str:
    return f"regsecrets:health:slot:{host}:{index}"


def backoff_until(hosts: Iterable[str]) -> float | None:
    """The latest time (epoch seconds) until which any of ``hosts`` rests, if any."""
    keys = {_backoff_key(h): h for h in hosts}
    found = cache.get_many(list(keys))
    now = time.time()
    pending = [float(v) for v in found.values() if float(v) > now]
    return max(pending) if pending else None


def back_off(host: str, retry_after: float | None) -> float:
    """Make ``host`` rest for Retry-After seconds (or our default); returns the deadline."""
    seconds = retry_after if retry_after and retry_after > 0 else DEFAULT_BACKOFF
    seconds = min(max(seconds, 1.0), MAX_BACKOFF)
    until = time.time() + seconds
    # Never shorten a longer backoff another worker set.
    key = _backoff_key(host)
    current = cache.get(key)
    if current is None or float(current) < until:
        cache.set(key, until, timeout=int(seconds) + 1)
    return until


@contextmanager
def host_slots(hosts: Iterable[str]) -> Iterator[bool]:
    """Hold one concurrency slot per host for the block; yields False if any is full.

    Slots are cache keys taken with ``add`` (SET NX on Redis), so taking one is
    atomic across workers; hosts are taken in sorted order, all or none.
    """
    cap = max(1, int(getattr(settings, "REGSECRETS_HEALTH_HOST_CONCURRENCY", 4)))
    token = uuid.uuid4().hex
    held: list[str] = []
    try:
        for host in sorted(set(hosts)):
            for index in range(cap):
                key = _slot_key(host, index)
                if cache.add(key, token, timeout=_SLOT_LEASE):
                    held.append(key)
                    break
            else:
                yield False
                return
        yield True
    finally:
        for key in held:
            # Only our own slot: a lease that expired may have been taken by another.
            if cache.get(key) == token:
                cache.delete(key)
