"""Deployments: one per service definition change, whichever face made it, and the migration
that gives existing services their first."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.models import Deployment, Service
from regsecrets.deploy.services import KEEP, service_create, service_update

IMAGE = "ghcr.io/acme/web:1.0"


def definitions(service: Service) -> list[tuple[int, str, str, str]]:
    rows = Deployment.objects.filter(service=service).order_by("version")
    return [(d.version, d.name, d.image, d.registry_secret_name) for d in rows]


@pytest.mark.django_db
def test_create_records_version_one_in_the_same_transaction(app, ghcr_secret):
    service = service_create(app=app, name="web", image=IMAGE, registry_secret=ghcr_secret)
    assert definitions(service) == [(1, "web", IMAGE, "ghcr-bot")]
    stored = Service.objects.get(pk=service.pk)
    assert stored.latest_deployment_id == service.latest_deployment.pk
    deployment = service.latest_deployment
    assert (deployment.app_id, deployment.organization_id) == (app.pk, app.organization_id)
    event = AuditEvent.objects.get(action="service.created")
    assert (event.details["deployment"], event.details["version"]) == (str(deployment.pk), 1)


@pytest.mark.django_db
def test_updates_record_a_version_per_change_and_keep_what_they_are_not_given(service, make_secret, org):
    hub = make_secret(org, "hub", provider="docker_hub_registry", data={"username": "u", "password": "p"})
    service_update(service=service, image="docker.io/acme/web:2", registry_secret=hub)
    service_update(service=service)  # everything kept: no change, no deployment
    service_update(service=service, name="front")
    service_update(service=service, registry_secret=None)
    assert definitions(service) == [
        (1, "web", IMAGE, "ghcr-bot"),
        (2, "web", "docker.io/acme/web:2", "hub"),
        (3, "front", "docker.io/acme/web:2", "hub"),
        (4, "front", "docker.io/acme/web:2", ""),
    ]
    stored = Service.objects.select_related("latest_deployment").get(pk=service.pk)
    assert stored.latest_deployment.version == 4
    unchanged = AuditEvent.objects.filter(action="service.updated").order_by("pk")[1]
    assert unchanged.details["changed_fields"] == []
    assert "version" not in unchanged.details


@pytest.mark.django_db
def test_a_kept_image_is_checked_against_a_new_secret(service, make_secret, org):
    from django.core.exceptions import ValidationError

    hub = make_secret(org, "hub", provider="docker_hub_registry", data={"username": "u", "password": "p"})
    with pytest.raises(ValidationError) as refused:
        service_update(service=service, name=KEEP, image=KEEP, registry_secret=hub)
    assert set(refused.value.message_dict) == {"registry_secret"}
    assert definitions(service) == [(1, "web", IMAGE, "ghcr-bot")]


@pytest.mark.django_db
def test_the_site_form_records_a_deployment(alice_client, service):
    url = reverse("deploy:service_edit", kwargs={"service_id": service.pk})
    response = alice_client.post(url, {"name": "web", "image": "ghcr.io/acme/web:2.0", "registry_secret": str(service.registry_secret_id)})
    assert response.status_code == 302
    assert [d[2] for d in definitions(service)] == [IMAGE, "ghcr.io/acme/web:2.0"]


# --- the migration --------------------------------------------------------------------------

BEFORE = [("deploy", "0001_initial")]
AFTER = [("deploy", "0002_deployments")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_each_existing_service_its_first_deployment(org, make_secret):
    secret = make_secret(org, "ghcr-bot")
    old = _migrate(BEFORE)
    try:
        OldApp, OldService = old.get_model("deploy", "App"), old.get_model("deploy", "Service")
        app = OldApp.objects.create(organization_id=org.pk, name="shop")
        for n in range(3):
            OldService.objects.create(
                app=app, organization_id=org.pk, name=f"web{n}", image=IMAGE,
                registry_secret_id=secret.pk if n else None,
            )  # fmt: skip
        before = dict(OldService.objects.values_list("name", "updated_at"))
    finally:
        _migrate(AFTER)
    services = Service.objects.select_related("latest_deployment").order_by("name")
    assert [(s.name, s.latest_deployment.version, s.latest_deployment.registry_secret_name) for s in services] == [
        ("web0", 1, ""),
        ("web1", 1, "ghcr-bot"),
        ("web2", 1, "ghcr-bot"),
    ]
    for service in services:
        assert service.latest_deployment.created_at == before[service.name]
        assert service.updated_at == before[service.name]  # the migration changed no service's date
        assert service.latest_deployment.image == IMAGE
