"""Bench: no collapse under load, with people testing credentials against a dead registry.

A Locust scenario (headless, as a library: ``locust.env.Environment`` and a local
runner, no web UI) against gunicorn started with the production settings the README
documents (``-c python:regsecrets.gunicorn_conf``: gthread workers), PostgreSQL, and
a "registry" on loopback that accepts TCP connections and never answers (reachable
through REGSECRETS_ALLOW_PRIVATE_REGISTRIES / REGSECRETS_INSECURE_REGISTRIES). Users:

* ``page``: signs in (and now and then signs out and in again), opens the secrets
  list (first and deeper pages), secret detail pages, Activity, app detail, and the
  new-service form, typing in it: a few secret searches and an image suggestion, as
  ``service-form.js`` sends them;
* ``api``: a personal API token; ``GET /v1/secrets`` at spread offsets and
  ``GET /v1/secrets/{id}``;
* ``slow``: opens a secret whose registry never answers and presses "Test
  credentials" (POST, then the detail page with the result), a few seconds apart,
  each with an account of its own (the per-user verification rate limit applies).

Page and API users wait no time between requests (closed loop: the server is kept
saturated), so throughput measures capacity. Runs, each ``--duration`` seconds after
a ``--warmup`` (sign-ins, connections) whose requests are not counted:

* ``low``: 8 users (5 page, 2 API, 1 slow);
* ``high``: 100 users (60 page, 30 API, 10 slow);
* ``high-noslow``: the same 90 page and API users, no slow user.

Goals: requests per second of ``high`` >= 0.9x ``low`` with 0 errors anywhere, and
the page users' p95 in ``high`` <= 2x their p95 in ``high-noslow``. The three runs
form a round, their order rotating every round; the figures are medians of the
per-round ratios. An error is any answer other than the one expected (a 5xx, a
timeout, a 429, a wrong page); a "Test credentials" may answer with the registry's
TIMEOUT or with "busy, try again in a moment", both counted (not errors). Each
Locust run is a child process (gevent patches the process it is imported in). The
script creates its own database (BENCH_LOAD_DATABASE_URL, default
regsecrets_loadbench) and drops it.

    .venv/bin/python bench/load.py [--rounds 3] [--duration 40] [--warmup 8] [--secrets 10000]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import free_port, recreate_database  # noqa: E402

BENCH_URL = os.environ.get(
    "BENCH_LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/regsecrets_loadbench"
)
PASSWORD = "load-bench-password-x"
RUNS = {
    "low": {"page": 5, "api": 2, "slow": 1},
    "high": {"page": 60, "api": 30, "slow": 10},
    "high-noslow": {"page": 60, "api": 30, "slow": 0},
}
SIGN_IN_EVERY = 100
# What regsecrets.registry_secrets.errors.BUSY_MESSAGE says (HTML-escaped alike).
BUSY = "Registry checks are busy on this server right now"
GOAL_THROUGHPUT = 0.9
GOAL_P95 = 2.0


def server_env(silent_host: str) -> dict[str, str]:
    return {
        "DATABASE_URL": BENCH_URL,
        "DJANGO_SETTINGS_MODULE": "regsecrets.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": base64.b64encode(os.urandom(40)).decode(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on loopback: no TLS proxy in front of this gunicorn.
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_COOKIES": "0",
        "REGSECRETS_MANIFEST_STATIC": "0",
        "REGSECRETS_ENCRYPTION_KEYS": "bench:" + base64.b64encode(os.urandom(32)).decode(),
        "REGSECRETS_LOG_LEVEL": "ERROR",
        "PYTHONWARNINGS": "ignore::UserWarning",
        "REGSECRETS_ALLOW_PRIVATE_REGISTRIES": "true",
        "REGSECRETS_INSECURE_REGISTRIES": silent_host,
        "PYTHONPATH": str(ROOT),
    }


# --------------------------------------------------------------------- the setup


class SilentRegistry:
    """Accepts TCP connections on loopback and never answers (nor closes first)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.host = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self._held.append(conn)
                # Drop the ones the client has closed (a read of b"" would say so;
                # keeping them all is fine for a bench: a few hundred sockets).

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for conn in self._held:
                conn.close()


def fill(silent_host: str, secrets: int, accounts: int) -> dict:
    """The organization, its secrets and events, an app with a service, one account per
    Locust user, and a secret whose registry is the silent one."""
    from django.contrib.auth import get_user_model

    from bench.filling import ensure_owner, grow_events, grow_secrets, vacuum
    from regsecrets.accounts.services import membership_add
    from regsecrets.deploy.services import app_create, service_create
    from regsecrets.registry_secrets import services
    from regsecrets.registry_secrets.models import Secret

    user, org, token = ensure_owner("load")
    grow_secrets(org, user, secrets)
    grow_events(org, user, secrets)
    slow = services.secret_create(
        organization=org,
        name="dead-registry",
        provider="private_registry",
        data={"url": silent_host, "username": "robot", "password": "robot-password-x"},
        actor=user,
    )
    ghcr = Secret.objects.get(organization=org, name="secret-000000")  # a GitHub secret: ghcr.io
    app = app_create(organization=org, name="load-app", actor=user)
    service_create(app=app, name="web", image="ghcr.io/load/web:1", registry_secret=ghcr, actor=user)
    user_model = get_user_model()
    # One hasher run per account: the default (slow) hasher is what sign-in pays.
    hashed = user_model(username="x")
    hashed.set_password(PASSWORD)
    people = user_model.objects.bulk_create(
        [user_model(username=f"load-{n:03d}", password=hashed.password) for n in range(accounts)]
    )
    for person in people:
        membership_add(organization=org, user=person, role="member", actor=user)
    names = list(Secret.objects.filter(organization=org).order_by("?").values_list("pk", flat=True)[:500])
    vacuum()
    return {
        "token": token,
        "secret_ids": [str(pk) for pk in names],
        "slow_secret_id": str(slow.pk),
        "app_id": str(app.pk),
        "count": secrets,
    }


def gunicorn_command(port: int) -> list[str]:
    """The README's production command, bound to loopback."""
    return [
        sys.executable, "-m", "gunicorn", "regsecrets.wsgi",
        "-c", "python:regsecrets.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}",
    ]


def start_gunicorn(port: int, env: dict[str, str]) -> subprocess.Popen:
    import httpx

    process = subprocess.Popen(
        gunicorn_command(port), cwd=ROOT, env={**os.environ, **env}, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit("gunicorn did not start")


def run_locust(spec: dict) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--locust", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=spec["warmup"] + spec["duration"] + 120,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"the Locust run failed ({result.returncode})")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three runs; medians count")
    parser.add_argument("--duration", type=float, default=40, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=8, help="uncounted seconds before each run")
    parser.add_argument("--secrets", type=int, default=10000, help="secrets (and audit events) in the organization")
    parser.add_argument("--slow", type=int, default=10, help="slow-registry users among the 100")
    args = parser.parse_args()
    # 100 users: 30 API, the slow ones, page users for the rest; the same without slow.
    RUNS["high"] = {"page": 70 - args.slow, "api": 30, "slow": args.slow}
    RUNS["high-noslow"] = {"page": 70 - args.slow, "api": 30, "slow": 0}

    silent = SilentRegistry()
    env = server_env(silent.host)
    os.environ.update(env)
    recreate_database(BENCH_URL)
    server = None
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from django.db import connections

        started = time.perf_counter()
        data = fill(silent.host, args.secrets, accounts=max(sum(r.values()) for r in RUNS.values()))
        connections.close_all()
        print(f"filled {args.secrets} secrets and events in {time.perf_counter() - started:.0f} s", flush=True)
        port = free_port()
        server = start_gunicorn(port, env)
        print("gunicorn: " + " ".join(gunicorn_command(port)[2:]), flush=True)
        results: dict[str, list[dict]] = {name: [] for name in RUNS}
        ratios_tp: list[float] = []
        ratios_p95: list[float] = []
        names = list(RUNS)
        for round_no in range(args.rounds):
            order = names[round_no % 3:] + names[:round_no % 3]
            got = {}
            for name in order:
                spec = {
                    **data,
                    "base": f"http://127.0.0.1:{port}",
                    "users": RUNS[name],
                    "duration": args.duration,
                    "warmup": args.warmup,
                    "password": PASSWORD,
                }
                got[name] = run_locust(spec)
                results[name].append(got[name])
                print(f"  round {round_no + 1} {name:11} {describe(got[name])}", flush=True)
            tp = got["high"]["rps"] / got["low"]["rps"]
            p95 = got["high"]["page_p95"] / got["high-noslow"]["page_p95"]
            ratios_tp.append(tp)
            ratios_p95.append(p95)
            print(f"  round {round_no + 1}: throughput 100/8 {tp:.2f}, page p95 with/without slow users {p95:.2f}", flush=True)
        errors = sum(r["errors"] for runs in results.values() for r in runs)
        print()
        print(
            f"gunicorn -c python:regsecrets.gunicorn_conf (gthread, "
            f"WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', '4')} x "
            f"GUNICORN_THREADS={os.environ.get('GUNICORN_THREADS', '8')}, "
            f"REGSECRETS_VERIFY_MAX_REQUESTS={os.environ.get('REGSECRETS_VERIFY_MAX_REQUESTS', '4')}); "
            f"{RUNS['high']['slow']} slow users; {args.secrets} secrets; {args.duration:g} s per run "
            f"after {args.warmup:g} s warm-up; median of {args.rounds} rounds"
        )
        for name in names:
            print(f"{name:11} " + describe_median(results[name]))
        tp, p95 = statistics.median(ratios_tp), statistics.median(ratios_p95)
        print(
            f"throughput at 100 users / at 8: {tp:.2f} (goal >= {GOAL_THROUGHPUT})"
            + ("" if tp >= GOAL_THROUGHPUT else "  NOT MET")
        )
        print(
            f"page p95 with slow users / without: {p95:.2f} (goal <= {GOAL_P95})"
            + ("" if p95 <= GOAL_P95 else "  NOT MET")
        )
        print(f"errors: {errors} (goal 0)" + ("" if errors == 0 else "  NOT MET"))
        for name in names:
            samples = [s for r in results[name] for s in r["error_samples"]]
            if samples:
                print(f"  {name} errors, e.g.: " + "; ".join(sorted(set(samples))[:5]))
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        silent.close()
        from django.db import connections

        connections.close_all()
        recreate_database(BENCH_URL, drop_only=True)


def describe(r: dict) -> str:
    return (
        f"{r['rps']:6.1f} req/s  page p95 {r['page_p95']:6.0f} ms  api p95 {r['api_p95']:5.0f} ms  "
        f"checks {r['checks']} (busy {r['busy']}, max {r['check_max']:.0f} ms)  errors {r['errors']}"
    )


def describe_median(runs: list[dict]) -> str:
    keys = ("rps", "page_p95", "api_p95", "checks", "busy", "check_max", "errors")
    return describe({k: statistics.median(r[k] for r in runs) for k in keys})


# --------------------------------------------------------------- the Locust child


def locust_child(spec: dict) -> None:
    """One Locust run (this process only): prints its figures as one JSON line."""
    import itertools
    import random
    import re

    import gevent
    from locust import FastHttpUser, between, constant, events, task
    from locust.env import Environment

    csrf_re = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    accounts = itertools.count()
    secret_ids: list[str] = spec["secret_ids"]
    count: int = spec["count"]
    measuring = {"on": False, "start": 0.0}
    times: dict[str, list[float]] = {"page": [], "api": [], "slow": [], "signin": []}
    tally = {"requests": 0, "errors": 0, "checks": 0, "busy": 0}
    error_samples: list[str] = []

    @events.request.add_listener
    def _record(request_type, name, response_time, response_length, exception=None, **kw):
        if not measuring["on"]:
            return
        tally["requests"] += 1
        times[name.split(":", 1)[0]].append(response_time)
        if exception is not None:
            tally["errors"] += 1
            if len(error_samples) < 20:
                error_samples.append(f"{name}: {str(exception)[:120]}")

    def expect(response, status: int, needle: str | None = None) -> None:
        if response.status_code != status:
            response.failure(f"HTTP {response.status_code}, expected {status}")
        elif needle is not None and needle not in (response.text or ""):
            response.failure(f"no {needle!r} in the answer")
        else:
            response.success()

    class Person(FastHttpUser):
        abstract = True
        network_timeout = 60.0
        connection_timeout = 60.0

        def sign_in(self) -> None:
            with self.client.get("/accounts/login/", name="signin:form", catch_response=True) as r:
                expect(r, 200)
                token = csrf_re.search(r.text or "")
            with self.client.post(
                "/accounts/login/",
                data={
                    "username": self.username,
                    "password": spec["password"],
                    "csrfmiddlewaretoken": token.group(1) if token else "",
                },
                headers={"Referer": spec["base"] + "/accounts/login/"},
                name="signin:post",
                allow_redirects=False,
                catch_response=True,
            ) as r:
                expect(r, 302)

        def on_start(self) -> None:
            self.username = f"load-{next(accounts):03d}"
            self.sign_in()
            signed_in[0] += 1

        def csrf(self, html: str) -> str:
            found = csrf_re.search(html or "")
            return found.group(1) if found else ""

    class PageUser(Person):
        wait_time = constant(0)
        tasks_done = 0

        def maybe_sign_in_again(self) -> None:
            """One task in SIGN_IN_EVERY first signs out and in again (the password hasher
            is expensive by design; people do not sign in between every click)."""
            self.tasks_done += 1
            if self.tasks_done % SIGN_IN_EVERY == 0:
                self.sign_in_again()

        @task(4)
        def secrets_list(self) -> None:
            self.maybe_sign_in_again()
            with self.client.get("/secrets/", name="page:list", catch_response=True) as r:
                expect(r, 200, "secret-0")

        @task(2)
        def secrets_list_deep(self) -> None:
            self.maybe_sign_in_again()
            page = random.randint(2, max(2, count // 50))
            with self.client.get(f"/secrets/?page={page}", name="page:list-deep", catch_response=True) as r:
                expect(r, 200)

        @task(6)
        def detail(self) -> None:
            self.maybe_sign_in_again()
            with self.client.get(f"/secrets/{random.choice(secret_ids)}/", name="page:detail", catch_response=True) as r:
                expect(r, 200)

        @task(2)
        def activity(self) -> None:
            self.maybe_sign_in_again()
            with self.client.get("/activity/", name="page:activity", catch_response=True) as r:
                expect(r, 200)

        @task(1)
        def app_detail(self) -> None:
            self.maybe_sign_in_again()
            with self.client.get(f"/apps/{spec['app_id']}/", name="page:app", catch_response=True) as r:
                expect(r, 200, "load-app")

        @task(2)
        def service_form_typing(self) -> None:
            self.maybe_sign_in_again()
            with self.client.get(f"/apps/{spec['app_id']}/services/new/", name="page:service-form", catch_response=True) as r:
                expect(r, 200)
            for typed in ("sec", "secret-00", "secret-001"):
                with self.client.get(f"/services/secret-search/?q={typed}", name="page:secret-search", catch_response=True) as r:
                    expect(r, 200)
            with self.client.get(
                "/services/secret-suggestion/?image=ghcr.io/load/web:2", name="page:suggestion", catch_response=True
            ) as r:
                expect(r, 200)

        def sign_in_again(self) -> None:
            page = self.client.get("/secrets/", name="page:list")
            with self.client.post(
                "/accounts/logout/",
                data={"csrfmiddlewaretoken": self.csrf(page.text)},
                headers={"Referer": spec["base"] + "/secrets/"},
                name="signin:logout",
                allow_redirects=False,
                catch_response=True,
            ) as r:
                expect(r, 302)
            self.sign_in()

    class ApiUser(FastHttpUser):
        wait_time = constant(0)
        network_timeout = 60.0
        connection_timeout = 60.0

        def on_start(self) -> None:
            self.headers = {"Authorization": f"Bearer {spec['token']}"}

        @task(2)
        def api_list(self) -> None:
            offset = random.randint(0, max(0, count - 50))
            with self.client.get(
                f"/v1/secrets?limit=50&offset={offset}", headers=self.headers, name="api:list", catch_response=True
            ) as r:
                expect(r, 200, '"count"')

        @task(3)
        def api_get(self) -> None:
            with self.client.get(
                f"/v1/secrets/{random.choice(secret_ids)}", headers=self.headers, name="api:get", catch_response=True
            ) as r:
                expect(r, 200, '"secret"')

    class SlowUser(Person):
        wait_time = between(2, 4)

        @task
        def test_credentials(self) -> None:
            detail = f"/secrets/{spec['slow_secret_id']}/"
            page = self.client.get(detail, name="slow:detail")
            started = time.monotonic()
            with self.client.post(
                detail + "test/",
                data={"csrfmiddlewaretoken": self.csrf(page.text)},
                headers={"Referer": spec["base"] + detail},
                name="slow:test",
                allow_redirects=False,
                catch_response=True,
            ) as r:
                # The check ran (its result is on the detail page it redirects to), or
                # the server was busy with other checks and said so at once.
                busy = r.status_code == 429 and BUSY in (r.text or "")
                if r.status_code == 302 or busy:
                    r.success()
                else:
                    r.failure(f"HTTP {r.status_code}, expected 302 or a busy answer")
                    return
            elapsed = (time.monotonic() - started) * 1000
            if measuring["on"]:
                tally["checks"] += 1
                tally["busy"] += busy
                check_max[0] = max(check_max[0], elapsed)
            if busy:
                return
            with self.client.get(detail, name="slow:result", catch_response=True) as r:
                expect(r, 200, "TIMEOUT")

    check_max = [0.0]
    signed_in = [0]
    classes = []
    for cls, key in ((PageUser, "page"), (ApiUser, "api"), (SlowUser, "slow")):
        if spec["users"][key]:
            classes.append(type(cls.__name__ + "Fixed", (cls,), {"fixed_count": spec["users"][key]}))
    env = Environment(user_classes=classes, host=spec["base"], events=events)
    runner = env.create_local_runner()
    total = sum(spec["users"].values())
    runner.start(total, spawn_rate=total)
    people = spec["users"]["page"] + spec["users"]["slow"]
    limit = time.monotonic() + 300
    while signed_in[0] < people and time.monotonic() < limit:  # every sign-in done first
        gevent.sleep(0.5)
    gevent.sleep(spec["warmup"])
    measuring.update(on=True, start=time.monotonic())
    gevent.sleep(spec["duration"])
    measuring["on"] = False
    elapsed = time.monotonic() - measuring["start"]
    runner.quit()

    def p95(values: list[float]) -> float:
        if not values:
            return 0.0
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]

    print(
        json.dumps(
            {
                "rps": tally["requests"] / elapsed,
                "page_p95": p95(times["page"]),
                "api_p95": p95(times["api"]),
                "errors": tally["errors"],
                "checks": tally["checks"],
                "busy": tally["busy"],
                "check_max": check_max[0],
                "error_samples": error_samples,
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--locust":
        locust_child(json.loads(sys.argv[2]))
    else:
        main()
