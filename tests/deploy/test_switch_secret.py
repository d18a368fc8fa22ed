"""No dead ends: the secret pages list the services using a secret, each with a
one-click switch to another secret that serves its image."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.models import Service
from regsecrets.deploy.services import service_create
from tests.conftest import page_text

pytestmark = pytest.mark.django_db


def switch_url(service) -> str:
    return reverse("deploy:service_switch_secret", args=[service.pk])


def test_detail_lists_services_as_links_with_the_secrets_they_can_switch_to(
    alice_client, org, service, ghcr_secret, make_secret
):
    other = make_secret(org, "ghcr-other")
    make_secret(
        org, "docker-hub", provider="docker_hub_registry", data={"username": "u", "password": "p"}
    )
    html = page_text(alice_client.get(reverse("registry_secrets:detail", args=[ghcr_secret.pk])))
    assert f'href="{reverse("deploy:service_detail", args=[service.pk])}"' in html
    assert f'action="{switch_url(service)}"' in html
    # Only a secret that serves ghcr.io is offered, and a single one is one click.
    assert f'name="registry_secret" value="{other.pk}"' in html
    assert "Switch to “ghcr-other”" in html
    assert "docker-hub" not in html.split('id="secret-services"')[1]


def test_one_click_switch_moves_the_service_and_returns_where_it_came_from(
    alice_client, org, service, ghcr_secret, make_secret
):
    other = make_secret(org, "ghcr-other")
    back = reverse("registry_secrets:delete", args=[ghcr_secret.pk])
    response = alice_client.post(switch_url(service), {"registry_secret": other.pk, "next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    service.refresh_from_db()
    assert (service.registry_secret, service.name, service.image) == (
        other,
        "web",
        "ghcr.io/acme/web:1.0",
    )
    event = AuditEvent.objects.filter(action="service.updated").latest("created_at")
    assert event.details["changed_fields"] == ["registry_secret"]
    # Nothing uses the first secret now: its deletion is no longer refused.
    page = page_text(alice_client.get(back))
    assert 'id="delete-form"' in page


def test_a_secret_that_does_not_serve_the_image_is_refused_with_a_message(
    alice_client, org, service, make_secret
):
    hub = make_secret(
        org, "hub", provider="docker_hub_registry", data={"username": "u", "password": "p"}
    )
    response = alice_client.post(switch_url(service), {"registry_secret": hub.pk}, follow=True)
    assert "do not serve images on ghcr.io" in page_text(response)
    service.refresh_from_db()
    assert service.registry_secret.name == "ghcr-bot"


def test_another_organizations_secret_or_a_foreign_next_is_refused(
    alice_client, org, other_org, service, make_secret
):
    theirs = make_secret(other_org, "theirs")
    assert alice_client.post(switch_url(service), {"registry_secret": theirs.pk}).status_code == 404
    assert alice_client.post(switch_url(service), {"registry_secret": "nope"}).status_code == 404
    mine = make_secret(org, "mine")
    response = alice_client.post(
        switch_url(service), {"registry_secret": mine.pk, "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("deploy:service_detail", args=[service.pk])
    assert alice_client.get(switch_url(service)).status_code == 405


def test_refused_deletion_offers_the_switch_for_every_service(
    alice_client, org, app, service, ghcr_secret, make_secret
):
    make_secret(org, "ghcr-a")
    make_secret(org, "ghcr-b")
    url = reverse("registry_secrets:delete", args=[ghcr_secret.pk])
    html = page_text(alice_client.get(url))
    assert 'id="delete-refused"' in html
    assert f'href="{reverse("deploy:service_detail", args=[service.pk])}">shop/web</a>' in html
    # Two candidates: a select, then one click on Switch.
    assert f'id="switch-{service.pk}"' in html
    assert f'name="next" value="{url}"' in html


def test_the_switch_list_costs_the_same_queries_for_one_service_or_many(
    alice_client, org, app, service, ghcr_secret, make_secret
):
    make_secret(org, "ghcr-other")
    url = reverse("registry_secrets:detail", args=[ghcr_secret.pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(url).status_code == 200
        return len(captured)

    one = queries()
    for n in range(6):
        service_create(
            app=app, name=f"w{n}", image=f"ghcr.io/acme/w{n}:1", registry_secret=ghcr_secret
        )
    assert queries() == one
    assert Service.objects.filter(registry_secret=ghcr_secret).count() == 7
