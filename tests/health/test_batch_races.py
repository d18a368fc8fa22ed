"""A batch of scheduled checks racing manual tests and other batches: every failure
counted, one transition and one alert each (threads on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.core import mail

from regsecrets.accounts.models import Organization
from regsecrets.registry_secrets import health
from regsecrets.registry_secrets.models import HealthAlert, HealthStatus, Secret
from tests.security.racing import ATTEMPTS, at_once, postgresql_only, while_first_holds
from tests.verification.conftest import ScriptedServer

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def rejecting(registry_settings):
    """A registry that rejects every login (AUTH_ACCESS_DENIED)."""
    server = ScriptedServer(lambda handler: (401, {"WWW-Authenticate": 'Basic realm="t"'}, b""))
    registry_settings(server.host)
    yield server
    server.close()


def _blips(make_secret, host: str, count: int, prefix: str) -> list[Secret]:
    """Secrets with one failure recorded: the next failure makes them FAILING."""
    secrets = [make_secret(host, name=f"{prefix}-{n}") for n in range(count)]
    failed = health.HostOutcome(host, False, "AUTH_ACCESS_DENIED", "rejected")
    for secret in secrets:
        health.health_record(secret=secret, outcomes=[failed])
    return secrets


def _failing_alerts(secret: Secret) -> int:
    return HealthAlert.objects.filter(secret=secret, kind="failing").count()


@pytest.mark.parametrize("batch_first", [True, False], ids=["batch-holds", "manual-holds"])
def test_a_batch_and_a_manual_test_of_one_secret_alert_once(
    org, alice, make_secret, rejecting, batch_first
):
    secrets = _blips(make_secret, rejecting.host, 3, "race")
    shared = secrets[1]

    def batch():
        return health.health_check_secrets([s.pk for s in secrets])

    def manual():  # the secret page's "Test credentials"
        return health.health_test_credentials(
            secret=Secret.objects.get(pk=shared.pk), actor=alice
        )

    first, second, waited = while_first_holds(
        *((batch, manual) if batch_first else (manual, batch))
    )
    assert first.ok, first.error
    assert second.ok, second.error
    assert waited is True  # the second recording waited for the first's row lock
    shared.refresh_from_db()
    assert shared.consecutive_failures == 3  # no lost update
    assert shared.health_status == HealthStatus.FAILING
    assert [_failing_alerts(s) for s in secrets] == [1, 1, 1]
    assert HealthAlert.objects.count() == 3
    assert len(mail.outbox) == 3  # one email per transition, sent after commit


def test_overlapping_batches_in_any_order_lose_no_check_and_alert_once(
    org, make_secret, rejecting
):
    secrets = _blips(make_secret, rejecting.host, 4, "overlap")
    ids = [s.pk for s in secrets]
    for _ in range(ATTEMPTS // 2):
        outcomes = at_once(
            lambda: health.health_check_secrets(ids),
            lambda: health.health_check_secrets(list(reversed(ids))),
        )
        assert all(o.ok for o in outcomes), [o.error for o in outcomes]
        assert all(c.state == "checked" for o in outcomes for c in o.value)
    counts = dict(Secret.objects.filter(pk__in=ids).values_list("pk", "consecutive_failures"))
    assert set(counts.values()) == {1 + ATTEMPTS}  # every check of every batch counted
    assert [_failing_alerts(s) for s in secrets] == [1, 1, 1, 1]


def test_recording_a_batch_does_not_wait_for_the_organizations_row(
    org, make_secret, registry_settings
):
    server = ScriptedServer(lambda handler: (200, {}, b"{}"))
    registry_settings(server.host)
    secrets = [make_secret(server.host, name=f"s{n}") for n in range(3)]

    def hold_the_organization():  # what a membership change does
        return Organization.objects.select_for_update().get(pk=org.pk)

    try:
        first, second, waited = while_first_holds(
            hold_the_organization, lambda: health.health_check_secrets([s.pk for s in secrets])
        )
    finally:
        server.close()
    assert first.ok, first.error
    assert second.ok, second.error
    assert waited is False
    assert [o.status for o in second.value] == [HealthStatus.HEALTHY] * 3
