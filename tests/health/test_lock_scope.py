"""Health locks only the rows it changes: checks and alert mail never queue behind an
organization's or a secret's unrelated work (threads on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import transaction

from regsecrets.accounts.models import Organization
from regsecrets.registry_secrets import alerts, health
from regsecrets.registry_secrets.models import HealthAlert, HealthStatus, Secret
from tests.security.racing import postgresql_only, while_first_holds

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]

HEALTHY = health.HostOutcome("registry.example.com", True, "", "logs in")


def test_recording_a_check_does_not_wait_for_the_organizations_row(org, make_secret):
    secret = make_secret("registry.example.com")

    def hold_the_organization():  # what a membership change does (accounts' lock order)
        return Organization.objects.select_for_update().get(pk=org.pk)

    def record():
        return health.health_record(secret=Secret.objects.get(pk=secret.pk), outcomes=[HEALTHY])

    first, second, waited = while_first_holds(hold_the_organization, record)
    assert first.ok, first.error
    assert second.ok, second.error
    assert waited is False
    secret.refresh_from_db()
    assert secret.health_status == HealthStatus.HEALTHY


def test_emailing_an_alert_does_not_lock_its_secret_or_organization(org, make_secret):
    secret = make_secret("registry.example.com")
    alert = HealthAlert.objects.create(
        organization=org, secret=secret, kind=HealthAlert.Kind.FAILING, details={}
    )

    def hold_the_alert_while_mailing():
        return alerts.alert_send_email(alert.pk)

    def edit_the_secret_and_organization():
        with transaction.atomic():
            Secret.objects.select_for_update().get(pk=secret.pk)
            return Organization.objects.select_for_update().get(pk=org.pk)

    first, second, waited = while_first_holds(
        hold_the_alert_while_mailing, edit_the_secret_and_organization
    )
    assert first.ok, first.error
    assert second.ok, second.error
    assert first.value == 1  # alice, the owner, was mailed
    assert waited is False
