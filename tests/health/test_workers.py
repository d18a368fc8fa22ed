"""Real concurrency: racing checks on PostgreSQL, and a real Celery worker on Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from celery import Celery
from django.core import mail
from django.db import connection, connections

from regsecrets.registry_secrets import health
from regsecrets.registry_secrets.models import HealthAlert, HealthStatus, Secret
from tests.conftest import CANARY, TEST_KEYRING
from tests.redisdb import redis_database

REDIS_TEST_URL = "redis://127.0.0.1:6379/11"  # this suite's own database number
FAILED = health.HostOutcome("registry.example.com", False, "AUTH_ACCESS_DENIED", "rejected")

postgres_only = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL: SQLite serialises writers (no race to prove), and a worker "
    "process cannot share pytest's in-memory SQLite test database",
)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_checks_recorded_at_once_make_one_transition_and_one_alert(
    org, make_secret, registry_settings
):
    attempts, errors = 25, []
    for attempt in range(attempts):
        secret = make_secret("registry.example.com", name=f"race-{attempt}")
        health.health_record(secret=secret, outcomes=[FAILED])  # one failure: a blip
        barrier = threading.Barrier(2)

        def record(secret_id=secret.pk):
            try:
                barrier.wait(timeout=10)
                health.health_record(secret=Secret.objects.get(pk=secret_id), outcomes=[FAILED])
            except Exception as exc:  # collected: a thread's failure must fail the test
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=record) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        secret.refresh_from_db()
        assert secret.consecutive_failures == 3  # no lost update
        assert secret.health_status == HealthStatus.FAILING
    assert errors == []
    assert HealthAlert.objects.filter(kind="failing").count() == attempts
    assert len(mail.outbox) == attempts


def _redis():
    return redis_database(REDIS_TEST_URL)


@postgres_only
@pytest.mark.registry
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_checks_due_secrets_and_emails_once_without_leaking_credentials(
    org, make_secret, htpasswd_registry, registry_settings, tmp_path
):
    redis_client = _redis()
    redis_client.flushdb()
    registry_settings(htpasswd_registry.host)
    # Two secrets with a wrong password (the canary): ALERT_AFTER=2 checks each.
    secrets = [
        make_secret(htpasswd_registry.host, password=CANARY, name=f"worker-{n}") for n in range(2)
    ]
    mail_dir = tmp_path / "mail"
    log = tmp_path / "worker.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REGSECRETS_", "CELERY"))},
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": REDIS_TEST_URL,
        "REGSECRETS_ENCRYPTION_KEYS": TEST_KEYRING,
        "REGSECRETS_ALLOW_PRIVATE_REGISTRIES": "true",
        "REGSECRETS_INSECURE_REGISTRIES": htpasswd_registry.host,
        "REGSECRETS_HEALTH_ALERT_AFTER": "2",
        "EMAIL_URL": f"filemail://{mail_dir}",
        "REGSECRETS_LOG_LEVEL": "DEBUG",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "regsecrets", "worker", "--pool=threads",
         "--concurrency=4", "--loglevel=DEBUG", "--without-gossip", "--without-mingle",
         "--hostname", f"health-test-{os.getpid()}@localhost"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        client = Celery(broker=REDIS_TEST_URL)
        for round_number in (1, 2):
            Secret.objects.update(next_check_at=health.timezone.now())
            client.send_task("regsecrets.registry_secrets.tasks.enqueue_due_checks")
            _wait_for(
                lambda n=round_number: all(
                    Secret.objects.get(pk=s.pk).consecutive_failures >= n for s in secrets
                ),
                worker,
                log,
            )
        _wait_for(lambda: len(list(mail_dir.glob("*"))) >= 2, worker, log)
        _wait_for(
            lambda: HealthAlert.objects.filter(emailed_at__isnull=False).count() == 2, worker, log
        )
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    for secret in secrets:
        secret.refresh_from_db()
        assert secret.health_status == HealthStatus.FAILING
        assert secret.health_code == "AUTH_ACCESS_DENIED"
    emails = [p.read_text() for p in mail_dir.glob("*")]
    assert len(emails) == 2  # one per secret's transition, none per check
    assert all("is failing" in text for text in emails)
    # The canary is nowhere: emails, the worker's log, task messages left in Redis.
    assert all(CANARY not in text for text in emails)
    worker_log = log.read_text(errors="replace")
    # The log is the worker's, at DEBUG; beat's tick queued the two secrets as one batch.
    assert "tasks.check_secrets[" in worker_log
    assert CANARY not in worker_log
    for key in redis_client.keys("*"):
        kind = redis_client.type(key).decode()
        values = (
            [redis_client.get(key)] if kind == "string" else
            redis_client.lrange(key, 0, -1) if kind == "list" else
            list(redis_client.hgetall(key).values()) if kind == "hash" else []
        )
        assert all(CANARY.encode() not in (v or b"") for v in values), key
    redis_client.flushdb()


def _test_database_url() -> str:
    settings_dict = connection.settings_dict
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    user = settings_dict.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{settings_dict['NAME']}"


def _wait_for(condition, worker, log, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if worker.poll() is not None:
            pytest.fail(f"the worker exited:\n{log.read_text(errors='replace')[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; worker log:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)


@postgres_only
@pytest.mark.django_db
def test_the_due_query_reads_the_next_check_at_index(org, make_secret):
    for n in range(3):
        make_secret("registry.example.com", name=f"due-{n}")
    with connection.cursor() as cursor:
        # A three-row table is cheaper to scan; forbid that to see the usable plan.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = health.health_due_queryset().values_list("pk", flat=True)[:100].explain()
    assert "Index" in plan
    assert "next_check_at" in plan
    assert "Sort" not in plan.split("->")[0]  # ordered by the index, no sort step
