"""Alert delivery: a signed webhook to a receiver on loopback, and a real SMTP server."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from django.core import mail

from regsecrets.audit.models import AuditEvent
from regsecrets.env import email_config
from regsecrets.registry_secrets import alerts, health
from regsecrets.registry_secrets.models import HealthAlert, HealthWebhook
from tests.conftest import CANARY
from tests.verification.conftest import free_port

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2030, 6, 1, 12, 0, tzinfo=datetime.UTC)
FAILED = health.HostOutcome("registry.example.com", False, "AUTH_ACCESS_DENIED", "rejected")


class Receiver:
    """A webhook endpoint on loopback that keeps what it was sent; answers as told."""

    def __init__(self, statuses: list[int]) -> None:
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = statuses.pop(0) if statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/regsecrets"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver(settings):
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    settings.REGSECRETS_WEBHOOK_ALLOW_HTTP = True
    made = []

    def make(statuses=()):
        r = Receiver(list(statuses))
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def fail_twice(secret, capture):
    for _ in range(2):
        with capture(execute=True):
            health.health_record(secret=secret, outcomes=[FAILED], now=NOW)


def test_webhook_event_is_signed_with_the_organization_secret_and_carries_no_credential(
    org, alice, receiver, make_secret, registry_settings, django_capture_on_commit_callbacks
):
    endpoint = receiver()
    signing_secret = alerts.webhook_configure(organization=org, url=endpoint.url, actor=alice)
    secret = make_secret("registry.example.com", password=CANARY)
    fail_twice(secret, django_capture_on_commit_callbacks)

    assert len(endpoint.received) == 1
    headers, body = endpoint.received[0]
    expected = "sha256=" + hmac.new(signing_secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Regsecrets-Signature"], expected)
    event = json.loads(body)
    assert event["type"] == "secret.health.failing"
    assert event["secret"]["name"] == "self-hosted"
    assert event["secret"]["code"] == "AUTH_ACCESS_DENIED"
    assert event["secret"]["url"] == f"https://regsecrets.example/secrets/{secret.pk}/"
    assert CANARY.encode() not in body
    assert HealthAlert.objects.get().webhook_delivered_at is not None
    channels = sorted(
        e.details["channel"] for e in AuditEvent.objects.filter(action="secret.alert_sent")
    )
    assert channels == ["email", "webhook"]
    # The signing secret is sealed at rest, never stored in clear.
    stored = HealthWebhook.objects.values_list("signing_secret", flat=True).get()
    assert signing_secret not in stored
    assert stored.startswith("v1:")


def test_a_refused_webhook_is_retried_until_accepted_and_sent_once(
    org, receiver, make_secret, registry_settings, django_capture_on_commit_callbacks
):
    endpoint = receiver(statuses=[503, 500])
    alerts.webhook_configure(organization=org, url=endpoint.url)
    secret = make_secret("registry.example.com")
    fail_twice(secret, django_capture_on_commit_callbacks)  # in-process: first try only
    alert = HealthAlert.objects.get()
    assert alert.webhook_delivered_at is None
    with pytest.raises(alerts.WebhookDeliveryError):
        alerts.webhook_deliver(alert.pk)  # the worker's retry, refused again
    assert alerts.webhook_deliver(alert.pk) is True
    assert alerts.webhook_deliver(alert.pk) is False  # delivered: never twice
    assert len(endpoint.received) == 3
    assert len({body for _, body in endpoint.received}) == 1
    alert.refresh_from_db()
    assert alert.webhook_attempts == 3


def test_webhook_refuses_loopback_when_private_addresses_are_not_allowed(
    org, receiver, settings, make_secret, django_capture_on_commit_callbacks
):
    endpoint = receiver()
    alerts.webhook_configure(organization=org, url=endpoint.url)
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = False  # the outbound guard's default
    secret = make_secret("registry.example.com")
    fail_twice(secret, django_capture_on_commit_callbacks)
    with pytest.raises(alerts.WebhookDeliveryError, match="AddressForbidden"):
        alerts.webhook_deliver(HealthAlert.objects.get().pk)
    assert endpoint.received == []


def test_webhook_url_must_be_https_in_production(org, settings):
    settings.REGSECRETS_WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(Exception, match="https"):
        alerts.webhook_configure(organization=org, url="http://hooks.example.com/x")
    assert not HealthWebhook.objects.exists()


def test_alert_email_reaches_a_real_smtp_server(
    org, settings, make_secret, registry_settings, django_capture_on_commit_callbacks
):
    class Keep(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)

    handler = Keep()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:

        for key, value in email_config(f"smtp://127.0.0.1:{port}").items():
            setattr(settings, key, value)
        secret = make_secret("registry.example.com", password=CANARY)
        fail_twice(secret, django_capture_on_commit_callbacks)
    finally:
        controller.stop()
    assert len(handler.messages) == 1
    message = handler.messages[0]
    assert message["To"] == "alice@example.com"
    assert re.search(r"self-hosted is failing", message["Subject"])
    text = message.get_payload(decode=True).decode()
    assert "registry.example.com" in text
    assert CANARY not in text
    assert mail.outbox == []  # it went over SMTP, not to the test outbox
