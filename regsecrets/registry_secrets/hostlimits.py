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
    pending = backoff_deadlines(hosts).values()
    return max(pending) if pending else None


def backoff_deadlines(hosts: Iterable[str]) -> dict[str, float]:
    """Each of ``hosts`` that rests now, with its deadline (epoch seconds): one cache
    read (MGET on Redis) however many hosts."""
    keys = {_backoff_key(h): h for h in hosts}
    if not keys:
        return {}
    found = cache.get_many(list(keys))
    now = time.time()
    return {keys[key]: float(v) for key, v in found.items() if float(v) > now}


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
    wanted = set(hosts)
    with slots_for(wanted) as held:
        yield held == wanted


@contextmanager
def slots_for(hosts: Iterable[str], *, lease: float = _SLOT_LEASE) -> Iterator[frozenset[str]]:
    """Hold one concurrency slot on each of ``hosts`` that has one free; yields the
    hosts held.

    A batch of checks holds one slot per host it talks to for all its checks, since
    it checks one secret at a time: the cap counts batches and single checks alike.
    Taking never waits (a full host is left out, its checks are deferred), so two
    batches cannot deadlock. ``lease`` bounds how long a crashed worker's slot
    lingers; a batch passes one that covers all its checks.
    """
    cap = max(1, int(getattr(settings, "REGSECRETS_HEALTH_HOST_CONCURRENCY", 4)))
    token = uuid.uuid4().hex
    timeout = max(1, int(lease))
    held: dict[str, str] = {}
    try:
        for host in sorted(set(hosts)):
            for index in range(cap):
                key = _slot_key(host, index)
                if cache.add(key, token, timeout=timeout):
                    held[host] = key
                    break
        yield frozenset(held)
    finally:
        if held:
            keys = list(held.values())
            # Only our own slots: a lease that expired may have been taken by another.
            current = cache.get_many(keys)
            cache.delete_many([key for key in keys if current.get(key) == token])
