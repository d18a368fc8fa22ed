"""The JSON and fragment endpoints behind the service form's script."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from regsecrets.registry_secrets.models import Secret
from tests.conftest import CANARY

pytestmark = pytest.mark.django_db


def test_fields_fragment_is_the_secret_form_with_its_own_ids(alice_client):
    response = alice_client.get(reverse("deploy:inline_secret_fields", args=["github"]))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="secret_name"' in body
    assert 'id="secret_password"' in body
    assert 'name="password"' in body
    assert 'type="password"' in body
    assert "<html" not in body


def test_fields_fragment_for_unknown_provider_is_404(alice_client):
    assert (
        alice_client.get(reverse("deploy:inline_secret_fields", args=["nope"])).status_code == 404
    )


def test_inline_create_returns_the_option_and_audits(alice_client, org):
    url = reverse("deploy:inline_secret_create", args=["github"])
    response = alice_client.post(
        url, {"name": "ghcr-new", "username": "octocat", "password": CANARY}
    )
    assert response.status_code == 201
    secret = Secret.objects.get(organization=org, name="ghcr-new")
    assert response.json() == {
        "id": str(secret.pk),
        "name": "ghcr-new",
        "label": "ghcr-new (ghcr.io)",
    }
    assert CANARY not in response.content.decode()
    assert AuditEvent.objects.filter(action="secret.created", object_id=str(secret.pk)).exists()


def test_inline_create_errors_are_json_by_field_and_never_echo_the_credential(
    alice_client, org, make_secret
):
    make_secret(org, "taken")
    url = reverse("deploy:inline_secret_create", args=["github"])
    response = alice_client.post(url, {"name": "taken", "username": "", "password": CANARY})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "username" in errors
    assert CANARY not in response.content.decode()
    response = alice_client.post(url, {"name": "taken", "username": "octocat", "password": CANARY})
    assert response.status_code == 400
    assert "already exists" in response.json()["errors"]["name"][0]
    assert Secret.objects.filter(organization=org).count() == 1


def test_inline_create_requires_csrf_token(alice, org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = reverse("deploy:inline_secret_create", args=["github"])
    response = client.post(url, {"name": "x-secret", "username": "octocat", "password": "p"})
    assert response.status_code == 403
    assert not Secret.objects.exists()


def test_inline_create_is_get_proof(alice_client):
    assert (
        alice_client.get(reverse("deploy:inline_secret_create", args=["github"])).status_code == 405
    )


def test_suggestion_names_matching_secrets_of_this_organization_only(
    alice_client, ghcr_secret, other_org, make_secret
):
    make_secret(other_org, "globex-ghcr")
    response = alice_client.get(
        reverse("deploy:secret_suggestion"), {"image": "ghcr.io/acme/web:1"}
    )
    assert response.json() == {
        "registry": "ghcr.io",
        "provider": "github",  # what the inline panel offers first
        "matches": [
            {
                "id": str(ghcr_secret.pk),
                "name": "ghcr-bot",
                "label": "ghcr-bot (ghcr.io)",
                "registry": "ghcr.io",
            }
        ],
    }


def test_suggestion_for_other_registry_or_bad_image(alice_client, ghcr_secret):
    url = reverse("deploy:secret_suggestion")
    assert alice_client.get(url, {"image": "nginx"}).json() == {
        "registry": "docker.io",
        "provider": "docker-hub",
        "matches": [],
    }
    body = alice_client.get(url, {"image": "UPPER/Case"}).json()
    assert body["matches"] == []
    assert body["error"]
