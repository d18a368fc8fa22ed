"""Health in the secret admin and through the verification adapter: expiry dates, checks recorded."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from regsecrets.registry_secrets import health
from regsecrets.registry_secrets.models import HealthStatus, Secret, SecretHostHealth
from regsecrets.registry_secrets.services import secret_fields
from tests.conftest import CANARY
from tests.registry_secrets.conftest import corrupt_ciphertext

pytestmark = pytest.mark.django_db

EXPIRES = datetime.date(2031, 3, 31)


def _change_url(secret: Secret) -> str:
    return reverse("admin:registry_secrets_secret_change", args=[secret.pk])


def test_admin_change_page_prefills_saves_and_clears_the_expiry_date(admin_client, make_secret):
    secret = make_secret("registry.example.com", password=CANARY, expires_at=EXPIRES)
    page = admin_client.get(_change_url(secret))
    assert page.status_code == 200
    assert 'value="2031-03-31"' in page.content.decode()

    later = datetime.date(2032, 1, 15)
    data = {"url": "registry.example.com", "username": "alice", "expires_at": later.isoformat()}
    reply = admin_client.post(_change_url(secret), data)
    assert reply.status_code == 302, reply.context["adminform"].form.errors
    stored = Secret.objects.get(pk=secret.pk)
    assert stored.expires_at == later
    assert secret_fields(stored)["password"] == CANARY  # empty kept the credential
    event = AuditEvent.objects.filter(action="secret.updated").latest("pk")
    assert event.details["changed_fields"] == ["expires_at"]

    reply = admin_client.post(_change_url(secret), {**data, "expires_at": ""})
    assert reply.status_code == 302
    assert Secret.objects.get(pk=secret.pk).expires_at is None


def test_admin_add_form_takes_an_expiry_date(admin_client, org):
    url = (
        reverse("admin:registry_secrets_secret_add")
        + f"?organization={org.pk}&provider=private"
    )
    reply = admin_client.post(
        url,
        {
            "organization": org.pk,
            "name": "with-date",
            "url": "registry.example.com",
            "username": "alice",
            "password": CANARY,
            "expires_at": EXPIRES.isoformat(),
        },
    )
    assert reply.status_code == 302, reply.context["adminform"].form.errors
    assert Secret.objects.get(organization=org, name="with-date").expires_at == EXPIRES


def test_admin_test_credentials_action_records_the_checks_as_health(
    admin_client, htpasswd_registry, registry_settings, make_secret
):
    registry_settings(htpasswd_registry.host)
    good = make_secret(htpasswd_registry.host, name="good")
    bad = make_secret(htpasswd_registry.host, password=CANARY, name="bad")
    reply = admin_client.post(
        reverse("admin:registry_secrets_secret_changelist"),
        {"action": "test_credentials", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )
    assert reply.status_code == 200
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.health_status == HealthStatus.HEALTHY
    assert good.checked_at is not None
    assert bad.consecutive_failures == 1
    assert bad.health_code != ""
    assert SecretHostHealth.objects.filter(secret__in=[good, bad]).count() == 2
    # One audit event per host checked (one host each), as verification writes them.
    assert AuditEvent.objects.filter(action="secret.verified").count() == 2
    assert CANARY not in reply.content.decode()


# ---------------------------------------------------- the adapter's two kinds of check


def test_the_detail_pages_test_button_records_health_and_audits_each_host(
    alice_client, htpasswd_registry, registry_settings, make_secret
):
    registry_settings(htpasswd_registry.host)
    secret = make_secret(htpasswd_registry.host)
    reply = alice_client.post(reverse("registry_secrets:test", args=[secret.pk]))
    assert reply.status_code == 302
    secret.refresh_from_db()
    assert secret.health_status == HealthStatus.HEALTHY
    assert AuditEvent.objects.filter(action="secret.verified").count() == 1


def test_a_scheduled_check_records_health_without_a_verified_event_per_host(
    htpasswd_registry, registry_settings, make_secret
):
    registry_settings(htpasswd_registry.host)
    secret = make_secret(htpasswd_registry.host)
    outcome = health.health_check_secret(secret.pk)
    assert outcome.status == HealthStatus.HEALTHY
    assert SecretHostHealth.objects.filter(secret=secret, host=htpasswd_registry.host).exists()
    assert not AuditEvent.objects.filter(action="secret.verified").exists()


def test_a_scheduled_check_of_an_undecryptable_secret_records_a_failure(
    registry_settings, make_secret
):
    secret = make_secret("registry.example.com")
    corrupt_ciphertext(secret)
    outcome = health.health_check_secret(secret.pk)
    assert outcome.state == "checked"
    stored = Secret.objects.get(pk=secret.pk)
    assert stored.health_code == health.UNDECRYPTABLE
    assert stored.consecutive_failures == 1
