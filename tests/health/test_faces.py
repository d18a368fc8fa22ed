"""Health on the pages, the admin and the check_secrets command."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from regsecrets.accounts.models import Membership
from regsecrets.deploy.services import app_create, service_create
from regsecrets.registry_secrets import health
from regsecrets.registry_secrets.models import HealthStatus, HealthWebhook, Secret, SecretHostHealth

pytestmark = pytest.mark.django_db

FAILED = health.HostOutcome("registry.example.com", False, "AUTH_ACCESS_DENIED", "rejected now")
OK = health.HostOutcome("registry.example.com", True, "", "logs in")


def fail(secret):
    for _ in range(2):
        health.health_record(secret=secret, outcomes=[FAILED])


def test_list_shows_badges_the_attention_count_and_filters_failing(alice_client, make_secret):
    bad = make_secret("registry.example.com", name="broken")
    good = make_secret("registry.example.com", name="fine")
    fail(bad)
    health.health_record(secret=good, outcomes=[OK])
    page = alice_client.get(reverse("registry_secrets:list")).content.decode()
    assert 'data-health="FAILING"' in page
    assert 'data-health="HEALTHY"' in page
    assert "1 secret needs attention" in page
    filtered = alice_client.get(reverse("registry_secrets:list"), {"health": "failing"})
    names = [row["secret"].name for row in filtered.context["rows"]]
    assert names == ["broken"]


def test_detail_shows_per_host_status_and_flags_services(alice, org, alice_client, make_secret):
    secret = make_secret("registry.example.com")
    app = app_create(organization=org, name="shop", actor=alice)
    service = service_create(
        app=app, name="web", image="registry.example.com/team/app:v1", registry_secret=secret,
        actor=alice,
    )
    fail(secret)
    page = alice_client.get(reverse("registry_secrets:detail", args=[secret.pk])).content.decode()
    assert 'id="secret-host-health"' in page
    assert "AUTH_ACCESS_DENIED" in page
    assert "rejected now" in page
    assert 'id="will-fail-to-pull"' in page
    app_page = alice_client.get(reverse("deploy:app_detail", args=[app.pk])).content.decode()
    assert "will fail to pull" in app_page
    service_page = alice_client.get(reverse("deploy:service_detail", args=[service.pk]))
    assert "will fail to pull" in service_page.content.decode()


def test_edit_form_sets_the_expiry_date(alice_client, make_secret):
    secret = make_secret("registry.example.com")
    url = reverse("registry_secrets:edit", args=[secret.pk])
    data = {"url": "registry.example.com", "username": "alice", "password": "", "expires_at": "2031-02-03"}
    reply = alice_client.post(url, data)
    assert reply.status_code == 302, reply.content
    assert Secret.objects.get(pk=secret.pk).expires_at == datetime.date(2031, 2, 3)
    bad = alice_client.post(url, {**data, "expires_at": "not a date"})
    assert bad.status_code == 200
    assert "expires_at" in bad.context["form"].errors


def test_create_form_sets_the_expiry_date(alice_client):
    reply = alice_client.post(
        reverse("registry_secrets:create", args=["private"]),
        {"name": "mine", "url": "registry.example.com", "username": "alice", "password": "pw",
         "expires_at": "2031-02-03"},
    )
    assert reply.status_code == 302, reply.content
    assert Secret.objects.get(name="mine").expires_at == datetime.date(2031, 2, 3)


def test_webhook_page_shows_the_signing_secret_once_to_managers_only(
    alice_client, client, make_user, org
):
    url = reverse("registry_secrets:webhook")
    reply = alice_client.post(url, {"url": "https://hooks.example.com/regsecrets"})
    assert reply.status_code == 200
    shown = reply.context["signing_secret"]
    assert shown.startswith("whsec_")
    assert shown in reply.content.decode()
    assert HealthWebhook.objects.get(organization=org).url == "https://hooks.example.com/regsecrets"
    again = alice_client.get(url).content.decode()
    assert shown not in again
    member = make_user("mallory")
    Membership.objects.create(organization=org, user=member, role="member")
    client.force_login(member)
    session = client.session
    session["organization_id"] = org.pk
    session.save()
    assert client.get(url).status_code == 403


def test_admin_changelist_has_a_health_column_and_filter(admin_client, make_secret):
    secret = make_secret("registry.example.com")
    fail(secret)
    page = admin_client.get(reverse("admin:registry_secrets_secret_changelist"), {"health_status__exact": "FAILING"})
    assert page.status_code == 200
    assert "Failing" in page.content.decode()
    assert list(page.context["cl"].result_list) == [Secret.objects.get(pk=secret.pk)]


# Committed data: on PostgreSQL the command checks in threads with their own connections.
@pytest.mark.django_db(transaction=True)
def test_check_secrets_command_checks_due_secrets_and_summarises(
    org, make_secret, registry_settings
):
    secret = make_secret("registry.invalid", name="nowhere")
    out = io.StringIO()
    call_command("check_secrets", "--due", stdout=out)
    text = out.getvalue()
    assert "Checked 1 secret(s)" in text
    secret.refresh_from_db()
    assert secret.checked_at is not None
    assert SecretHostHealth.objects.filter(secret=secret).exists()
    out = io.StringIO()
    call_command("check_secrets", "--due", stdout=out)  # nothing due now
    assert "Checked 0 secret(s): nothing to check." in out.getvalue()
    call_command("check_secrets", "--all", "--org", "acme", stdout=io.StringIO())
    secret.refresh_from_db()
    assert secret.health_status == HealthStatus.FAILING  # a second failure
