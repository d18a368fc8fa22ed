"""A scheduled check is polite: few requests per host, and a throttled host rests."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from regsecrets.registry_secrets import health, hostlimits
from regsecrets.registry_secrets.models import HealthStatus, Secret, SecretHostHealth
from tests.verification.conftest import ScriptedServer

pytestmark = pytest.mark.django_db


class CountingProxy:
    """Forwards every request to the real registry and counts them."""

    def __init__(self, upstream: str) -> None:
        self.count = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy.count += 1
                headers = {k: v for k, v in self.headers.items() if k.lower() == "authorization"}
                reply = httpx.get(f"http://{upstream}{self.path}", headers=headers, timeout=5)
                self.send_response(reply.status_code)
                for key in ("WWW-Authenticate", "Content-Type", "Docker-Distribution-Api-Version"):
                    if key in reply.headers:
                        self.send_header(key, reply.headers[key])
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.registry
def test_a_basic_registry_check_takes_at_most_three_requests(
    htpasswd_registry, registry_settings, make_secret
):
    proxy = CountingProxy(htpasswd_registry.host)
    try:
        registry_settings(proxy.host)
        secret = make_secret(proxy.host)
        outcome = health.health_check_secret(secret.pk)
    finally:
        proxy.close()
    assert outcome.status == HealthStatus.HEALTHY
    assert 1 <= proxy.count <= 3


@pytest.mark.registry
def test_a_bearer_registry_check_takes_at_most_three_requests_in_all(
    token_registry, registry_settings, make_secret
):
    tokens = token_registry.extra["tokens"]
    proxy = CountingProxy(token_registry.host)
    try:
        registry_settings(proxy.host, f"127.0.0.1:{tokens.port}")
        secret = make_secret(proxy.host)
        before = len(tokens.requests)
        outcome = health.health_check_secret(secret.pk)
    finally:
        proxy.close()
    assert outcome.status == HealthStatus.HEALTHY
    # ping, one token request, the ping with the token
    assert (proxy.count, len(tokens.requests) - before) == (2, 1)


def test_a_429_sets_the_host_backoff_and_defers_without_recording_a_failure(
    registry_settings, make_secret
):
    server = ScriptedServer(lambda handler: (429, {"Retry-After": "120"}, b""))
    try:
        registry_settings(server.host)
        secret = make_secret(server.host)
        first = health.health_check_secret(secret.pk)
        second = health.health_check_secret(secret.pk)  # the host rests: not contacted
    finally:
        server.close()
    assert (first.state, second.state) == ("deferred", "deferred")
    assert len(server.requests) == 1
    secret.refresh_from_db()
    assert secret.health_status == HealthStatus.UNKNOWN
    assert secret.consecutive_failures == 0
    resting = hostlimits.backoff_until([server.host])
    assert resting is not None
    assert secret.next_check_at.timestamp() >= resting


def test_a_429_from_the_token_server_is_a_throttle_too(registry_settings, make_secret):
    """Recognised by its status code wherever it comes from, not by a reason's words."""

    def respond(handler):
        if handler.path.startswith("/token"):
            return 429, {}, b""  # no Retry-After: our own backoff applies
        realm = f"http://{server.host}/token"
        return 401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="registry"'}, b""

    server = ScriptedServer(respond)
    try:
        registry_settings(server.host)
        secret = make_secret(server.host)
        outcome = health.health_check_secret(secret.pk)
    finally:
        server.close()
    assert outcome.state == "deferred"
    assert [r["path"].split("?")[0] for r in server.requests] == ["/v2/", "/token"]
    secret.refresh_from_db()
    assert (secret.health_status, secret.consecutive_failures) == (HealthStatus.UNKNOWN, 0)
    assert hostlimits.backoff_until([server.host]) is not None


def test_a_failure_whose_reason_mentions_429_is_still_a_failure():
    failing = health.HostOutcome(
        host="r.example",
        success=False,
        code="REGISTRY_ERROR",
        reason="r.example answered HTTP 429 to the ping.",
        retry_after=0.0,
        status=503,
    )
    throttled = health.HostOutcome(
        host="r.example",
        success=False,
        code="REGISTRY_ERROR",
        reason="",
        status=429,
    )
    assert (failing.throttled, throttled.throttled) == (False, True)


def test_a_5xx_counts_as_a_failure_and_makes_the_host_rest(registry_settings, make_secret):
    server = ScriptedServer(lambda handler: (503, {}, b""))
    try:
        registry_settings(server.host)
        secret = make_secret(server.host)
        first = health.health_check_secret(secret.pk)
        second = health.health_check_secret(secret.pk)
    finally:
        server.close()
    assert (first.state, second.state) == ("checked", "deferred")
    assert len(server.requests) == 1
    row = SecretHostHealth.objects.get(secret=secret)
    assert (row.code, row.consecutive_failures) == ("REGISTRY_ERROR", 1)


def test_a_host_at_its_concurrency_cap_defers_the_check(settings, registry_settings, make_secret):
    settings.REGSECRETS_HEALTH_HOST_CONCURRENCY = 1
    server = ScriptedServer(lambda handler: (200, {}, b"{}"))
    try:
        registry_settings(server.host)
        secret = make_secret(server.host)
        with hostlimits.host_slots([server.host]) as held:  # another worker's check
            assert held
            busy = health.health_check_secret(secret.pk)
        free = health.health_check_secret(secret.pk)
    finally:
        server.close()
    assert (busy.state, free.state) == ("deferred", "checked")
    assert len(server.requests) == 1


def test_claiming_due_secrets_hands_each_out_once(org, make_secret):
    a = make_secret("registry.example.com", name="first")
    b = make_secret("registry.example.com", name="second")
    first = health.health_claim_due()
    assert sorted(map(str, first)) == sorted([str(a.pk), str(b.pk)])
    assert health.health_claim_due() == []
    assert not Secret.objects.filter(next_check_at__lte=a.created_at).exists()
