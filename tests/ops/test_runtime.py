"""The image's processes for real: the entry point's web role (gunicorn with its
config, several workers, metrics added up across them), and the image itself where a
container engine can build it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families

from regsecrets.registry_secrets.models import Secret
from tests.conftest import TEST_KEYRING
from tests.health.test_workers import _test_database_url, _wait_for
from tests.redisdb import redis_database
from tests.verification.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-token-abcdefghijklmnopqrstuvwxyz012345"
SECRET_KEY = "k" * 20 + "-not-a-real-key-" + "q" * 30


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The documented production settings, on SQLite in tmp_path, in a clean environment."""
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR")
    return {
        **{k: v for k, v in os.environ.items() if k in keep},
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "secrets.example.com",
        "REGSECRETS_ENCRYPTION_KEYS": TEST_KEYRING,
        "REGSECRETS_METRICS_TOKEN": TOKEN,
        "REGSECRETS_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # No collectstatic here: serve the files as they are.
        "REGSECRETS_MANIFEST_STATIC": "false",
        **extra,
    }


def scrape(base: str) -> dict[tuple[str, tuple], float]:
    response = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    response.raise_for_status()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def stop(process: subprocess.Popen) -> None:
    """Stop a process group started here; one that already ended is not an error (the
    test's own failure, with its log, is the one to read)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def wait_for_workers(base: str, process: subprocess.Popen, log: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while scrape(base).get(("regsecrets_workers", (("role", "web"),))) != count:
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"not {count} workers serving:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)


def wait_until_serving(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"gunicorn did not answer:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)


def test_the_web_role_serves_with_several_workers_and_adds_up_their_metrics(tmp_path):
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    stale = metrics_dir / "counter_1.db"
    stale.write_bytes(b"left by a previous run")
    unrelated = metrics_dir / "keep-me.txt"
    unrelated.write_text("not prometheus_client's")
    port = free_port()
    env = production_env(
        tmp_path,
        PORT=str(port),
        WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        REGSECRETS_LOG_FORMAT="json",
    )
    log = tmp_path / "gunicorn.log"
    process = subprocess.Popen(
        ["sh", str(ROOT / "ops" / "docker-entrypoint.sh"), "web"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, process, log)
        # The first worker answers while the second may still be loading the app: wait
        # until both say they serve (the live-worker gauge, a sum over processes).
        wait_for_workers(base, process, log, 2)
        requests = 0
        pids: set[str] = set()
        # A new connection each time; the kernel picks which worker accepts it, so go
        # on (within a bound) until each has taken some.
        while requests < 40 or (len(pids) < 2 and requests < 1000):
            response = httpx.get(f"{base}/healthz", headers={"Connection": "close"})
            assert response.status_code == 200
            assert response.json()["version"]
            requests += 1
            pids = {path.stem.split("_")[-1] for path in metrics_dir.glob("counter_*.db")}
        metrics = scrape(base)
    finally:
        stop(process)
    key = (
        "regsecrets_http_requests_total",
        (("method", "GET"), ("route", "/healthz"), ("status", "200")),
    )
    # Every request counted once, whichever worker served it, plus the probe's own
    # successful waits (at least one) before the loop.
    assert metrics[key] >= requests + 1
    assert len(pids) == 2  # both workers wrote their own files
    assert not stale.exists()  # the previous run's values were cleared at start
    assert unrelated.exists()  # and nothing else in the directory was touched
    lines = log.read_text().splitlines()
    assert lines
    assert all(line.startswith("{") for line in lines if line.strip())  # JSON only


def test_the_release_role_runs_the_deploy_check_then_migrates(tmp_path):
    env = production_env(tmp_path)
    done = subprocess.run(
        ["sh", str(ROOT / "ops" / "docker-entrypoint.sh"), "release"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
    assert "Applying accounts.0001_initial" in done.stdout
    # An insecure setting stops the release before any migration runs.
    env["DJANGO_SECRET_KEY"] = "short"
    (tmp_path / "db.sqlite3").unlink()
    done = subprocess.run(
        ["sh", str(ROOT / "ops" / "docker-entrypoint.sh"), "release"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "regsecrets.E010" in done.stderr
    assert "Applying" not in done.stdout


def container_engine() -> str | None:
    for engine in ("docker", "podman"):
        path = shutil.which(engine)
        if path and subprocess.run([path, "info"], capture_output=True).returncode == 0:
            return path
    return None


@pytest.mark.skipif(
    container_engine() is None,
    reason="no container engine answers here (docker/podman missing or no daemon), and the "
    "python base image cannot be pulled without Docker Hub; README 'Container image' says how "
    "to build and run it",
)
def test_the_image_builds_and_passes_the_deploy_check_inside(tmp_path):
    engine = container_engine()
    assert engine is not None
    tag = "regsecrets:test"
    subprocess.run([engine, "build", "-t", tag, "."], cwd=ROOT, check=True, timeout=1800)
    done = subprocess.run(
        [
            engine, "run", "--rm",
            "-e", f"DJANGO_SECRET_KEY={SECRET_KEY}",
            "-e", "DJANGO_ALLOWED_HOSTS=secrets.example.com",
            "-e", f"REGSECRETS_ENCRYPTION_KEYS={TEST_KEYRING}",
            tag, "manage", "check", "--deploy", "--fail-level", "WARNING",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    user = subprocess.run(
        [engine, "run", "--rm", tag, "id", "-u"], capture_output=True, text=True, check=True
    )
    assert user.stdout.strip() == "10001"
    no_compiler = subprocess.run([engine, "run", "--rm", tag, "sh", "-c", "command -v gcc cc"])
    assert no_compiler.returncode != 0


REDIS_METRICS_URL = "redis://127.0.0.1:6379/8"  # this test's own database; only it is flushed
postgres_only = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL: a worker process cannot share pytest's in-memory SQLite database",
)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_prefork_worker_serves_the_sum_of_its_processes_metrics(loopback_secrets, tmp_path):
    redis_client = redis_database(REDIS_METRICS_URL)
    redis_client.flushdb()
    secrets = loopback_secrets(4)
    port = free_port()
    log = tmp_path / "worker.log"
    env = production_env(
        tmp_path,
        DATABASE_URL=_test_database_url(),
        REDIS_URL=REDIS_METRICS_URL,
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"),
        REGSECRETS_WORKER_METRICS_PORT=str(port),
        WORKER_CONCURRENCY="2",
    )
    worker = subprocess.Popen(
        ["sh", str(ROOT / "ops" / "docker-entrypoint.sh"), "worker", "--without-gossip",
         "--without-mingle", "--hostname", f"metrics-test-{os.getpid()}@localhost"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        client = Celery(broker=REDIS_METRICS_URL)
        for secret in secrets:
            client.send_task("regsecrets.registry_secrets.tasks.check_secret", [str(secret.pk)])
        _wait_for(
            lambda: Secret.objects.filter(checked_at__isnull=False).count() == len(secrets),
            worker,
            log,
        )
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/metrics").status_code == 403
        metrics = scrape(base)
        pids = {path.stem.split("_")[-1] for path in (tmp_path / "prometheus").glob("counter_*")}
    finally:
        stop(worker)
        redis_client.flushdb()
    checked = ("regsecrets_health_checks_total", (("state", "checked"), ("status", "UNKNOWN")))
    refused = (
        "regsecrets_verifications_total",
        (("check", "credentials"), ("code", "FORBIDDEN_ADDRESS")),
    )
    assert metrics[checked] == len(secrets)
    assert metrics[refused] == len(secrets)
    assert pids  # written by the task processes, read by the main one
