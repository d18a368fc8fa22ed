"""secret_token: minted once per lifetime, cached sealed, refreshed before expiry, audited."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from regsecrets.audit.models import AuditEvent
from regsecrets.registries.minting import MINT_DENIED, MintingError, mint_gcp_token
from regsecrets.registry_secrets import minting
from regsecrets.registry_secrets.minting import (
    FAILURE_SECONDS,
    cached_token,
    credential_fingerprint,
    refresh_margin,
    secret_token,
)
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_create, secret_update
from tests.conftest import TEST_KEYRING
from tests.minting.conftest import ROLE_ARN, make_ecr_secret
from tests.minting.oauth_endpoint import OAuthTokenEndpoint, ServiceAccountKey
from tests.redisdb import redis_database

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/12"  # this suite's own database; only it is flushed


def minted_events(secret):
    return list(
        AuditEvent.objects.filter(action="secret.token_minted", object_id=str(secret.pk)).order_by(
            "pk"
        )
    )


@pytest.fixture
def private_allowed(settings):
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    settings.REGSECRETS_VERIFY_TIMEOUT = 5.0


@pytest.fixture
def gcp_secret(org, alice, oauth_endpoint, service_account, private_allowed) -> Secret:
    key_file = service_account.key_file(oauth_endpoint.token_uri)
    return secret_create(
        organization=org,
        name="gcr",
        provider="gcp",
        data={"url": "gcr.io", "keyfile_content": json.dumps(key_file)},
        actor=alice,
    )


@pytest.fixture
def shared_redis(settings):
    """Django's cache on the real Redis, database 12, flushed before and after."""
    client = redis_database(REDIS_URL)
    client.flushdb()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    yield client
    client.flushdb()
    client.close()


# ------------------------------------------------------------------------- caching


def test_a_gcp_secret_mints_once_then_serves_the_cached_token(gcp_secret, oauth_endpoint, alice):
    first = secret_token(secret=gcp_secret, actor=alice)
    second = secret_token(secret=gcp_secret, actor=alice)
    assert oauth_endpoint.mints == 1
    assert second.password == first.password == oauth_endpoint.issued[0].access_token
    assert first.username == "oauth2accesstoken"
    [event] = minted_events(gcp_secret)
    assert event.actor == alice
    assert event.details["success"] is True
    assert event.details["hosts"] == ["gcr.io"]
    assert event.details["expires_at"] == first.expires_at.isoformat()
    assert first.password not in json.dumps(event.details)


@pytest.mark.django_db
def test_an_ecr_secret_mints_with_its_key_and_is_cached(aws_env, org):
    secret = make_ecr_secret(org, aws_env.puller)
    token = secret_token(secret=secret)
    assert (token.username, token.host) == ("AWS", secret.hosts[0])
    assert secret_token(secret=secret).password == token.password
    assert len(minted_events(secret)) == 1


@pytest.mark.django_db
def test_an_ecr_secret_with_a_role_assumes_it(aws_env, org):
    secret = make_ecr_secret(org, aws_env.hopper, role_arn=ROLE_ARN)
    token = secret_token(secret=secret)
    assert token.lifetime <= timedelta(hours=1, minutes=1)
    assert minted_events(secret)[0].details["success"] is True


def test_the_token_is_minted_again_a_margin_before_it_expires(gcp_secret, oauth_endpoint):
    start = timezone.now()
    token = secret_token(secret=gcp_secret, now=start)
    refresh_at = token.expires_at - refresh_margin(token.lifetime)
    assert refresh_at - start == timedelta(seconds=3599 - 359.9)  # a tenth of 3599 s
    just_before = secret_token(secret=gcp_secret, now=refresh_at - timedelta(seconds=1))
    assert just_before.password == token.password
    assert oauth_endpoint.mints == 1
    fresh = secret_token(secret=gcp_secret, now=refresh_at)
    assert oauth_endpoint.mints == 2
    assert fresh.password != token.password
    assert fresh.expires_at == refresh_at + timedelta(seconds=3599)
    assert len(minted_events(gcp_secret)) == 2


@pytest.mark.django_db
def test_an_ecr_token_is_refreshed_after_its_twelve_hours_with_a_frozen_clock(aws_env, org):
    secret = make_ecr_secret(org, aws_env.puller)
    start = timezone.now()
    token = secret_token(secret=secret, now=start)
    assert token.expires_at == start + timedelta(hours=12)
    later = start + timedelta(hours=12) - refresh_margin(timedelta(hours=12))
    secret_token(secret=secret, now=later - timedelta(seconds=1))
    assert len(minted_events(secret)) == 1
    secret_token(secret=secret, now=later)
    assert len(minted_events(secret)) == 2


@pytest.mark.django_db
def test_unsaved_form_input_mints_without_cache_or_audit(
    oauth_endpoint, service_account, private_allowed
):
    fields = {"keyfile_content": json.dumps(service_account.key_file(oauth_endpoint.token_uri))}
    first = minting.mint_from_fields(provider="gcp_container_registry", fields=fields)
    second = minting.mint_from_fields(provider="gcp_container_registry", fields=fields)
    assert first.password != second.password
    assert oauth_endpoint.mints == 2
    assert not AuditEvent.objects.filter(action="secret.token_minted").exists()


def test_the_margin_is_five_minutes_or_a_tenth_but_at_most_half():
    assert refresh_margin(timedelta(hours=12)) == timedelta(hours=1, minutes=12)
    assert refresh_margin(timedelta(hours=1)) == timedelta(minutes=6)
    assert refresh_margin(timedelta(minutes=15)) == timedelta(minutes=5)
    assert refresh_margin(timedelta(minutes=4)) == timedelta(minutes=2)


def test_editing_the_secret_leaves_the_old_token_behind(
    gcp_secret, oauth_endpoint, alice, service_account
):
    before = credential_fingerprint(gcp_secret)
    first = secret_token(secret=gcp_secret)
    # A new registry host needs the key file again (stored credentials stay bound to
    # the hosts they were saved for).
    key_file = json.dumps(service_account.key_file(oauth_endpoint.token_uri))
    gcp_secret = secret_update(
        secret=gcp_secret, data={"url": "eu.gcr.io", "keyfile_content": key_file}, actor=alice
    )
    assert credential_fingerprint(gcp_secret) != before
    second = secret_token(secret=gcp_secret)
    assert oauth_endpoint.mints == 2
    assert second.password != first.password


def test_the_cached_value_is_sealed_and_opens_only_for_its_secret(
    gcp_secret, oauth_endpoint, org, alice, service_account, shared_redis
):
    token = secret_token(secret=gcp_secret)
    [key] = [k for k in shared_redis.keys("*") if not k.endswith(b":lock")]
    raw = shared_redis.get(key)
    assert token.password.encode() not in raw
    assert b"v1:test-a:" in raw  # a crypto-layer token under the active key
    # The same value under another secret's key does not open: that secret mints its own.
    other = secret_create(
        organization=org,
        name="gcr-2",
        provider="gcp",
        data={
            "url": "gcr.io",
            "keyfile_content": json.dumps(service_account.key_file(oauth_endpoint.token_uri)),
        },
        actor=alice,
    )
    other_key = (
        key.decode()
        .replace(str(gcp_secret.pk), str(other.pk))
        .replace(credential_fingerprint(gcp_secret), credential_fingerprint(other))
    )
    shared_redis.set(other_key, raw)
    assert secret_token(secret=other).password != token.password
    assert oauth_endpoint.mints == 2


def test_a_hit_is_served_from_this_process_copy_without_asking_the_cache_again(
    gcp_secret, oauth_endpoint
):
    from django.core.cache import cache

    first = secret_token(secret=gcp_secret)
    cache.clear()  # the shared cache forgets; this process's sealed copy still serves
    assert secret_token(secret=gcp_secret).password == first.password
    assert oauth_endpoint.mints == 1
    copies = " ".join(sealed for sealed, _ in minting._local._entries.values())
    assert first.password not in copies
    assert "v1:test-a:" in copies


def test_the_process_copies_are_bounded_and_drop_the_oldest_first():
    copies = minting._LocalCopies(size=2)
    now = timezone.now()
    later = now + timedelta(minutes=1)
    for key in ("a", "b", "c"):
        copies.put(key, f"sealed-{key}", later)
    assert [copies.get(key, now) for key in ("a", "b", "c")] == [None, "sealed-b", "sealed-c"]
    assert copies.get("c", later) is None  # stale at its refresh time


# ------------------------------------------------------------------------- failures


def test_a_denied_key_is_a_minting_error_audited_and_not_asked_again_at_once(
    org, alice, oauth_endpoint, private_allowed
):
    key = ServiceAccountKey.generate()  # not registered with the endpoint: as if deleted
    secret = secret_create(
        organization=org,
        name="gcr",
        provider="gcp",
        data={
            "url": "gcr.io",
            "keyfile_content": json.dumps(key.key_file(oauth_endpoint.token_uri)),
        },
        actor=alice,
    )
    start = timezone.now()
    with pytest.raises(MintingError) as first:
        secret_token(secret=secret, actor=alice, now=start)
    assert first.value.code == MINT_DENIED
    with pytest.raises(MintingError) as second:
        secret_token(secret=secret, actor=alice, now=start + timedelta(seconds=1))
    assert (second.value.code, second.value.reason) == (first.value.code, first.value.reason)
    assert len(oauth_endpoint.refused) == 1
    [event] = minted_events(secret)
    assert event.details == {
        "provider": "gcp_container_registry",
        "hosts": ["gcr.io"],
        "success": False,
        "code": MINT_DENIED,
    }
    with pytest.raises(MintingError):
        secret_token(secret=secret, now=start + timedelta(seconds=FAILURE_SECONDS))
    assert len(oauth_endpoint.refused) == 2


@pytest.mark.django_db
def test_a_secret_that_holds_its_login_mints_nothing(org, alice):
    secret = secret_create(
        organization=org,
        name="hub",
        provider="docker-hub",
        data={"username": "octocat", "password": "pw"},
        actor=alice,
    )
    assert not minting.secret_mints_tokens(secret)
    with pytest.raises(ValueError, match="mint no token"):
        secret_token(secret=secret)


def test_credentials_and_tokens_appear_in_no_message_log_audit_or_cache(
    aws_env, org, alice, oauth_endpoint, service_account, private_allowed, caplog, shared_redis
):
    """Canary: the AWS secret key, the private key and every minted token stay inside."""
    caplog.set_level("DEBUG")
    ecr = make_ecr_secret(org, aws_env.puller)
    denied_ecr = make_ecr_secret(org, aws_env.puller, secret_access_key="wrong-" + "s" * 34)
    role = make_ecr_secret(org, aws_env.hopper, role_arn=ROLE_ARN)
    key_file = service_account.key_file(oauth_endpoint.token_uri)
    gcp = secret_create(
        organization=org,
        name="gcr",
        provider="gcp",
        data={"url": "gcr.io", "keyfile_content": json.dumps(key_file)},
        actor=alice,
    )
    impostor = ServiceAccountKey.generate()
    bad_key_file = service_account.key_file(oauth_endpoint.token_uri, signed_by=impostor)
    denied_gcp = secret_create(
        organization=org,
        name="gcr-denied",
        provider="gcp",
        data={"url": "gcr.io", "keyfile_content": json.dumps(bad_key_file)},
        actor=alice,
    )
    tokens = [secret_token(secret=s, actor=alice) for s in (ecr, gcp, role)]
    errors = []
    for secret in (denied_ecr, denied_gcp):
        with pytest.raises(MintingError) as caught:
            secret_token(secret=secret, actor=alice)
        errors.append(caught.value)

    ecr_login = base64.b64encode(f"AWS:{tokens[0].password}".encode()).decode()
    secrets_ = [
        aws_env.puller.secret_access_key,
        ecr_login,  # the form in which AWS answers it
        "wrong-" + "s" * 34,
        service_account.private_pem,
        impostor.private_pem,
        *(token.password for token in tokens),
    ]
    # PEM bodies are checked line by line, so a partial quote is caught too.
    needles = [s for s in secrets_ if "PRIVATE KEY" not in s] + [
        line for s in secrets_ if "PRIVATE KEY" in s for line in s.splitlines()[1:-1]
    ]
    seen = {
        "errors": " ".join(f"{e!s} {e!r} {e.reason}" for e in errors),
        "logs": caplog.text + " ".join(str(r.args) for r in caplog.records),
        "audit": json.dumps([e.details for e in AuditEvent.objects.all()]),
        "cache": b" ".join(shared_redis.get(k) or b"" for k in shared_redis.keys("*")).decode(
            "latin-1"
        ),
        "reprs": " ".join(repr(t) + str(t) for t in tokens),
    }
    # The role's temporary credentials are in STS's answer, which boto logs at DEBUG.
    assert "SecretAccessKey" not in seen["logs"]
    assert "SessionToken" not in seen["logs"]
    for where, text in seen.items():
        for needle in needles:
            assert needle not in text, f"a credential or token leaked into {where}"
    assert len(AuditEvent.objects.filter(action="secret.token_minted")) == 5


# ---------------------------------------------------------------------- concurrency


def test_threads_that_miss_at_once_mint_once_per_secret(shared_redis, settings):
    """20 attempts, 4 threads each with its own Redis connection, all missing together."""
    attempts, workers = 20, 4
    run = uuid.uuid4().hex  # secret ids of this run only: no copy from an earlier run serves
    with OAuthTokenEndpoint(delay=0.05) as endpoint:
        key_text = json.dumps(endpoint.new_key().key_file(endpoint.token_uri))
        options = minting.MintOptions(timeout=5.0, allow_private=True)
        results: list[tuple[int, str, bool]] = []
        failures: list[BaseException] = []
        lock = threading.Lock()
        for attempt in range(attempts):
            barrier = threading.Barrier(workers)

            def ask(attempt=attempt, barrier=barrier):
                try:
                    minted = []
                    barrier.wait(timeout=10)
                    # Django gives each thread its own cache object and connection pool.
                    token = cached_token(
                        secret_id=f"{run}-{attempt}",
                        fingerprint="f",
                        mint=lambda: mint_gcp_token(key_text, allow_private=True),
                        options=options,
                        on_mint=minted.append,
                    )
                    with lock:
                        results.append((attempt, token.password, bool(minted)))
                except BaseException as exc:
                    failures.append(exc)

            threads = [threading.Thread(target=ask) for _ in range(workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
        assert failures == []
        assert endpoint.mints == attempts
        for attempt in range(attempts):
            got = [(password, minted) for number, password, minted in results if number == attempt]
            assert len(got) == workers
            assert len({password for password, _ in got}) == 1
            assert sum(minted for _, minted in got) == 1


def test_two_worker_processes_sharing_redis_mint_once_per_lifetime(shared_redis, tmp_path):
    rounds = 10
    with OAuthTokenEndpoint(delay=0.05) as endpoint:
        key_file = tmp_path / "key.json"
        key_file.write_text(json.dumps(endpoint.new_key().key_file(endpoint.token_uri)))
        go = tmp_path / "go"
        env = {
            **os.environ,
            "REDIS_URL": REDIS_URL,
            "REGSECRETS_ENCRYPTION_KEYS": TEST_KEYRING,
            "REGSECRETS_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        processes = []
        prefix = uuid.uuid4().hex  # the same secrets for both workers, new to this run
        for number in range(2):
            ready = tmp_path / f"ready-{number}"
            command = [sys.executable, str(ROOT / "tests/minting/worker.py"), str(key_file)]
            command += [str(ready), str(go), str(rounds), prefix]
            processes.append(
                (
                    ready,
                    subprocess.Popen(
                        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                    ),
                )
            )
        for ready, process in processes:
            while not ready.exists():
                assert process.poll() is None, process.stderr.read()
                time.sleep(0.01)
        go.touch()
        outputs = []
        for _, process in processes:
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            outputs.append([json.loads(line) for line in out.splitlines()])
        assert endpoint.mints == rounds
        for number in range(rounds):
            answers = [output[number] for output in outputs]
            assert answers[0]["token"] == answers[1]["token"]
            assert sum(answer["minted"] for answer in answers) == 1
