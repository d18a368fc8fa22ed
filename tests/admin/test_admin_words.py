"""The admin speaks the site's language: section names, provider help, health and services."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from regsecrets.deploy.services import app_create, service_create
from regsecrets.registries import PROVIDERS
from regsecrets.registry_secrets.models import HealthStatus, Secret

pytestmark = pytest.mark.django_db


def test_sections_are_named_as_on_the_site(admin):
    html = admin.get(reverse("admin:index")).content.decode()
    for words in (
        "Registry secrets",
        "Apps and services",
        "Organizations and API tokens",
        "Activity",
    ):
        assert words in html
    assert "API tokens" in html
    assert "Api tokens" not in html
    assert "Registry_Secrets" not in html


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.slug)
def test_add_form_carries_the_providers_help_and_console_link(admin, org, provider):
    url = (
        reverse("admin:registry_secrets_secret_add")
        + f"?organization={org.pk}&provider={provider.slug}"
    )
    html = admin.get(url).content.decode()
    assert escape(provider.help.split(".")[0]) in html
    if provider.console_url:
        assert f'href="{provider.console_url.replace("&", "&amp;")}"' in html


def test_lists_show_health_and_services_in_constant_queries(admin, org, make_secret):
    app = app_create(organization=org, name="shop")

    def changelists() -> tuple[str, str, int]:
        with CaptureQueriesContext(connection) as queries:
            secrets = admin.get(
                reverse("admin:registry_secrets_secret_changelist")
            ).content.decode()
            services = admin.get(reverse("admin:deploy_service_changelist")).content.decode()
        return secrets, services, len(queries)

    first = make_secret(org, name="first")
    service_create(app=app, name="web0", image="registry.example.com/web:0", registry_secret=first)
    _, _, few = changelists()
    for n in range(1, 6):
        secret = make_secret(org, name=f"s{n}")
        service_create(
            app=app, name=f"web{n}", image="registry.example.com/web:1", registry_secret=secret
        )
    Secret.objects.filter(name="s1").update(
        health_status=HealthStatus.FAILING, health_reason="the registry rejected the credentials"
    )
    secrets, services, many = changelists()
    assert many == few
    assert 'title="the registry rejected the credentials">Failing<' in secrets
    assert "Secret health" in services
    assert ">Failing<" in services
