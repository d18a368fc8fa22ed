"""Service pages: create, detail, edit, delete; secret choice, matching, suggestions."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.models import Service
from regsecrets.deploy.services import app_create, service_create
from regsecrets.registry_secrets.services import SecretInUse, secret_delete

pytestmark = pytest.mark.django_db


def _create_url(app) -> str:
    return reverse("deploy:service_create", args=[app.pk])


def test_service_form_lists_public_choice_own_secrets_and_create_new(
    alice_client, app, ghcr_secret, other_org, make_secret
):
    make_secret(other_org, "globex-secret")
    body = alice_client.get(_create_url(app)).content.decode()
    assert "No secret (public image)" in body
    assert "ghcr-bot (ghcr.io)" in body
    assert "Create a new registry secret…" in body
    assert "globex-secret" not in body
    assert "js/service-form.js" in body


def test_create_public_service(alice_client, app):
    response = alice_client.post(
        _create_url(app), {"name": "web", "image": "nginx:1.27", "registry_secret": ""}
    )
    service = Service.objects.get(app=app, name="web")
    assert response.status_code == 302
    assert response["Location"] == reverse("deploy:service_detail", args=[service.pk])
    assert service.registry_secret is None
    assert service.organization_id == app.organization_id
    event = AuditEvent.objects.get(action="service.created")
    assert event.details["app"] == "shop"


def test_create_service_with_matching_secret(alice_client, app, ghcr_secret):
    response = alice_client.post(
        _create_url(app),
        {"name": "web", "image": "ghcr.io/acme/web:1", "registry_secret": str(ghcr_secret.pk)},
    )
    assert response.status_code == 302
    assert Service.objects.get(name="web").registry_secret == ghcr_secret


def test_invalid_image_reference_is_a_field_error_and_input_is_kept(alice_client, app):
    response = alice_client.post(
        _create_url(app), {"name": "web", "image": "Ghcr.io/UPPER/Case::x"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="error_1_id_image"' in body or "is-invalid" in body
    assert 'value="web"' in body
    assert not Service.objects.exists()


def test_secret_that_does_not_serve_the_image_is_a_field_error(alice_client, app, ghcr_secret):
    response = alice_client.post(
        _create_url(app),
        {"name": "web", "image": "docker.io/acme/web", "registry_secret": str(ghcr_secret.pk)},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "ghcr.io" in body
    assert "docker.io" in body
    assert "do not serve images on docker.io" in body
    assert not Service.objects.exists()


def test_another_organizations_secret_is_never_accepted(alice_client, app, other_org, make_secret):
    foreign = make_secret(other_org, "globex-secret")
    response = alice_client.post(
        _create_url(app),
        {"name": "web", "image": "ghcr.io/acme/web", "registry_secret": str(foreign.pk)},
    )
    assert response.status_code == 200
    assert "Choose one of this organization" in response.content.decode()
    assert not Service.objects.exists()


def test_duplicate_service_name_in_app_is_a_field_error(alice_client, app, service):
    response = alice_client.post(_create_url(app), {"name": "web", "image": "nginx"})
    assert "already exists" in response.content.decode()
    assert Service.objects.count() == 1


def test_no_secret_but_a_matching_one_suggests_it_before_saving(alice_client, app, ghcr_secret):
    data = {"name": "web", "image": "ghcr.io/acme/web:1", "registry_secret": ""}
    response = alice_client.post(_create_url(app), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "The secret “ghcr-bot” matches the registry" in body
    assert "This image is public" in body
    assert not Service.objects.exists()
    # Confirming the image is public saves without a secret.
    response = alice_client.post(_create_url(app), {**data, "public_image": "on"})
    assert response.status_code == 302
    assert Service.objects.get(name="web").registry_secret is None


def test_using_the_suggested_secret_saves_with_it(alice_client, app, ghcr_secret):
    data = {
        "name": "web",
        "image": "ghcr.io/acme/web:1",
        "registry_secret": "",
        "use_secret": str(ghcr_secret.pk),
    }
    response = alice_client.post(_create_url(app), data)
    assert response.status_code == 302
    assert Service.objects.get(name="web").registry_secret == ghcr_secret


def test_no_suggestion_when_no_secret_serves_the_registry(alice_client, app, ghcr_secret):
    response = alice_client.post(_create_url(app), {"name": "web", "image": "quay.io/acme/web"})
    assert response.status_code == 302


def test_choosing_new_secret_without_javascript_goes_to_the_secret_pages_and_keeps_input(
    alice_client, app
):
    response = alice_client.post(
        _create_url(app), {"name": "web", "image": "ghcr.io/acme/web", "registry_secret": "new"}
    )
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("registry_secrets:new")
    back = urlsplit(parse_qs(location.query)["next"][0])
    assert back.path == _create_url(app)
    assert parse_qs(back.query) == {"name": ["web"], "image": ["ghcr.io/acme/web"]}
    assert not Service.objects.exists()


def test_return_from_secret_pages_preselects_the_new_secret(alice_client, app, ghcr_secret):
    response = alice_client.get(
        _create_url(app),
        {"name": "web", "image": "ghcr.io/acme/web", "secret": str(ghcr_secret.pk)},
    )
    body = response.content.decode()
    assert f'<option value="{ghcr_secret.pk}" selected>' in body
    assert 'value="ghcr.io/acme/web"' in body


def test_return_with_another_organizations_secret_selects_nothing(
    alice_client, app, other_org, make_secret
):
    foreign = make_secret(other_org, "globex-secret")
    body = alice_client.get(_create_url(app), {"secret": str(foreign.pk)}).content.decode()
    assert str(foreign.pk) not in body
    assert "globex-secret" not in body


def test_service_detail_shows_secret_and_pull_key(alice_client, service):
    response = alice_client.get(reverse("deploy:service_detail", args=[service.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "ghcr-bot" in body
    assert "Pull authenticated by" in body
    assert "ghcr.io" in body
    assert "ghp_x" not in body


def test_service_detail_names_the_most_specific_key(alice_client, org, app, make_secret):
    secret = make_secret(
        org,
        "multi",
        provider="docker_config",
        data={
            "config": '{"auths": {"registry.example.com": {"username": "a", "password": "p1"},'
            ' "registry.example.com/team": {"username": "b", "password": "p2"}}}'
        },
    )
    service = service_create(
        app=app, name="api", image="registry.example.com/team/api:2", registry_secret=secret
    )
    body = alice_client.get(reverse("deploy:service_detail", args=[service.pk])).content.decode()
    assert "registry.example.com/team" in body.split("Pull authenticated by")[1]


def test_edit_changes_and_removes_the_secret_and_audits(alice_client, service, org, make_secret):
    other = make_secret(org, "ghcr-two")
    url = reverse("deploy:service_edit", args=[service.pk])
    page = alice_client.get(url).content.decode()
    assert 'value="ghcr.io/acme/web:1.0"' in page
    response = alice_client.post(
        url, {"name": "web", "image": "ghcr.io/acme/web:1.1", "registry_secret": str(other.pk)}
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.registry_secret == other
    assert service.image == "ghcr.io/acme/web:1.1"
    event = AuditEvent.objects.filter(action="service.updated").latest("id")
    assert event.details["changed_fields"] == ["image", "registry_secret"]
    # Removing the secret while one matches asks first; confirming removes it.
    response = alice_client.post(
        url, {"name": "web", "image": "ghcr.io/acme/web:1.1", "registry_secret": ""}
    )
    assert "select it?" in response.content.decode()
    response = alice_client.post(
        url,
        {
            "name": "web",
            "image": "ghcr.io/acme/web:1.1",
            "registry_secret": "",
            "public_image": "on",
        },
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.registry_secret is None


def test_edit_public_service_name_only_asks_nothing(alice_client, app, ghcr_secret):
    service = service_create(app=app, name="web", image="ghcr.io/acme/public", registry_secret=None)
    url = reverse("deploy:service_edit", args=[service.pk])
    response = alice_client.post(
        url, {"name": "www", "image": "ghcr.io/acme/public", "registry_secret": ""}
    )
    assert response.status_code == 302
    service.refresh_from_db()
    assert service.name == "www"


def test_edit_with_mismatching_secret_is_refused(alice_client, service, org, make_secret):
    hub = make_secret(
        org, "hub", provider="docker_hub_registry", data={"username": "acme", "password": "x"}
    )
    url = reverse("deploy:service_edit", args=[service.pk])
    response = alice_client.post(
        url, {"name": "web", "image": "ghcr.io/acme/web:1.0", "registry_secret": str(hub.pk)}
    )
    assert "do not serve images on ghcr.io" in response.content.decode()
    service.refresh_from_db()
    assert service.registry_secret.name == "ghcr-bot"


def test_delete_service_asks_then_deletes_and_audits(alice_client, service, app):
    url = reverse("deploy:service_delete", args=[service.pk])
    assert alice_client.get(url).status_code == 200
    response = alice_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("deploy:app_detail", args=[app.pk])
    assert not Service.objects.exists()
    assert AuditEvent.objects.filter(action="service.deleted").exists()


def test_secret_used_by_a_service_cannot_be_deleted(service, ghcr_secret):
    with pytest.raises(SecretInUse):
        secret_delete(secret=ghcr_secret)


def test_other_organizations_service_is_404_everywhere(alice_client, other_org, make_secret):
    foreign_app = app_create(organization=other_org, name="globex-app")
    foreign = service_create(app=foreign_app, name="web", image="nginx", registry_secret=None)
    for name in ("deploy:service_detail", "deploy:service_edit", "deploy:service_delete"):
        assert alice_client.get(reverse(name, args=[foreign.pk])).status_code == 404
    assert alice_client.post(reverse("deploy:service_delete", args=[foreign.pk])).status_code == 404
    assert (
        alice_client.post(
            reverse("deploy:service_edit", args=[foreign.pk]), {"name": "x1", "image": "nginx"}
        ).status_code
        == 404
    )
    foreign.refresh_from_db()
    assert foreign.name == "web"
