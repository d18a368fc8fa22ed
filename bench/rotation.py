"""Bench: rotate 100,000 secrets on PostgreSQL against a plain bulk_update.

Goals: rotation runs at least half as fast (rows/s) as a plain bulk_update of
the same rows, and its memory grows by under 50 MB whatever the table size.

The script creates its own database (regsecrets_bench by default, or
BENCH_DATABASE_URL), migrates it, fills it, measures, and drops it again.

    .venv/bin/python bench/rotation.py [--rows 100000] [--batch-size 500]
"""

from __future__ import annotations

import argparse
import base64
import gc
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/regsecrets_bench"
)
os.environ["DATABASE_URL"] = BENCH_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regsecrets.settings")
os.environ["DJANGO_DEBUG"] = "0"  # no query log growing in memory

KEY_A = "bench-a:" + base64.b64encode(os.urandom(32)).decode()
KEY_B = "bench-b:" + base64.b64encode(os.urandom(32)).decode()
KEY_C = "bench-c:" + base64.b64encode(os.urandom(32)).decode()
os.environ["REGSECRETS_ENCRYPTION_KEYS"] = KEY_A

import django  # noqa: E402
import psycopg  # noqa: E402


def admin_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def create_database() -> None:
    name = database_name(BENCH_URL)
    with psycopg.connect(admin_url(BENCH_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database() -> None:
    from django.db import connections

    connections.close_all()
    with psycopg.connect(admin_url(BENCH_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database_name(BENCH_URL)}" WITH (FORCE)')


def vacuum() -> None:
    """Start each timed phase from the same table state (no dead tuples)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE registry_secrets_secret")


def rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def rss_now_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def populate(rows: int) -> None:
    from regsecrets.accounts.models import Organization
    from regsecrets.crypto.fields import seal_document
    from regsecrets.registry_secrets.models import Secret

    org = Organization.objects.create(name="Bench", slug="bench")
    chunk = 5000
    for start in range(0, rows, chunk):
        batch = []
        for n in range(start, min(rows, start + chunk)):
            password = f"ghp_{n:036d}"
            auth = base64.b64encode(f"octocat:{password}".encode()).decode()
            secret = Secret(
                organization=org,
                name=f"secret-{n:06d}",
                provider="github_registry",
                hosts=["ghcr.io"],
                username="octocat",
            )
            seal_document(
                secret,
                "document",
                {
                    "auths": {
                        "ghcr.io": {"username": "octocat", "password": password, "auth": auth}
                    },
                    "meta": {"note": "bench document for rotation", "scopes": ["read"]},
                },
            )
            batch.append(secret)
        Secret.objects.bulk_create(batch)


def plain_keyset_bulk_update(batch_size: int) -> float:
    """The same walk and write as rotation, without crypto or locks."""
    from django.db import transaction

    from regsecrets.crypto.scan import fetch_batch
    from regsecrets.registry_secrets.models import Secret

    rows = Secret._base_manager.only("pk", "document", "key_id")
    started = time.perf_counter()
    last = None
    while True:
        with transaction.atomic():
            batch = fetch_batch(rows, last, batch_size)
            if not batch:
                break
            last = batch[-1].pk
            for obj in batch:
                obj.key_id = obj.key_id  # unchanged values: the write cost alone
            Secret._base_manager.bulk_update(batch, ["document", "key_id"], batch_size=batch_size)
        if len(batch) < batch_size:
            break
    return time.perf_counter() - started


def plain_bulk_update_preloaded(batch_size: int) -> float:
    """bulk_update alone, the rows already in memory (reading not timed)."""
    from regsecrets.registry_secrets.models import Secret

    objs = list(Secret._base_manager.only("pk", "document", "key_id"))
    started = time.perf_counter()
    Secret._base_manager.bulk_update(objs, ["document", "key_id"], batch_size=batch_size)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()

    create_database()
    try:
        django.setup()
        from django.core.management import call_command
        from django.test.utils import override_settings

        from regsecrets.crypto.rotation import rotate_all
        from regsecrets.registry_secrets.models import Secret

        call_command("migrate", verbosity=0)
        t0 = time.perf_counter()
        populate(args.rows)
        print(f"populated {args.rows} rows in {time.perf_counter() - t0:.1f}s")
        gc.collect()
        vacuum()

        # Rotations and baselines alternate, and each is compared at its best,
        # so that load from elsewhere on the machine does not pick a winner.
        vacuum()
        t_keyset = [plain_keyset_bulk_update(args.batch_size)]

        # Rotation A -> B: speed, and RSS sampled after every batch.
        vacuum()
        rss_before, peak_before = rss_now_mb(), rss_peak_mb()
        sampled = [rss_before]

        def sample(label, report):
            sampled.append(rss_now_mb())

        with override_settings(REGSECRETS_ENCRYPTION_KEYS=f"{KEY_B},{KEY_A}"):
            report = rotate_all(batch_size=args.batch_size, progress=sample)
        rss_after, peak_after = rss_now_mb(), rss_peak_mb()
        assert report.rotated == args.rows, report
        assert report.failed == 0, report
        assert Secret.objects.exclude(key_id="bench-b").count() == 0
        t_rotation = [report.seconds]

        vacuum()
        t_keyset.append(plain_keyset_bulk_update(args.batch_size))

        # Rotation B -> C, timed again.
        vacuum()
        with override_settings(REGSECRETS_ENCRYPTION_KEYS=f"{KEY_C},{KEY_B}"):
            again = rotate_all(batch_size=args.batch_size)
        assert again.rotated == args.rows
        t_rotation.append(again.seconds)

        # Idempotent rerun: nothing to do, a read-only walk.
        with override_settings(REGSECRETS_ENCRYPTION_KEYS=f"{KEY_C},{KEY_B}"):
            rerun = rotate_all(batch_size=args.batch_size)
        assert rerun.rotated == 0

        # Rotation C -> A under tracemalloc (slower): the Python heap's peak.
        tracemalloc.start()
        with override_settings(REGSECRETS_ENCRYPTION_KEYS=f"{KEY_A},{KEY_C}"):
            traced = rotate_all(batch_size=args.batch_size)
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert traced.rotated == args.rows

        vacuum()
        t_pre = plain_bulk_update_preloaded(args.batch_size)

        rows = args.rows
        rotation_rate = rows / min(t_rotation)
        keyset_rate = rows / min(t_keyset)
        print(f"rows {rows}, batch size {args.batch_size}")
        print(
            "rotation: "
            + ", ".join(f"{t:.2f}s" for t in t_rotation)
            + f" -> best {rotation_rate:,.0f} rows/s"
        )
        print(
            "plain keyset walk + bulk_update (same batches, no crypto, no locks): "
            + ", ".join(f"{t:.2f}s" for t in t_keyset)
            + f" -> best {keyset_rate:,.0f} rows/s"
        )
        print(f"  rotation runs at {rotation_rate / keyset_rate:.2f}x its speed (goal >= 0.5)")
        print(
            f"plain bulk_update of preloaded rows (reading not timed): {t_pre:.2f}s, "
            f"{rows / t_pre:,.0f} rows/s -> rotation at {rotation_rate / (rows / t_pre):.2f}x"
        )
        print(f"rerun with nothing to rotate: {rerun.seconds:.2f}s")
        print(
            f"memory: RSS {rss_before:.1f} MB before, {rss_after:.1f} MB after, largest sampled "
            f"after a batch {max(sampled):.1f} MB (growth {max(sampled) - rss_before:.1f} MB, "
            f"goal < 50 MB); ru_maxrss {peak_before:.1f} -> {peak_after:.1f} MB"
        )
        print(
            f"memory: tracemalloc peak Python heap during a rotation {traced_peak / 2**20:.1f} MB"
        )
    finally:
        drop_database()
        print(f"dropped database {database_name(BENCH_URL)}")


if __name__ == "__main__":
    main()
