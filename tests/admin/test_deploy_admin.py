"""App and Service admin: the secret picker is scoped to the service's organization."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.models import App, Service
from regsecrets.deploy.services import app_create
from tests.admin.conftest import assert_no_secret

pytestmark = pytest.mark.django_db

AUTOCOMPLETE = "admin:autocomplete"


def _autocomplete(admin, **params) -> set[str]:
    query = {
        "app_label": "deploy",
        "model_name": "service",
        "field_name": "registry_secret",
        **params,
    }
    response = admin.get(reverse(AUTOCOMPLETE), query)
    assert response.status_code == 200
    assert_no_secret(response.content)
    return {r["text"] for r in json.loads(response.content)["results"]}


@pytest.fixture
def two_orgs(org, other_org, make_secret):
    return make_secret(org, "ours"), make_secret(other_org, "theirs")


def test_autocomplete_is_restricted_to_the_forwarded_organization(admin, org, other_org, two_orgs):
    assert _autocomplete(admin, organization=org.pk) == {"ours"}
    assert _autocomplete(admin, organization=other_org.pk) == {"theirs"}
    assert _autocomplete(admin, organization=org.pk, term="the") == set()
    # Without an organization (a new service with no app yet) the form's clean decides.
    assert _autocomplete(admin) == {"ours", "theirs"}


def test_the_organization_is_forwarded_only_for_the_service_field(admin, org, two_orgs):
    response = admin.get(
        reverse(AUTOCOMPLETE),
        {
            "app_label": "deploy",
            "model_name": "service",
            "field_name": "app",
            "organization": org.pk,
        },
    )
    assert response.status_code == 200  # apps, unaffected by the secret filter


def test_service_change_page_forwards_its_organization(admin, org, two_orgs, make_service):
    service = make_service(two_orgs[0])
    page = admin.get(reverse("admin:deploy_service_change", args=[service.pk])).content.decode()
    assert f"/admin/autocomplete/?organization={org.pk}" in page
    assert_no_secret(page)


def test_service_add_page_forwards_the_organization_of_the_app_in_the_query(admin, org, two_orgs):
    app = app_create(organization=org, name="shop")
    page = admin.get(reverse("admin:deploy_service_add") + f"?app={app.pk}").content.decode()
    assert f"/admin/autocomplete/?organization={org.pk}" in page
    page = admin.get(reverse("admin:deploy_service_add") + "?app=not-a-uuid").content.decode()
    assert "/admin/autocomplete/?organization" not in page


def test_a_secret_of_another_organization_is_a_field_error(admin, org, two_orgs):
    app = app_create(organization=org, name="shop")
    response = admin.post(
        reverse("admin:deploy_service_add"),
        {
            "app": app.pk,
            "name": "web",
            "image": "registry.example.com/web:1",
            "registry_secret": two_orgs[1].pk,
        },
    )
    assert response.status_code == 200
    assert "registry_secret" in response.context["adminform"].form.errors
    assert not Service.objects.exists()


def test_a_secret_that_does_not_serve_the_image_is_a_field_error(admin, org, two_orgs):
    app = app_create(organization=org, name="shop")
    response = admin.post(
        reverse("admin:deploy_service_add"),
        {
            "app": app.pk,
            "name": "web",
            "image": "ghcr.io/acme/web:1",
            "registry_secret": two_orgs[0].pk,
        },
    )
    assert response.status_code == 200
    assert "registry_secret" in response.context["adminform"].form.errors


def test_an_invalid_image_is_a_field_error(admin, org):
    app = app_create(organization=org, name="shop")
    response = admin.post(
        reverse("admin:deploy_service_add"), {"app": app.pk, "name": "web", "image": "UPPER/Case::"}
    )
    assert "image" in response.context["adminform"].form.errors


def test_add_and_change_a_service_through_the_services(admin, superuser, org, two_orgs):
    app = app_create(organization=org, name="shop")
    response = admin.post(
        reverse("admin:deploy_service_add"),
        {
            "app": app.pk,
            "name": "web",
            "image": "registry.example.com/web:1",
            "registry_secret": two_orgs[0].pk,
        },
    )
    assert response.status_code == 302
    service = Service.objects.get()
    assert service.organization == org
    assert AuditEvent.objects.filter(action="service.created", actor=superuser).exists()

    url = reverse("admin:deploy_service_change", args=[service.pk])
    response = admin.post(
        url, {"name": "web", "image": "registry.example.com/web:2", "registry_secret": ""}
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert (service.image, service.registry_secret) == ("registry.example.com/web:2", None)
    event = AuditEvent.objects.get(action="service.updated")
    assert event.details["changed_fields"] == ["image", "registry_secret"]


def test_a_rename_onto_a_taken_name_is_a_field_error(admin, org, two_orgs, make_service):
    make_service(two_orgs[0], name="api")
    other = make_service(two_orgs[0], name="worker")
    url = reverse("admin:deploy_service_change", args=[other.pk])
    response = admin.post(url, {"name": "api", "image": "registry.example.com/api:1"})
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors


def test_delete_service_then_the_secret_can_go(admin, two_orgs, make_service):
    service = make_service(two_orgs[0])
    admin.post(reverse("admin:deploy_service_delete", args=[service.pk]), {"post": "yes"})
    assert not Service.objects.exists()
    assert AuditEvent.objects.filter(action="service.deleted").exists()


def test_app_admin_adds_through_app_create_and_deletes_with_services(
    admin, superuser, org, two_orgs, make_service
):
    response = admin.post(reverse("admin:deploy_app_add"), {"organization": org.pk, "name": "shop"})
    assert response.status_code == 302
    app = App.objects.get(name="shop")
    assert AuditEvent.objects.filter(action="app.created", actor=superuser).exists()
    page = admin.get(reverse("admin:deploy_app_changelist")).content.decode()
    assert "shop" in page
    service = make_service(two_orgs[0])
    change = admin.get(reverse("admin:deploy_app_change", args=[service.app.pk]))
    assert change.status_code == 200
    assert_no_secret(change.content)
    admin.post(reverse("admin:deploy_app_delete", args=[service.app.pk]), {"post": "yes"})
    assert not Service.objects.exists()
    assert App.objects.filter(pk=app.pk).exists()
    assert AuditEvent.objects.filter(action="app.deleted").exists()
