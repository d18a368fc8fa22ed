"""Bench: scheduled credential checks through a real Celery worker.

Measures, against Debian's docker-registry (htpasswd) on loopback:

1. checks per second of one worker (concurrency 8, Celery's default prefork pool as
   `make worker` runs it, or --pool threads) working through N
   due secrets, against a bare loop calling the verification client with the same
   concurrency (goal: at least 0.8x), paired round by round (the median is reported);
2. the due query's plan and time at 10,000 and 100,000 secrets (goal: flat, the
   next_check_at index used);
3. the worker's memory growth over the N checks (goal: under 50 MB), the worker and
   its pool's processes together.

The worker checks the secrets in batches of REGSECRETS_HEALTH_CHECKS_PER_TASK (set it
in the environment to compare sizes). It creates its own PostgreSQL database (regsecrets_bench_health, or
BENCH_DATABASE_URL) and uses Redis database 14 (BENCH_REDIS_URL), flushing only that.

    .venv/bin/python bench/health.py [--secrets 10000] [--rounds 3] [--due-sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import datetime
import io
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/regsecrets_bench_health"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
KEYS = "bench:" + base64.b64encode(os.urandom(32)).decode()
os.environ.update(
    {
        "DATABASE_URL": BENCH_URL,
        "DJANGO_SETTINGS_MODULE": "regsecrets.settings",
        "DJANGO_DEBUG": "0",
        "REGSECRETS_ENCRYPTION_KEYS": KEYS,
        "REGSECRETS_ALLOW_PRIVATE_REGISTRIES": "true",
        "REGSECRETS_HEALTH_HOST_CONCURRENCY": "8",
        "REGSECRETS_LOG_LEVEL": "WARNING",
        "EMAIL_URL": "dummymail://",
        # The bench process shares the worker's cache, so its in-process profile pays
        # the same Redis round trips (host backoff, host slots) as the worker does.
        "REDIS_URL": REDIS_URL,
    }
)

import django  # noqa: E402

# Settings and apps only: no database is opened until main() has created it.
django.setup()

import psycopg  # noqa: E402
import redis  # noqa: E402
from celery import Celery  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from regsecrets.accounts.models import Organization  # noqa: E402
from regsecrets.crypto.fields import seal_document  # noqa: E402
from regsecrets.registries import credential_for_key  # noqa: E402
from regsecrets.registries.client import ClientOptions, check_credentials  # noqa: E402
from regsecrets.registry_secrets import health  # noqa: E402
from regsecrets.registry_secrets.models import Secret  # noqa: E402
from tests.verification.conftest import _start_registry, _stop_registry  # noqa: E402


def _admin_url() -> str:
    parts = urlsplit(BENCH_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))


def _db_name() -> str:
    return urlsplit(BENCH_URL).path.lstrip("/")


def _recreate_database() -> None:
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_db_name()}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{_db_name()}"')


def _drop_database() -> None:
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_db_name()}" WITH (FORCE)')


def _fill(count: int, host: str, password: str, *, start: int = 0) -> None:
    """Insert ``count`` sealed secrets for alice@host, due now, in batches."""
    org, _ = Organization.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    auth = base64.b64encode(f"alice:{password}".encode()).decode()
    config = {"auths": {host: {"username": "alice", "password": password, "auth": auth}}}
    fields = {"url": host, "username": "alice", "password": password}
    now = timezone.now()
    batch: list[Secret] = []
    for n in range(start, start + count):
        secret = Secret(
            organization=org,
            name=f"s{n:06d}",
            provider="private_registry",
            hosts=[host],
            username="alice",
            next_check_at=now,
        )
        seal_document(
            secret, "document", {"provider": "private_registry", "fields": fields, "config": config}
        )
        batch.append(secret)
        if len(batch) == 2000:
            Secret.objects.bulk_create(batch)
            batch = []
    if batch:
        Secret.objects.bulk_create(batch)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bare_loop(host: str, count: int, concurrency: int) -> float:
    options = ClientOptions(timeout=10, allow_private=True, insecure_registries=frozenset({host}))
    auth = base64.b64encode(b"alice:alice-pw").decode()
    config = {"auths": {host: {"username": "alice", "password": "alice-pw", "auth": auth}}}

    def one(_: int) -> bool:
        return check_credentials(host, credential_for_key(config, host), options=options).success

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        ok = sum(pool.map(one, range(count)))
    elapsed = time.perf_counter() - started
    assert ok == count, f"bare loop: {count - ok} failed checks"
    return count / elapsed


class Worker:
    """One Celery worker (its pool chosen by --pool) checking due secrets from Redis."""

    def __init__(self, host: str, count: int, concurrency: int, pool: str) -> None:
        self.count = count
        self.redis = redis.Redis.from_url(REDIS_URL)
        self.redis.flushdb()
        env = {
            **os.environ,
            "REDIS_URL": REDIS_URL,
            "REGSECRETS_INSECURE_REGISTRIES": host,
            "REGSECRETS_HEALTH_BATCH": str(count),  # one tick queues them all (no beat here)
        }
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept for the reader after the run
            prefix="bench-worker-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "regsecrets",
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"bench-{os.getpid()}@localhost",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.client = Celery(broker=REDIS_URL)

    def rss_mb(self) -> float:
        """The resident memory of the worker and its pool's child processes."""
        pids, total = [self.process.pid], 0.0
        while pids:
            pid = pids.pop()
            total += _rss_mb(pid)
            children = Path(f"/proc/{pid}/task/{pid}/children")
            if children.exists():
                pids.extend(int(c) for c in children.read_text().split())
        return total

    def run_all(self, limit: int | None = None) -> float:
        """Checks per second for one pass over every secret (or the first ``limit``),
        all due at once."""
        now = timezone.now()
        Secret.objects.update(next_check_at=now + datetime.timedelta(days=1))
        due = list(
            Secret.objects.order_by("pk").values_list("pk", flat=True)[: limit or self.count]
        )
        count = Secret.objects.filter(pk__in=due).update(checked_at=None, next_check_at=now)
        started = time.perf_counter()
        self.client.send_task("regsecrets.registry_secrets.tasks.enqueue_due_checks")
        deadline = time.monotonic() + 1800
        # Every secret is due on a full pass; the warm-up's few are named.
        checked = Secret.objects.filter(pk__in=due) if limit else Secret.objects.all()
        while checked.filter(checked_at__isnull=True).exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker failed; see {self.log.name}")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        failing = checked.exclude(health_code="").count()
        assert failing == 0, f"{failing} checks failed; see {self.log.name}"
        return count / elapsed

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.redis.flushdb()


def paired_rounds(host: str, count: int, concurrency: int, rounds: int, pool: str) -> None:
    """Bare loop and worker pass in turn, round by round, so load shared with other
    work on the machine falls on both sides of each ratio alike."""
    worker = Worker(host, count, concurrency, pool)
    try:
        worker.run_all(limit=500)  # warm-up: imports, connections, every code path once
        rss = [worker.rss_mb()]
        ratios = []
        print(f"secrets: {count:,}, {pool} pool, concurrency {concurrency}, {rounds} paired rounds")
        for n in range(1, rounds + 1):
            bare = bare_loop(host, count, concurrency)
            rate = worker.run_all()
            rss.append(worker.rss_mb())
            ratios.append(rate / bare)
            print(
                f"round {n}: bare client loop {bare:,.0f} checks/s, celery worker "
                f"{rate:,.0f} checks/s ({rate / bare:.2f}x), worker RSS {rss[-1]:.1f} MB",
                flush=True,
            )
        if not ratios:
            return
        print(f"median ratio: {statistics.median(ratios):.2f}x (goal >= 0.8x)")
        print(
            f"worker RSS after warm-up {rss[0]:.1f} MB, after {count * rounds:,} more checks "
            f"{rss[-1]:.1f} MB (growth {rss[-1] - rss[0]:+.1f} MB; goal < 50 MB)"
        )
    finally:
        worker.stop()


def profile(host: str, count: int, sort: str = "cumulative") -> None:
    """Where a scheduled check's time goes, beside a bare client check: in this
    process, one check at a time (no thread contention), then in the worker task's
    batches; SQL queries and Redis commands counted, and the batch path's functions
    by cumulative time."""
    settings.REGSECRETS_INSECURE_REGISTRIES = host
    r = redis.Redis.from_url(REDIS_URL)
    options = ClientOptions(timeout=10, allow_private=True, insecure_registries=frozenset({host}))
    auth = base64.b64encode(b"alice:alice-pw").decode()
    config = {"auths": {host: {"username": "alice", "password": "alice-pw", "auth": auth}}}
    ids = list(Secret.objects.order_by("pk").values_list("pk", flat=True)[:count])
    Secret.objects.filter(pk__in=ids).update(checked_at=None)

    def timed(label: str, step, steps: int = count) -> tuple[float, float, pstats.Stats]:
        """``step(n)`` for n < ``steps``, which make ``count`` checks in all."""
        commands = int(r.info("stats")["total_commands_processed"])
        prof = cProfile.Profile()
        with CaptureQueriesContext(connection) as queries:
            wall, cpu = time.perf_counter(), time.process_time()
            prof.enable()
            for n in range(steps):
                step(n)
            prof.disable()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        redis_commands = int(r.info("stats")["total_commands_processed"]) - commands - 1
        print(
            f"{label}: {wall / count * 1000:.2f} ms wall, {cpu / count * 1000:.2f} ms CPU per "
            f"check; {len(queries) / count:.2f} SQL queries and {redis_commands / count:.2f} "
            "Redis commands per check"
        )
        return wall, cpu, pstats.Stats(prof)

    print(f"\nprofile: {count} checks in one process, one registry request at a time")
    timed(
        "bare client check",
        lambda n: check_credentials(host, credential_for_key(config, host), options=options),
    )
    timed("scheduled check, one per call", lambda n: health.health_check_secret(ids[n]))
    # The same secrets again (their host rows now exist, as on every later check), in
    # the worker task's batches.
    size = health.checks_per_task()
    _, _, stats = timed(
        f"scheduled check in batches of {size}",
        lambda n: health.health_check_secrets(ids[n * size : (n + 1) * size]),
        steps=-(-count // size),
    )
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    if sort == "tottime":
        stats.sort_stats("tottime").print_stats(25)
    else:
        stats.sort_stats("cumulative").print_stats(
            r"regsecrets/(registry_secrets|crypto|registries)", 18
        )
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-4000:])


def due_query(sizes: list[int], host: str) -> None:
    for size in sizes:
        have = Secret.objects.count()
        if have < size:
            _fill(size - have, host, "alice-pw", start=have)
        # A running system's schedule: everything spread over the next interval, and
        # the same 500 secrets due whatever the table size (what beat finds a minute).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE registry_secrets_secret SET next_check_at = now() + interval '1 hour' "
                "+ (random() * interval '6 hours')"
            )
            cursor.execute(
                "UPDATE registry_secrets_secret SET next_check_at = now() - interval '1 minute' "
                "WHERE id IN (SELECT id FROM registry_secrets_secret ORDER BY random() LIMIT 500)"
            )
            cursor.execute("VACUUM ANALYZE registry_secrets_secret")
        query = health.health_due_queryset(timezone.now())[:1000].values_list("pk", flat=True)
        plan = query.explain(analyze=True)
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            list(query.all())  # a fresh queryset each time: no result cache
            timings.append(time.perf_counter() - started)
        timings.sort()
        print(f"\ndue query at {size:,} secrets: median {timings[10] * 1000:.2f} ms")
        print(plan)
        if "next_check_at" not in plan or "Index" not in plan:
            raise SystemExit("the due query does not use the next_check_at index")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--pool",
        default="prefork",
        choices=["prefork", "threads"],
        help="the worker's pool: prefork is what `celery worker` (and make worker) runs",
    )
    parser.add_argument(
        "--profile", type=int, default=500, metavar="N", help="profile N checks first (0: skip)"
    )
    parser.add_argument(
        "--profile-sort",
        default="cumulative",
        choices=["cumulative", "tottime"],
        help="order of the profile's functions (tottime: where the CPU goes, every module)",
    )
    parser.add_argument("--due-sizes", default="10000,100000")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    entry = subprocess.run(
        ["htpasswd", "-Bbn", "alice", "alice-pw"], check=True, capture_output=True, text=True
    ).stdout.strip()
    (tmp / "htpasswd").write_text(entry + "\n")
    registry = _start_registry(tmp, {"htpasswd": {"realm": "bench", "path": str(tmp / "htpasswd")}})
    _recreate_database()
    try:
        call_command("migrate", verbosity=0)
        _fill(args.secrets, registry.host, "alice-pw")
        if args.profile:
            profile(registry.host, min(args.profile, args.secrets), args.profile_sort)
        if args.rounds:  # --rounds 0: the profile alone, no worker (nothing flushed)
            paired_rounds(registry.host, args.secrets, args.concurrency, args.rounds, args.pool)
        due_query([int(s) for s in args.due_sizes.split(",") if s], registry.host)
        connections.close_all()
    finally:
        _stop_registry(registry)
        _drop_database()


if __name__ == "__main__":
    main()
