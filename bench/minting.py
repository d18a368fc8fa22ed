"""Bench: short-lived tokens against static secrets, and mints across two workers.

1. Check cost. "Test credentials" against a local docker-registry (htpasswd), as
   the health checks and the detail page run it (``verification.check_stored_secret``:
   the login from ``minting.secret_login_config``, then the registry check): a
   static secret holding its login (as a Docker Hub one does) against a Google
   secret whose token is in the cache (Redis). Goal: at most 1.2x.
2. Export cost. ``service_pull_secret`` itself (read the service and its secret,
   the login, the matching auths entries, an audit row; SQLite in a temporary file
   unless BENCH_MINT_DATABASE_URL names another database) for a static Docker Hub
   secret, against a Google secret with its cached token. Goal: at most 1.2x.
3. Export core. The same without database or audit: ``secret_login_config`` (for
   the token: fingerprint, cache lookup, unseal; for the static secret: unseal of
   the stored document) and the matching auths entries, with the in-process cache
   and with Redis, plus the cache-hit path alone against nothing (a token already
   in memory). This isolates what a token adds: a cache round trip and an unseal.
4. Mints. Two worker processes sharing Redis ask for the tokens of the same
   secrets at the same moment, several times each; a local OAuth2 token endpoint
   counts the tokens it issues. Goal: one per secret (per token lifetime).

Redis database 10 is used and flushed (only it; BENCH_MINT_REDIS_URL names another). Run from the repository root:

    .venv/bin/python bench/minting.py [--checks 100] [--number 20000] [--secrets 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REDIS_URL = os.environ.get("BENCH_MINT_REDIS_URL", "redis://127.0.0.1:6379/10")
KEYRING = "bench:" + base64.b64encode(os.urandom(32)).decode()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regsecrets.settings")
os.environ["REGSECRETS_ENCRYPTION_KEYS"] = KEYRING
os.environ["REGSECRETS_ALLOW_PRIVATE_REGISTRIES"] = "true"
os.environ["REGSECRETS_LOG_LEVEL"] = "WARNING"
_DATABASE_DIR = tempfile.TemporaryDirectory()
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_MINT_DATABASE_URL", f"sqlite:///{_DATABASE_DIR.name}/bench.sqlite3"
)

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from regsecrets.accounts.services import organization_create  # noqa: E402
from regsecrets.crypto.fields import seal_document  # noqa: E402
from regsecrets.deploy.models import App, Service  # noqa: E402
from regsecrets.deploy.services import service_pull_secret  # noqa: E402
from regsecrets.registries import (  # noqa: E402
    DOCKER_HUB_AUTH_KEY,
    build_docker_config,
    credentials_for_image,
)
from regsecrets.registries.minting import mint_gcp_token  # noqa: E402
from regsecrets.registry_secrets.minting import (  # noqa: E402
    GCP_PROVIDER,
    MintOptions,
    cached_token,
    credential_fingerprint,
    secret_login_config,
    secret_token,
)
from regsecrets.registry_secrets.models import Secret  # noqa: E402
from regsecrets.registry_secrets.services import secret_create  # noqa: E402
from regsecrets.registry_secrets.verification import check_stored_secret  # noqa: E402
from tests.minting.oauth_endpoint import OAuthTokenEndpoint  # noqa: E402
from tests.verification.conftest import _start_registry, _stop_registry  # noqa: E402

IMAGE_HUB = "docker.io/octocat/app:v1"
IMAGE_GCR = "gcr.io/regsecrets-test/app:v1"


def static_hub_secret() -> Secret:
    password = "dckr_pat_" + "x" * 27
    config = build_docker_config([(DOCKER_HUB_AUTH_KEY, "octocat", password)])
    secret = Secret(name="hub", provider="docker_hub_registry", hosts=[DOCKER_HUB_AUTH_KEY])
    fields = {"username": "octocat", "password": password}
    document = {"provider": "docker_hub_registry", "fields": fields, "config": config}
    seal_document(secret, "document", document)
    return secret


def gcp_secret(key_file: dict) -> Secret:
    text = json.dumps(key_file)
    fields = {"url": "gcr.io", "keyfile_content": base64.b64encode(text.encode()).decode()}
    config = build_docker_config([("gcr.io", "_json_key", text)])
    secret = Secret(name="gcr", provider=GCP_PROVIDER, hosts=["gcr.io"])
    seal_document(
        secret, "document", {"provider": GCP_PROVIDER, "fields": fields, "config": config}
    )
    return secret


def export_core(secret: Secret, image: str) -> dict:
    """What service_pull_secret does between reading the rows and auditing."""
    config = secret_login_config(secret=secret).config
    keys = [c.server for c in credentials_for_image(config, image)]
    return {"auths": {key: config["auths"][key] for key in keys}}


def export_static(secret: Secret) -> dict:
    return export_core(secret, IMAGE_HUB)


def export_minted(secret: Secret) -> dict:
    return export_core(secret, IMAGE_GCR)


def best(functions: dict[str, Callable[[], object]], number: int) -> dict[str, float]:
    """Microseconds per call of each function: the best of five rounds, interleaved so
    that the load of a shared machine falls on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(5):
        for name, function in functions.items():
            times[name].append(timeit.timeit(function, number=number) / number * 1e6)
    return {name: min(values) for name, values in times.items()}


def cache_at(location: str | None) -> override_settings:
    if location:
        backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}
    else:
        backend = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    # Changing CACHES through override_settings resets Django's cache handlers.
    return override_settings(CACHES={"default": backend})


def export_costs(endpoint: OAuthTokenEndpoint, number: int) -> None:
    key_file = endpoint.new_key().key_file(endpoint.token_uri)
    hub, gcr = static_hub_secret(), gcp_secret(key_file)
    options = MintOptions(timeout=5.0, allow_private=True)
    print("3. export core without database or audit, microseconds per call (best of 5)")
    for name, location in (("in-process cache", None), ("Redis", REDIS_URL)):
        with cache_at(location):
            measure(name, hub, gcr, key_file, options, number)
    print(f"   token endpoint calls for all of the above: {endpoint.mints}")


def measure(name: str, hub: Secret, gcr: Secret, key_file: dict, options, number: int) -> None:
    # Fill the cache the way secret_token would, without the audit row (no database).
    token = cached_token(
        secret_id=str(gcr.pk),
        fingerprint=credential_fingerprint(gcr),
        mint=lambda: mint_gcp_token(key_file, allow_private=True),
        options=options,
    )
    assert export_minted(gcr)["auths"]["gcr.io"]["password"] == token.password
    got = best(
        {
            "static": lambda: export_static(hub),
            "minted": lambda: export_minted(gcr),
            "hit": lambda: secret_token(secret=gcr),
            "nothing": lambda: build_docker_config([("gcr.io", token.username, token.password)]),
        },
        number,
    )
    static, minted, hit, nothing = got["static"], got["minted"], got["hit"], got["nothing"]
    print(
        f"   {name:17} static Docker Hub {static:7.1f}   cached token {minted:7.1f}"
        f"   ratio {minted / static:4.2f}x (goal <= 1.2x)"
    )
    print(f"   {'':17} cache-hit path alone {hit:7.1f}   vs a token in memory {nothing:5.1f}")


def mints_across_workers(endpoint: OAuthTokenEndpoint, secrets: int, repeat: int) -> None:
    before = endpoint.mints
    with tempfile.TemporaryDirectory() as tmp:
        key_path = Path(tmp) / "key.json"
        key_path.write_text(json.dumps(endpoint.new_key().key_file(endpoint.token_uri)))
        go = Path(tmp) / "go"
        env = {**os.environ, "REDIS_URL": REDIS_URL, "PYTHONPATH": str(ROOT)}
        workers = []
        for number in range(2):
            ready = Path(tmp) / f"ready-{number}"
            command = [sys.executable, str(ROOT / "tests/minting/worker.py"), str(key_path)]
            command += [str(ready), str(go), str(secrets), "bench", str(repeat)]
            process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
            workers.append((ready, process))
        for ready, process in workers:
            while not ready.exists():
                if process.poll() is not None:
                    raise SystemExit("a worker exited early")
                time.sleep(0.01)
        started = time.monotonic()
        go.touch()
        outputs = [process.communicate(timeout=300)[0] for _, process in workers]
        elapsed = time.monotonic() - started
    answers = [json.loads(line) for output in outputs for line in output.splitlines()]
    asks = 2 * secrets * repeat
    mints = endpoint.mints - before
    minted_by = [
        sum(json.loads(line)["minted"] for line in output.splitlines()) for output in outputs
    ]
    print("4. two worker processes sharing Redis")
    print(
        f"   {asks} asks for {secrets} secrets ({repeat} each per worker) in {elapsed:.2f} s: "
        f"{mints} token requests (goal {secrets}), minted by worker A {minted_by[0]}, "
        f"B {minted_by[1]}; answers agreeing per secret: "
        f"{sum(1 for n in range(secrets) if len({a['token'] for a in answers if a['round'] == n}) == 1)}"
        f"/{secrets}"
    )


def check_costs(endpoint: OAuthTokenEndpoint, checks: int) -> None:
    key_file = endpoint.new_key().key_file(endpoint.token_uri)
    gcr = gcp_secret(key_file)
    options = MintOptions(timeout=5.0, allow_private=True)
    with tempfile.TemporaryDirectory() as tmp, cache_at(REDIS_URL):
        token = cached_token(
            secret_id=str(gcr.pk),
            fingerprint=credential_fingerprint(gcr),
            mint=lambda: mint_gcp_token(key_file, allow_private=True),
            options=options,
        )
        password = "static-" + "p" * 30
        lines = [
            subprocess.run(
                ["htpasswd", "-Bbn", user, secret], check=True, capture_output=True, text=True
            ).stdout.strip()
            for user, secret in (("octocat", password), (token.username, token.password))
        ]
        (Path(tmp) / "htpasswd").write_text("\n".join(lines) + "\n")
        registry = _start_registry(
            Path(tmp), {"htpasswd": {"realm": "bench", "path": str(Path(tmp) / "htpasswd")}}
        )
        try:
            host = registry.host
            static = Secret(name="static", provider="private_registry", hosts=[host])
            config = build_docker_config([(host, "octocat", password)])
            document = {"provider": "private_registry", "fields": {}, "config": config}
            seal_document(static, "document", document)
            # The token was minted for gcr.io; the local registry stands in for it.
            gcr.hosts = [host]

            def check(secret: Secret) -> bool:
                [result] = check_stored_secret(secret)
                return result.result.success

            pairs = (("static", static), ("minted", gcr))
            timings: dict[str, list[float]] = {
                "static": [],
                "minted": [],
                "static login": [],
                "minted login": [],
            }
            with override_settings(REGSECRETS_INSECURE_REGISTRIES=host):
                assert check(static)
                assert check(gcr)
                for round_ in range(checks):
                    # Interleaved, and in alternating order, so that load on the machine
                    # and the registry's own rhythm fall on both alike.
                    for name, secret in pairs if round_ % 2 else pairs[::-1]:
                        started = time.perf_counter()
                        check(secret)
                        timings[name].append(time.perf_counter() - started)
                        started = time.perf_counter()
                        secret_login_config(secret=secret)
                        timings[f"{name} login"].append(time.perf_counter() - started)
        finally:
            _stop_registry(registry)
    median = {name: statistics.median(values) * 1e3 for name, values in timings.items()}
    print(f"1. Test credentials against a local docker-registry, median of {checks} (Redis cache)")
    print(
        f"   static secret {median['static']:6.2f} ms   cached token {median['minted']:6.2f} ms"
        f"   ratio {median['minted'] / median['static']:4.2f}x (goal <= 1.2x)"
    )
    print(
        f"   of which the login (secret_login_config): static {median['static login']:5.3f} ms"
        f"   cached token {median['minted login']:5.3f} ms"
    )


def export_full_costs(endpoint: OAuthTokenEndpoint, number: int) -> None:
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(f"bench-{os.getpid()}")
    org = organization_create(name="Bench", slug=f"bench-{os.getpid()}", owner=user)
    hub = secret_create(
        organization=org,
        name="hub",
        provider="docker-hub",
        data={"username": "octocat", "password": "dckr_pat_" + "x" * 27},
        actor=user,
    )
    key_file = endpoint.new_key().key_file(endpoint.token_uri)
    gcr = secret_create(
        organization=org,
        name="gcr",
        provider="gcp",
        data={"url": "gcr.io", "keyfile_content": json.dumps(key_file)},
        actor=user,
    )
    app = App.objects.create(organization=org, name="web")
    ids = {
        name: Service.objects.create(
            app=app, organization=org, name=name, image=image, registry_secret=secret
        ).pk
        for name, image, secret in (("hub", IMAGE_HUB, hub), ("gcr", IMAGE_GCR, gcr))
    }
    services = Service.objects.select_related("registry_secret__organization", "organization")

    def export_static_full() -> dict:
        return service_pull_secret(service=services.get(pk=ids["hub"]), actor=user).config

    def export_minted_full() -> dict:
        pull = service_pull_secret(service=services.get(pk=ids["gcr"]), actor=user)
        assert pull.expires_at is not None
        return pull.config

    print(
        f"2. export with its database reads and audit row ({connection.vendor}), "
        "ms per call (best of 5)"
    )
    for name, location in (("in-process cache", None), ("Redis", REDIS_URL)):
        with cache_at(location):
            export_minted_full()  # mints once (audited), then every call is a cache hit
            got = best({"static": export_static_full, "minted": export_minted_full}, number)
            static, minted = got["static"] / 1e3, got["minted"] / 1e3
        print(
            f"   {name:17} static Docker Hub {static:6.3f}   cached token {minted:6.3f}"
            f"   ratio {minted / static:4.2f}x (goal <= 1.2x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--checks", type=int, default=100)
    args = parser.parse_args()
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    try:
        with OAuthTokenEndpoint(delay=0.02) as endpoint:
            check_costs(endpoint, args.checks)
            export_full_costs(endpoint, max(args.number // 20, 100))
            export_costs(endpoint, args.number)
            mints_across_workers(endpoint, args.secrets, args.repeat)
    finally:
        client.flushdb()


if __name__ == "__main__":
    main()
