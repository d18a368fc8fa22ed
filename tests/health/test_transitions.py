"""Health transitions against a real docker-registry whose password is rotated.

A secret is checked, the registry's password changes (htpasswd rewritten, registry
restarted), the checks fail, the owners hear of it once, and hear once more when
it works again. Emails go to Django's locmem outbox; tasks run in-process.
"""

from __future__ import annotations

import datetime

import pytest
from django.core import mail

from regsecrets.accounts.models import Membership, Role
from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.services import app_create, service_create
from regsecrets.registry_secrets import health
from regsecrets.registry_secrets.models import HealthAlert, HealthStatus, Secret, SecretHostHealth
from regsecrets.registry_secrets.services import secret_update
from tests.conftest import CANARY

pytestmark = [pytest.mark.registry, pytest.mark.django_db]


@pytest.fixture
def team(org, make_user):
    """alice owns acme; carol is an admin, dave a member (no alerts for members)."""
    carol = make_user("carol")
    dave = make_user("dave")
    Membership.objects.create(organization=org, user=carol, role=Role.ADMIN)
    Membership.objects.create(organization=org, user=dave, role=Role.MEMBER)
    return org


def check(secret, captured):
    with captured(execute=True):
        return health.health_check_secret(secret.pk)


def test_rotated_password_fails_after_alert_after_checks_then_recovers_with_one_email_each(
    team, alice, mutable_registry, registry_settings, make_secret,
    django_capture_on_commit_callbacks, caplog,
):
    registry_settings(mutable_registry.host)
    secret = make_secret(mutable_registry.host, password="alice-pw")
    app = app_create(organization=team, name="shop", actor=alice)
    service_create(
        app=app, name="web", image=f"{mutable_registry.host}/team/app:v1",
        registry_secret=secret, actor=alice,
    )
    captured = django_capture_on_commit_callbacks

    assert check(secret, captured).status == HealthStatus.HEALTHY
    assert mail.outbox == []

    mutable_registry.set_password(CANARY)  # the stored alice-pw no longer works

    first = check(secret, captured)
    secret.refresh_from_db()
    assert (first.status, secret.consecutive_failures) == (HealthStatus.HEALTHY, 1)
    assert secret.health_code == "AUTH_ACCESS_DENIED"
    assert mail.outbox == []  # one failure is a blip, not an outage

    second = check(secret, captured)
    assert (second.status, second.transition) == (HealthStatus.FAILING, "failing")
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert sorted(email.to) == ["alice@example.com", "carol@example.com"]
    assert "self-hosted" in email.subject
    assert "failing" in email.subject
    assert mutable_registry.host in email.body
    assert "rejected the credentials" in email.body
    assert "shop/web" in email.body
    assert "will fail to pull" in email.body
    assert f"https://regsecrets.example/secrets/{secret.pk}/" in email.body

    third = check(secret, captured)
    assert (third.status, third.transition) == (HealthStatus.FAILING, "")
    assert len(mail.outbox) == 1  # never once per check

    host_row = SecretHostHealth.objects.get(secret=secret)
    assert (host_row.status, host_row.code, host_row.consecutive_failures) == (
        HealthStatus.FAILING, "AUTH_ACCESS_DENIED", 3,
    )

    mutable_registry.set_password("alice-pw")
    recovered = check(secret, captured)
    assert (recovered.status, recovered.transition) == (HealthStatus.HEALTHY, "recovered")
    assert len(mail.outbox) == 2
    assert "recovered" in mail.outbox[1].subject
    secret.refresh_from_db()
    assert secret.consecutive_failures == 0
    assert secret.last_healthy_at is not None
    assert secret.next_check_at > secret.checked_at

    sent = AuditEvent.objects.filter(action="secret.alert_sent").order_by("id")
    assert [(e.details["channel"], e.details["alert"]) for e in sent] == [
        ("email", "failing"), ("email", "recovered"),
    ]
    assert HealthAlert.objects.filter(secret=secret).count() == 2
    # The canary is the registry's new password: the secret never held it, yet make
    # sure no message, audit detail or log line carries a password.
    for text in [m.body + m.subject for m in mail.outbox] + [caplog.text] + [
        str(e.details) for e in AuditEvent.objects.all()
    ]:
        assert CANARY not in text
        assert "alice-pw" not in text


def test_a_stored_canary_password_never_reaches_alerts_or_logs(
    team, mutable_registry, registry_settings, make_secret,
    django_capture_on_commit_callbacks, caplog,
):
    registry_settings(mutable_registry.host)
    secret = make_secret(mutable_registry.host, password=CANARY)  # wrong password
    for _ in range(2):
        check(secret, django_capture_on_commit_callbacks)
    secret.refresh_from_db()
    assert secret.health_status == HealthStatus.FAILING
    assert len(mail.outbox) == 1
    alert = HealthAlert.objects.get(secret=secret)
    texts = [mail.outbox[0].body, mail.outbox[0].subject, str(alert.details), caplog.text,
             secret.health_reason, *(str(e.details) for e in AuditEvent.objects.all())]
    assert all(CANARY not in text for text in texts)


NOW = datetime.datetime(2030, 6, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("days_left", "status", "code"),
    [(30, HealthStatus.HEALTHY, ""), (14, HealthStatus.EXPIRING, "EXPIRING"),
     (1, HealthStatus.EXPIRING, "EXPIRING"), (0, HealthStatus.FAILING, "EXPIRED"),
     (-5, HealthStatus.FAILING, "EXPIRED")],
)
def test_expiry_date_sets_the_status_on_a_frozen_clock(
    org, make_secret, days_left, status, code
):
    secret = make_secret("registry.example.com", expires_at=NOW.date() + datetime.timedelta(days_left))
    ok = health.HostOutcome("registry.example.com", True, "", "ok")
    new_status, _ = health.health_record(secret=secret, outcomes=[ok], now=NOW)
    secret.refresh_from_db()
    assert (new_status, secret.health_status, secret.health_code) == (status, status, code)
    if code == "EXPIRED":
        assert "expired on" in secret.health_reason


def test_expiring_alerts_fire_at_14_3_and_1_days_once_each(
    org, make_secret, registry_settings, django_capture_on_commit_callbacks
):
    expires = NOW.date() + datetime.timedelta(days=20)
    secret = make_secret("registry.example.com", expires_at=expires)
    ok = health.HostOutcome("registry.example.com", True, "", "ok")
    kinds = []
    for day in range(0, 22):  # four checks a day, for three weeks
        for hour in (0, 6, 12, 18):
            now = NOW + datetime.timedelta(days=day, hours=hour)
            with django_capture_on_commit_callbacks(execute=True):
                _, kind = health.health_record(secret=secret, outcomes=[ok], now=now)
            if kind:
                kinds.append((kind, (expires - now.date()).days))
    assert kinds == [("expiring", 14), ("expiring", 3), ("expiring", 1), ("failing", 0)]
    assert [m.subject for m in mail.outbox] == [
        "[regsecrets] self-hosted expires in 14 days",
        "[regsecrets] self-hosted expires in 3 days",
        "[regsecrets] self-hosted expires in 1 day",
        "[regsecrets] self-hosted is failing: EXPIRED",
    ]


def test_a_new_expiry_date_resets_the_announcements_and_recovers(
    org, alice, make_secret, registry_settings, django_capture_on_commit_callbacks
):
    secret = make_secret("registry.example.com", expires_at=NOW.date() - datetime.timedelta(days=1))
    ok = health.HostOutcome("registry.example.com", True, "", "ok")
    with django_capture_on_commit_callbacks(execute=True):
        assert health.health_record(secret=secret, outcomes=[ok], now=NOW) == ("FAILING", "failing")
    secret = secret_update(
        secret=Secret.objects.get(pk=secret.pk), data={}, actor=alice,
        expires_at=NOW.date() + datetime.timedelta(days=10),
    )
    with django_capture_on_commit_callbacks(execute=True):
        status, kind = health.health_record(secret=secret, outcomes=[ok], now=NOW)
    assert (status, kind) == ("EXPIRING", "recovered")
    secret.refresh_from_db()
    assert secret.expiry_alerted_days == 14  # announced with the recovery
    assert [m.subject.split("] ")[1] for m in mail.outbox] == [
        "self-hosted is failing: EXPIRED", "self-hosted has recovered",
    ]
