"""Bench: rotate 100,000 secrets on PostgreSQL against a plain UPDATE loop doing
the same AES-GCM work.

The baseline walks the table in primary-key batches too, and for every row opens
the old token and seals it under the new key (the same crypto-layer calls, the
same associated data) and writes it with a plain ``UPDATE ... WHERE pk = %s``
(executemany, one transaction per batch): what rotation does minus its row locks,
its compare-and-set, its KID bookkeeping and its report. Goal: rotation at least
0.5x its rows/s.

Every run (rotation or baseline) is a fresh Python process, so its memory is
measured from a clean start: RSS after Django's setup, sampled after every batch,
and the process's peak (ru_maxrss). Goal: growth under 50 MB, whatever the table
size. Runs alternate rotation / baseline, round by round (the keys rotate A -> B
-> C -> ...), and the ratio is the median of the per-round ratios; the machine is
shared, so read medians.

The script creates its own database (regsecrets_bench by default, or
BENCH_DATABASE_URL), migrates it, fills it, measures, and drops it again.

    .venv/bin/python bench/rotation.py [--rows 100000] [--batch-size 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BENCH_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/regsecrets_bench"
)
os.environ["DATABASE_URL"] = BENCH_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regsecrets.settings")
os.environ["DJANGO_DEBUG"] = "0"  # no query log growing in memory

# The ring a process starts with: REGSECRETS_ENCRYPTION_KEYS from the parent for
# the children (new key first), a fresh one for the parent.
os.environ.setdefault(
    "REGSECRETS_ENCRYPTION_KEYS", "bench-0:" + base64.b64encode(os.urandom(32)).decode()
)

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


def plain_update_loop(batch_size: int, progress) -> int:
    """The baseline: the same walk and the same AES-GCM work, a plain UPDATE per row."""
    from django.db import connection, transaction

    from regsecrets.crypto.aead import token_kid
    from regsecrets.crypto.fields import reseal_token
    from regsecrets.registry_secrets.models import Secret

    field = Secret._meta.get_field("document")
    sql = "UPDATE registry_secrets_secret SET document = %s, key_id = %s WHERE id = %s"
    last, done = None, 0
    while True:
        with transaction.atomic():
            rows = Secret._base_manager.order_by("pk")
            if last is not None:
                rows = rows.filter(pk__gt=last)
            batch = list(rows.values_list("pk", "document")[:batch_size])
            if not batch:
                break
            params = []
            for pk, token in batch:
                new = reseal_token(field, pk, token)
                params.append((new, token_kid(new), pk))
            with connection.cursor() as cursor:
                cursor.executemany(sql, params)
        done += len(batch)
        last = batch[-1][0]
        progress()
        if len(batch) < batch_size:
            break
    return done


def child(kind: str, batch_size: int) -> None:
    """One measured run in this fresh process; prints a JSON line."""
    django.setup()
    from regsecrets.crypto.rotation import rotate_all

    gc.collect()
    rss_before = rss_now_mb()
    sampled = [rss_before]

    def sample(*_args) -> None:
        sampled.append(rss_now_mb())

    started = time.perf_counter()
    if kind == "rotation":
        report = rotate_all(batch_size=batch_size, progress=sample)
        assert report.failed == 0, report
        rows = report.rotated
    else:
        rows = plain_update_loop(batch_size, sample)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "rss_before": rss_before,
                "rss_max_sampled": max(sampled),
                "rss_after": rss_now_mb(),
                "ru_maxrss": rss_peak_mb(),
            }
        )
    )


def run_child(kind: str, ring: str, batch_size: int) -> dict:
    env = {**os.environ, "REGSECRETS_ENCRYPTION_KEYS": ring}
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--batch-size", str(batch_size)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=["rotation", "plain"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.batch_size)
        return

    keys = [f"bench-{n}:" + base64.b64encode(os.urandom(32)).decode() for n in range(2 * args.rounds + 1)]
    os.environ["REGSECRETS_ENCRYPTION_KEYS"] = keys[0]
    create_database()
    try:
        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        t0 = time.perf_counter()
        populate(args.rows)
        print(f"populated {args.rows} rows in {time.perf_counter() - t0:.1f}s", flush=True)
        connections.close_all()

        ratios, results = [], []
        step = 0
        for round_no in range(args.rounds):
            pair = {}
            order = ("rotation", "plain") if round_no % 2 == 0 else ("plain", "rotation")
            for kind in order:
                vacuum()
                connections.close_all()
                ring = f"{keys[step + 1]},{keys[step]}"  # new key first, the old one after
                pair[kind] = run_child(kind, ring, args.batch_size)
                assert pair[kind]["rows"] == args.rows, pair[kind]
                step += 1
            rot, plain = pair["rotation"], pair["plain"]
            ratio = plain["seconds"] / rot["seconds"]
            ratios.append(ratio)
            results.append(pair)
            print(
                f"round {round_no + 1}: rotation {args.rows / rot['seconds']:,.0f} rows/s, "
                f"plain UPDATE loop {args.rows / plain['seconds']:,.0f} rows/s, ratio {ratio:.2f}",
                flush=True,
            )
        print()
        print(f"rows {args.rows}, batch size {args.batch_size}, {args.rounds} paired rounds")
        print(f"rotation at {statistics.median(ratios):.2f}x the plain UPDATE loop's rows/s (median; goal >= 0.5)")
        for kind in ("rotation", "plain"):
            growth = [r[kind]["rss_max_sampled"] - r[kind]["rss_before"] for r in results]
            peak = [r[kind]["ru_maxrss"] for r in results]
            before = [r[kind]["rss_before"] for r in results]
            print(
                f"memory, {kind:8} (fresh process): RSS after setup {statistics.median(before):.1f} MB, "
                f"growth over the run {max(growth):.1f} MB at most (goal < 50 MB), "
                f"peak RSS {max(peak):.1f} MB"
            )
    finally:
        drop_database()
        print(f"dropped database {database_name(BENCH_URL)}")


if __name__ == "__main__":
    main()
