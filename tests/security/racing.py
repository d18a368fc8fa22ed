"""Two requests at the same moment, in real threads, on PostgreSQL.

Two ways to meet:

* ``at_once(*calls)`` starts every call together behind a barrier: what two
  double-clicks or two users do. Whether the calls overlap at the critical moment
  is up to the scheduler, so it is repeated many times.
* ``while_first_holds(first, second)`` makes the dangerous overlap certain: it runs
  ``first`` inside a transaction kept open (its locks held, its writes not yet
  visible) until ``second`` is either waiting for a lock or finished, then commits.
  With the locks right, ``second`` waits and then sees ``first``'s outcome; without
  them it runs on data that is about to change, which is the race. It polls
  PostgreSQL's pg_stat_activity for the wait, so nothing depends on timing.

Each call gets its own database connection (Django's are per thread) and closes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction

ON_POSTGRESQL = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

postgresql_only = pytest.mark.skipif(
    not ON_POSTGRESQL,
    reason="races need PostgreSQL's row locks and concurrent writers; SQLite serialises "
    "every write, so there is no race to prove there (set DATABASE_URL to run these)",
)

ATTEMPTS = 20
# A bound on waiting for a thread, so a deadlock fails the test instead of hanging it.
DEADLINE_SECONDS = 60.0


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _outcome(call: Callable[[], Any]) -> Outcome:
    try:
        return Outcome(value=call())
    except Exception as exc:  # the outcome is what the test inspects
        return Outcome(error=exc)


def _join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(DEADLINE_SECONDS)
        assert not thread.is_alive(), "a racing call did not finish: deadlock?"


def at_once(*calls: Callable[[], Any]) -> list[Outcome]:
    """Run ``calls`` in threads released together; their outcomes, in order."""
    outcomes: list[Outcome] = [Outcome() for _ in calls]
    barrier = threading.Barrier(len(calls))

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()  # connect before the start, not during the race
            barrier.wait(DEADLINE_SECONDS)
            outcomes[index] = _outcome(call)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    _join(threads)
    return outcomes


def _waiting_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def while_first_holds(
    first: Callable[[], Any], second: Callable[[], Any]
) -> tuple[Outcome, Outcome, bool]:
    """Run ``second`` while ``first``'s transaction is open; then let ``first`` commit.

    Returns both outcomes and whether ``second`` had to wait for a lock.
    """
    results: dict[str, Outcome] = {}
    first_ran, release, second_done = threading.Event(), threading.Event(), threading.Event()
    second_pid: list[int] = []

    def run_first() -> None:
        try:
            with transaction.atomic():
                results["first"] = _outcome(first)
                if not results["first"].ok:
                    transaction.set_rollback(True)
                first_ran.set()
                release.wait(DEADLINE_SECONDS)
        finally:
            first_ran.set()
            connection.close()

    def run_second() -> None:
        try:
            connection.ensure_connection()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                second_pid.append(cursor.fetchone()[0])
            results["second"] = _outcome(second)
        finally:
            second_done.set()
            connection.close()

    holder = threading.Thread(target=run_first)
    holder.start()
    assert first_ran.wait(DEADLINE_SECONDS)
    contender = threading.Thread(target=run_second)
    contender.start()
    waited = False
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while not second_done.is_set():
            if second_pid and _waiting_for_a_lock(second_pid[0]):
                waited = True
                break
            assert time.monotonic() < deadline, "the second call neither waited nor finished"
            time.sleep(0.002)  # polling for a state, not waiting for a moment
    finally:
        release.set()
        _join([holder, contender])
    return results["first"], results["second"], waited
