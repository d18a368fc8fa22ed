"""Bench: the /v1 API under gunicorn (2 workers, loopback) against bare Django views.

Measures requests per second of

* GET /v1/secrets?limit=50 (of 1,000 secrets) against a bare JSON view reading the
  same 50 rows and the count (goal: at least 0.8x), and
* POST /v1/secrets/{id}/reveal against a bare view reading the same row without
  opening it (goal: at least 0.7x; reveal decrypts and writes an audit event),

in the same run, with a bounded client: a few processes of httpx threads sending a
fixed number of requests. The script creates its own PostgreSQL database
(regsecrets_apibench, or BENCH_API_DATABASE_URL), migrates and fills it, and drops
it at the end.

    .venv/bin/python bench/api.py [--requests 3000] [--concurrency 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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

SECRETS = 1000
PAGE = 50


def admin_dsn() -> tuple[str, str]:
    parts = urlsplit(BENCH_URL)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def recreate_database(drop_only: bool = False) -> None:
    import psycopg

    dsn, name = admin_dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def fill() -> tuple[str, int, list[str]]:
    """Migrate, create an owner with 1,000 GitHub secrets; return (token, org id, ids)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    from regsecrets.accounts.services import organization_create
    from regsecrets.accounts.tokens import token_create
    from regsecrets.registry_secrets.services import secret_create

    user = get_user_model().objects.create_user("bench", password="bench-password-x")
    org = organization_create(name="Bench", slug="bench", owner=user)
    ids = []
    for n in range(SECRETS):
        secret = secret_create(
            organization=org,
            name=f"secret-{n:04d}",
            provider="github_registry",
            data={"username": f"user{n}", "password": f"ghp_{os.urandom(18).hex()}"},
            actor=user,
        )
        ids.append(str(secret.pk))
    _, raw = token_create(user=user, organization=org, name="bench")
    from django.db import connections

    connections.close_all()
    return raw, org.pk, ids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--workers", "2",
            "--bind", f"127.0.0.1:{port}",
            "--log-level", "error",
            "regsecrets.wsgi:application",
        ],
        cwd=ROOT,
        env={**os.environ, **SERVER_ENV},
        start_new_session=True,
    )
    import httpx

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
    failures = 0

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
        failures = sum(pool.map(run, [share] * threads, [k * 7919 for k in range(threads)]))
    return failures


def measure(pool, method: str, base: str, paths: list[str], headers: dict, total: int, processes: int, threads: int) -> float:
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
    parser.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads in total")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best counts")
    args = parser.parse_args()
    processes = 2 if args.concurrency >= 2 else 1
    threads = max(1, args.concurrency // processes)

    recreate_database()
    server = None
    try:
        print(f"filling {SECRETS} secrets …", flush=True)
        token, org_id, ids = fill()
        port = free_port()
        server = start_gunicorn(port)
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {token}"}
        cases = {
            "list": (
                ("GET", [f"/v1/secrets?limit={PAGE}&offset={o}" for o in range(0, SECRETS, PAGE)], auth),
                ("GET", [f"/bare/{org_id}/secrets?limit={PAGE}&offset={o}" for o in range(0, SECRETS, PAGE)], {}),
                0.8,
            ),
            "reveal": (
                ("POST", [f"/v1/secrets/{i}/reveal" for i in ids], {**auth, "Content-Type": "application/json"}),
                ("POST", [f"/bare/{org_id}/secrets/{i}/reveal" for i in ids], {}),
                0.7,
            ),
        }
        ctx = multiprocessing.get_context("spawn")
        best: dict[tuple[str, str], float] = {}
        with ctx.Pool(processes) as pool:
            for api_case, bare_case, _ in cases.values():  # warm-up
                for method, paths, headers in (api_case, bare_case):
                    measure(pool, method, base, paths, headers, 200, processes, threads)
            for round_no in range(args.rounds):
                for name, (api_case, bare_case, _) in cases.items():
                    for label, (method, paths, headers) in (("api", api_case), ("bare", bare_case)):
                        rps = measure(pool, method, base, paths, headers, args.requests, processes, threads)
                        best[(name, label)] = max(best.get((name, label), 0.0), rps)
                        print(f"round {round_no + 1} {name:6} {label:4} {rps:8.0f} req/s", flush=True)
        print()
        print(f"gunicorn 2 workers, {processes}x{threads} client threads, {args.requests} requests per measurement, best of {args.rounds}")
        ok = True
        for name, (_, _, goal) in cases.items():
            api, bare = best[(name, "api")], best[(name, "bare")]
            ratio = api / bare
            ok &= ratio >= goal
            print(f"{name:6}: API {api:7.0f} req/s  bare {bare:7.0f} req/s  ratio {ratio:.2f} (goal >= {goal})")
        print("goals met" if ok else "GOALS NOT MET")
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        recreate_database(drop_only=True)


if __name__ == "__main__":
    main()
