"""Bench: the /v1 API under gunicorn against bare Django views doing the same work.

At 1,000, 10,000 and 100,000 secrets in one organization (grown in one database,
VACUUM ANALYZE after each growth, as autovacuum would), it measures requests per
second of

* ``list``: GET /v1/secrets?limit=50 at offsets spread evenly over the whole list,
  against a bare JSON view running the same queries (the organization's count row,
  the page's first key, the keyset page) with no authentication (goal: >= 0.8x);
* ``page1``: the same at offset 0 only (the first page, what people open most);
* ``reveal``: POST /v1/secrets/{id}/reveal against a bare view that reads the same
  row, decrypts it and writes the audit row durably (autocommit), with no
  authentication (goal: >= 0.8x).

Both run under the same gunicorn (2 sync workers, PostgreSQL), driven by the same
bounded client (processes of httpx threads, a fixed number of requests). Runs are
paired round by round, the order of API and bare swapped every round, and the
ratio reported is the median of the per-round ratios. The script creates its own
database (BENCH_API_DATABASE_URL, default regsecrets_apibench) and drops it.

    .venv/bin/python bench/api.py [--sizes 1000,10000,100000] [--requests 2000] [--rounds 5]

DATABASE_PREPARED_STATEMENTS=true in its environment runs both sides with prepared
statements (see README, Production).
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import free_port, recreate_database  # noqa: E402

BENCH_URL = os.environ.get(
    "BENCH_API_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/regsecrets_apibench"
)
SERVER_ENV = {
    "DATABASE_URL": BENCH_URL,
    "DJANGO_SETTINGS_MODULE": "bench.api_site_settings",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": base64.b64encode(os.urandom(40)).decode(),
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "REGSECRETS_ENCRYPTION_KEYS": "bench:" + base64.b64encode(os.urandom(32)).decode(),
    "REGSECRETS_LOG_LEVEL": "ERROR",
    "PYTHONPATH": str(ROOT),
}
os.environ.update(SERVER_ENV)

PAGE = 50
GOALS = {"list": 0.8, "page1": 0.8, "reveal": 0.8}


def start_gunicorn(port: int) -> subprocess.Popen:
    import httpx

    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn",
            "--workers", "2",
            "--bind", f"127.0.0.1:{port}",
            "--log-level", "error",
            "regsecrets.wsgi:application",
        ],
        cwd=ROOT,
        env={**os.environ, **SERVER_ENV},
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def _worker(args: tuple[str, str, list[str], dict, int, int]) -> int:
    """One client process: ``count`` requests over ``threads`` threads; returns failures."""
    import httpx

    method, base, paths, headers, count, threads = args

    def run(share: int, offset: int) -> int:
        bad = 0
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for i in range(share):
                path = paths[(offset + i) % len(paths)]
                response = client.request(method, path, content=b"{}" if method == "POST" else None)
                if response.status_code != 200:
                    bad += 1
        return bad

    share = count // threads
    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(run, [share] * threads, [k * 7919 for k in range(threads)]))


def measure(pool, case: tuple[str, list[str], dict], base: str, total: int, processes: int, threads: int) -> float:
    method, paths, headers = case
    per_process = total // processes
    jobs = [(method, base, paths, headers, per_process, threads)] * processes
    start = time.perf_counter()
    failures = sum(pool.map(_worker, jobs))
    elapsed = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{failures} requests failed for {method} {paths[0]}")
    return per_process // threads * threads * processes / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--requests", type=int, default=2000, help="requests per measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads in total")
    parser.add_argument("--rounds", type=int, default=5, help="paired rounds; medians count")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    processes = 2 if args.concurrency >= 2 else 1
    threads = max(1, args.concurrency // processes)

    recreate_database(BENCH_URL)
    server = None
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from django.db import connections

        from bench.filling import ensure_owner, grow_secrets, vacuum
        from regsecrets.env import env_bool
        from regsecrets.registry_secrets.models import Secret

        user, org, token = ensure_owner()
        port = free_port()
        server = start_gunicorn(port)
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {token}"}
        summary: list[str] = []
        rates: dict[tuple[int, str, str], float] = {}
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(processes) as pool:
            for size in sizes:
                started = time.perf_counter()
                grow_secrets(org, user, size)
                vacuum()
                print(f"\n{size} secrets (filled in {time.perf_counter() - started:.0f} s)", flush=True)
                ids = [str(pk) for pk in Secret.objects.filter(organization=org).values_list("pk", flat=True)]
                sample = random.Random(size).sample(ids, min(1000, len(ids)))
                connections.close_all()
                offsets = sorted({(size - PAGE) * k // 19 for k in range(20)})
                cases = {
                    "list": (
                        ("GET", [f"/v1/secrets?limit={PAGE}&offset={o}" for o in offsets], auth),
                        ("GET", [f"/bare/{org.pk}/secrets?limit={PAGE}&offset={o}" for o in offsets], {}),
                    ),
                    "page1": (
                        ("GET", [f"/v1/secrets?limit={PAGE}"], auth),
                        ("GET", [f"/bare/{org.pk}/secrets?limit={PAGE}"], {}),
                    ),
                    "reveal": (
                        ("POST", [f"/v1/secrets/{i}/reveal" for i in sample], {**auth, "Content-Type": "application/json"}),
                        ("POST", [f"/bare/{org.pk}/secrets/{i}/reveal" for i in sample], {}),
                    ),
                }
                for api_case, bare_case in cases.values():  # warm-up
                    measure(pool, api_case, base, 200, processes, threads)
                    measure(pool, bare_case, base, 200, processes, threads)
                ratios: dict[str, list[float]] = {name: [] for name in cases}
                api_rates: dict[str, list[float]] = {name: [] for name in cases}
                bare_rates: dict[str, list[float]] = {name: [] for name in cases}
                for round_no in range(args.rounds):
                    for name, (api_case, bare_case) in cases.items():
                        if round_no % 2:
                            bare = measure(pool, bare_case, base, args.requests, processes, threads)
                            api = measure(pool, api_case, base, args.requests, processes, threads)
                        else:
                            api = measure(pool, api_case, base, args.requests, processes, threads)
                            bare = measure(pool, bare_case, base, args.requests, processes, threads)
                        ratios[name].append(api / bare)
                        api_rates[name].append(api)
                        bare_rates[name].append(bare)
                        print(f"  round {round_no + 1} {name:6} API {api:6.0f}  bare {bare:6.0f} req/s  ratio {api / bare:.2f}", flush=True)
                for name in cases:
                    api, bare = statistics.median(api_rates[name]), statistics.median(bare_rates[name])
                    ratio = statistics.median(ratios[name])
                    rates[(size, name, "api")] = api
                    line = (
                        f"{size:>7} {name:6}: API {api:6.0f} req/s  bare {bare:6.0f} req/s  "
                        f"median ratio {ratio:.2f} (goal >= {GOALS[name]})"
                        + ("" if ratio >= GOALS[name] else "  NOT MET")
                    )
                    summary.append(line)
                    print(line, flush=True)
        print()
        prepared = "on" if env_bool("DATABASE_PREPARED_STATEMENTS") else "off"
        print(f"gunicorn 2 sync workers, {processes}x{threads} client threads, {args.requests} requests per measurement, median of {args.rounds} paired rounds, prepared statements {prepared} (DATABASE_PREPARED_STATEMENTS)")
        for line in summary:
            print(line)
        first = sizes[0]
        for size in sizes[1:]:
            for name in ("list", "page1", "reveal"):
                slower = rates[(first, name, "api")] / rates[(size, name, "api")]
                print(f"API {name:6} at {size} costs {slower:.2f}x its time at {first} (goal <= 1.3)")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        recreate_database(BENCH_URL, drop_only=True)


if __name__ == "__main__":
    main()
