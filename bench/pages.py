"""Bench: the pages at 1,000 and at 100,000 secrets and audit events.

Two organizations in one PostgreSQL database: "small" with 1,000 secrets and 1,000
audit events, "large" with 100,000 of each (VACUUM ANALYZE after filling). For every
page, Django's test client (in process: the view, its queries and the template,
no HTTP server) times a fixed number of requests for each organization, the two
alternating round by round; the figure is the median per-round ratio of the large
organization's time to the small one's (goal: at most 1.3x), with each page's query
count at both sizes (goal: equal).

Pages: the secrets list (first and a middle page), the Activity page (first and
second page), the new-service form (the secret select), the image suggestion for a
ghcr.io image and the secret search.

    .venv/bin/python bench/pages.py [--large 100000] [--small 1000] [--requests 30] [--rounds 5]
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import recreate_database  # noqa: E402

BENCH_URL = os.environ.get(
    "BENCH_PAGES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/regsecrets_pagesbench"
)
os.environ.update(
    {
        "DATABASE_URL": BENCH_URL,
        "DJANGO_SETTINGS_MODULE": "regsecrets.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": base64.b64encode(os.urandom(40)).decode(),
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "REGSECRETS_MANIFEST_STATIC": "0",
        "REGSECRETS_ENCRYPTION_KEYS": "bench:" + base64.b64encode(os.urandom(32)).decode(),
        "REGSECRETS_LOG_LEVEL": "ERROR",
    }
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30, help="requests per page per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    recreate_database(BENCH_URL)
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from bench.filling import ensure_owner, grow_events, grow_secrets, vacuum
        from regsecrets.accounts.context import SESSION_KEY
        from regsecrets.deploy.services import app_create

        call_command("migrate", verbosity=0)
        sites = {}
        for label, size in (("small", args.small), ("large", args.large)):
            started = time.perf_counter()
            user, org, _ = ensure_owner(label)
            grow_secrets(org, user, size)
            grow_events(org, user, size)
            app = app_create(organization=org, name="shop")
            client = Client()
            client.force_login(user)
            session = client.session
            session[SESSION_KEY] = org.pk
            session.save()
            first = client.get("/activity/").content.decode()
            cursor = re.search(r'before=([0-9.]+)"', first).group(1)
            middle = max(1, size // 50 // 2)
            sites[label] = (
                client,
                {
                    "secrets list": "/secrets/",
                    "secrets list, middle page": f"/secrets/?page={middle}",
                    "activity": "/activity/",
                    "activity, older page": f"/activity/?before={cursor}",
                    "service form": f"/apps/{app.pk}/services/new/",
                    "image suggestion": "/services/secret-suggestion/?image=ghcr.io/acme/app:1",
                    "secret search": "/services/secret-search/?q=secret-0001",
                },
            )
            print(f"{label}: {size} secrets and events in {time.perf_counter() - started:.0f} s", flush=True)
        vacuum()

        names = list(sites["small"][1])
        queries: dict[tuple[str, str], int] = {}
        for label, (client, urls) in sites.items():
            for name, url in urls.items():
                assert client.get(url).status_code == 200, (label, url)  # warm-up
                with CaptureQueriesContext(connection) as captured:
                    client.get(url)
                queries[(label, name)] = len(captured.captured_queries)

        def timed(label: str, name: str) -> float:
            client, urls = sites[label]
            started = time.perf_counter()
            for _ in range(args.requests):
                client.get(urls[name])
            return (time.perf_counter() - started) / args.requests

        ratios: dict[str, list[float]] = {name: [] for name in names}
        times: dict[tuple[str, str], list[float]] = {}
        for round_no in range(args.rounds):
            for name in names:
                order = ("small", "large") if round_no % 2 == 0 else ("large", "small")
                got = {label: timed(label, name) for label in order}
                ratios[name].append(got["large"] / got["small"])
                for label, seconds in got.items():
                    times.setdefault((label, name), []).append(seconds)
            print(f"round {round_no + 1} done", flush=True)

        print()
        print(
            f"{args.small} vs {args.large} secrets and audit events, {args.requests} requests per page "
            f"per round, median of {args.rounds} paired rounds (in-process test client)"
        )
        ok = True
        for name in names:
            small = statistics.median(times[("small", name)]) * 1000
            large = statistics.median(times[("large", name)]) * 1000
            ratio = statistics.median(ratios[name])
            same = queries[("small", name)] == queries[("large", name)]
            ok &= ratio <= 1.3 and same
            print(
                f"{name:26} {small:6.1f} ms -> {large:6.1f} ms  ratio {ratio:.2f} (goal <= 1.3)  "
                f"queries {queries[('small', name)]} -> {queries[('large', name)]}"
                + ("" if ratio <= 1.3 and same else "  NOT MET")
            )
        print("goals met" if ok else "GOALS NOT MET")
    finally:
        from django.db import connections

        connections.close_all()
        recreate_database(BENCH_URL, drop_only=True)


if __name__ == "__main__":
    main()
