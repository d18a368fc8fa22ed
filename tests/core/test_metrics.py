"""/metrics: protected by a bearer token, answered whatever the Host, counting the domain.

Counters are process-wide, so each test compares a sample before and after.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from regsecrets.core.checks import check_production_settings
from regsecrets.deploy.services import app_create
from regsecrets.registry_secrets import alerts, health, verification
from regsecrets.registry_secrets.models import HealthStatus, Secret
from regsecrets.registry_secrets.services import secret_create
from tests.conftest import CANARY, TEST_KEY_A, TEST_KEY_B
from tests.health.test_delivery import Receiver

TOKEN = "metrics-token-0123456789abcdef0123456789"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def metrics_on(settings):
    settings.REGSECRETS_METRICS_TOKEN = TOKEN
    settings.ALLOWED_HOSTS = ["secrets.example.com"]


def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", **AUTH)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


@pytest.fixture
def private_secret(org, alice):
    """A secret on a loopback registry: with private addresses refused (the default),
    every check answers FORBIDDEN_ADDRESS without connecting anywhere."""

    def make(name: str = "loopback", password: str = "pw-1"):
        return secret_create(
            organization=org,
            name=name,
            provider="private_registry",
            data={"url": "127.0.0.1:5999", "username": "alice", "password": password},
            actor=alice,
        )

    return make


# ------------------------------------------------------------------ protection


@pytest.mark.django_db
def test_metrics_are_off_without_a_token(client, settings):
    settings.REGSECRETS_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [None, "", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer wrong", f"{TOKEN}"],
)
def test_metrics_refuse_a_scrape_without_the_token(client, metrics_on, header):
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/metrics", HTTP_HOST="10.0.3.7:8000", **extra)
    assert response.status_code == 403
    assert b"regsecrets_" not in response.content


@pytest.mark.django_db
def test_probes_and_metrics_answer_on_the_pod_address_other_paths_do_not(client, metrics_on):
    """Kubelet, Docker's HEALTHCHECK and Prometheus use the address, not a host name."""
    for path in ("/healthz", "/metrics"):
        response = client.get(path, HTTP_HOST="10.0.3.7:8000", **AUTH)
        assert response.status_code == 200, path
    assert client.get("/readyz", HTTP_HOST="127.0.0.1:8000").status_code == 200
    assert client.get("/accounts/login/", HTTP_HOST="10.0.3.7:8000").status_code == 400
    assert client.get("/accounts/login/", HTTP_HOST="secrets.example.com").status_code == 200


# ------------------------------------------------------------------- requests


@pytest.mark.django_db
def test_requests_are_counted_by_url_pattern_never_by_path(alice_client, private_secret):
    secret = private_secret()
    route = "/secrets/<uuid:pk>/"
    before = sample("regsecrets_http_requests_total", method="GET", route=route, status="200")
    alice_client.get(f"/secrets/{secret.pk}/")
    after = sample("regsecrets_http_requests_total", method="GET", route=route, status="200")
    assert after == before + 1
    unmatched = sample(
        "regsecrets_http_requests_total", method="GET", route="unmatched", status="404"
    )
    alice_client.get(f"/no-such-page/{CANARY}/")
    assert (
        sample("regsecrets_http_requests_total", method="GET", route="unmatched", status="404")
        == unmatched + 1
    )


# --------------------------------------------------------------------- domain


@pytest.mark.django_db
def test_verifications_are_counted_by_check_and_code(org, alice, private_secret):
    code = "FORBIDDEN_ADDRESS"
    before = sample("regsecrets_verifications_total", check="credentials", code=code)
    [result] = verification.verify_stored_secret(
        secret=private_secret(), actor=alice, rate_limit=False
    )
    assert result.result.code == code
    assert sample("regsecrets_verifications_total", check="credentials", code=code) == before + 1

    malformed = sample("regsecrets_verifications_total", check="image", code="MALFORMED")
    verification.verify_image(
        organization=org,
        image="Not An Image!",
        actor=alice,
        rate_limit=False,
        malformed_is_result=True,
    )
    assert (
        sample("regsecrets_verifications_total", check="image", code="MALFORMED") == malformed + 1
    )


@pytest.mark.django_db
def test_health_checks_transitions_and_alerts_are_counted(
    settings, private_secret, django_capture_on_commit_callbacks
):
    settings.REGSECRETS_HEALTH_ALERT_AFTER = 2
    secret = private_secret()
    checked = {
        status: sample("regsecrets_health_checks_total", state="checked", status=status)
        for status in (HealthStatus.UNKNOWN, HealthStatus.FAILING)
    }
    failing = sample("regsecrets_health_transitions_total", kind="failing")
    emailed = sample("regsecrets_alerts_sent_total", channel="email", kind="failing")
    gone = sample("regsecrets_health_checks_total", state="gone", status="")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            health.health_check_secret(secret.pk)
    secret.refresh_from_db()
    assert secret.health_status == HealthStatus.FAILING
    assert len(mail.outbox) == 1
    for status in checked:
        assert sample(
            "regsecrets_health_checks_total", state="checked", status=status
        ) == checked[status] + 1
    assert sample("regsecrets_health_transitions_total", kind="failing") == failing + 1
    assert sample("regsecrets_alerts_sent_total", channel="email", kind="failing") == emailed + 1
    health.health_check_secret("00000000-0000-0000-0000-000000000000")
    assert sample("regsecrets_health_checks_total", state="gone", status="") == gone + 1


@pytest.mark.django_db
def test_a_delivered_webhook_is_counted_once(
    org, settings, private_secret, django_capture_on_commit_callbacks
):
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    settings.REGSECRETS_WEBHOOK_ALLOW_HTTP = True
    receiver = Receiver([])
    try:
        alerts.webhook_configure(organization=org, url=receiver.url)
        secret = private_secret()
        before = sample("regsecrets_alerts_sent_total", channel="webhook", kind="failing")
        failed = health.HostOutcome("127.0.0.1:5999", False, "AUTH_ACCESS_DENIED", "rejected")
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                health.health_record(secret=secret, outcomes=[failed])
        alert_id = secret.health_alerts.get().pk
        assert alerts.webhook_deliver(alert_id) is False  # delivered already: not counted again
    finally:
        receiver.close()
    assert len(receiver.received) == 1
    assert sample("regsecrets_alerts_sent_total", channel="webhook", kind="failing") == before + 1


@pytest.mark.django_db
def test_health_gauges_and_rotation_progress_come_from_the_database(
    client, metrics_on, settings, private_secret
):
    for n in range(3):
        private_secret(name=f"s{n}")
    Secret.objects.filter(name="s0").update(health_status=HealthStatus.FAILING)
    metrics = scrape(client)
    by_status = {
        dict(labels)["status"]: value
        for (name, labels), value in metrics.items()
        if name == "regsecrets_secrets_by_health_status"
    }
    assert by_status == {"UNKNOWN": 2, "FAILING": 1, "HEALTHY": 0, "EXPIRING": 0}
    field = (("field", "registry_secrets.Secret.document"),)
    assert metrics[("regsecrets_rotation_pending_rows", field)] == 0

    settings.REGSECRETS_ENCRYPTION_KEYS = f"test-b:{TEST_KEY_B},test-a:{TEST_KEY_A}"
    assert scrape(client)[("regsecrets_rotation_pending_rows", field)] == 3
    rotated = sample("regsecrets_rotation_rows_total", result="rotated")
    call_command("rotate_encryption_keys", "--batch-size", "2", verbosity=0)
    assert sample("regsecrets_rotation_rows_total", result="rotated") == rotated + 3
    assert scrape(client)[("regsecrets_rotation_pending_rows", field)] == 0


# --------------------------------------------------------------------- canary


@pytest.mark.django_db
def test_no_label_value_carries_what_a_person_typed_or_a_secret(
    alice, alice_client, client, metrics_on, org, private_secret, settings
):
    """Names, paths, methods, request ids and credentials stay out of every label."""
    settings.ALLOWED_HOSTS = ["testserver"]
    canary = CANARY.lower()
    secret = private_secret(name=canary, password=CANARY)
    app_create(organization=org, name=canary, actor=alice)
    verification.verify_stored_secret(secret=secret, actor=alice, rate_limit=False)
    health.health_check_secret(secret.pk)
    alice_client.get(f"/secrets/{secret.pk}/?q={CANARY}", HTTP_X_REQUEST_ID=CANARY)
    alice_client.get(f"/{CANARY}/")
    alice_client.generic(CANARY.upper(), "/secrets/")
    alice_client.post("/secrets/new/private/", {"name": CANARY, "password": CANARY})
    response = client.get("/metrics", **AUTH)
    body = response.content.decode()
    assert canary not in body.lower()
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            for value in s.labels.values():
                assert "canary" not in value.lower(), (s.name, value)
    methods = {
        s.labels["method"]
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name == "regsecrets_http_requests_total"
    }
    assert "other" in methods  # the made-up method was counted, under a fixed word


@pytest.mark.parametrize(("token", "refused"), [("", False), ("short-token", True), (TOKEN, False)])
def test_a_guessable_metrics_token_stops_startup(settings, token, refused):
    settings.DEBUG = False
    settings.SECRET_KEY = "s" * 20 + "-long-enough-and-varied-" + "0123456789" * 2
    settings.ALLOWED_HOSTS = ["secrets.example.com"]
    settings.REGSECRETS_METRICS_TOKEN = token
    ids = {message.id for message in check_production_settings()}
    assert ("regsecrets.E014" in ids) is refused
