"""A credential is never stored or shown as a username.

`doctl registry docker-config` writes ``auth`` as base64(token:token): the first
entry's "username" is the token itself. The display username (a clear column shown
on the list, the detail page, the admin and the API) is left empty when it equals
any credential of the document; the sealed document keeps everything.
"""

from __future__ import annotations

import base64
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client

from regsecrets.accounts.tokens import token_create
from regsecrets.audit.models import AuditEvent
from regsecrets.registries import get_provider
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import (
    secret_config,
    secret_create,
    secret_edit_initial,
    secret_update,
)
from tests.conftest import CANARY

pytestmark = pytest.mark.django_db

TOKEN = f"dop_v1_{CANARY}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Documents whose first entry's username is also a credential somewhere in them.
DOCUMENTS = {
    "doctl": {"auths": {"registry.digitalocean.com": {"auth": _b64(f"{TOKEN}:{TOKEN}")}}},
    "plain-fields": {
        "auths": {"registry.digitalocean.com": {"username": TOKEN, "password": TOKEN}}
    },
    "identity-token": {"auths": {"acme.azurecr.io": {"username": TOKEN, "identitytoken": TOKEN}}},
    "registry-token": {
        "auths": {"registry.example.com": {"username": TOKEN, "registrytoken": TOKEN}}
    },
    "another-entry's-password": {
        "auths": {
            "registry.example.com": {"username": TOKEN, "password": "first-pw"},
            "quay.io": {"auth": _b64(f"robot:{TOKEN}")},
        }
    },
}


@pytest.fixture
def owner_views(alice, org):
    """Every place a secret's clear metadata is shown, as one text per place."""
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser(
        username="root", email="root@example.com", password="unused-in-tests"
    )
    site, admin, api = Client(), Client(), Client()
    site.force_login(alice)
    session = site.session
    session["organization_id"] = org.pk
    session.save()
    admin.force_login(root)
    _, raw = token_create(user=alice, organization=org, name="t")
    bearer = {"Authorization": f"Bearer {raw}"}

    def pages(secret: Secret) -> dict[str, str]:
        urls = {
            "list": (site, "/secrets/", {}),
            "detail": (site, f"/secrets/{secret.pk}/", {}),
            "edit": (site, f"/secrets/{secret.pk}/edit/", {}),
            "admin changelist": (admin, "/admin/registry_secrets/secret/", {}),
            "admin change": (admin, f"/admin/registry_secrets/secret/{secret.pk}/change/", {}),
            "api list": (api, "/v1/secrets", bearer),
            "api get": (api, f"/v1/secrets/{secret.pk}", bearer),
        }
        texts = {}
        for place, (client, url, headers) in urls.items():
            response = client.get(url, headers=headers)
            assert response.status_code == 200, place
            texts[place] = response.content.decode()
        return texts

    return pages


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_config_import_never_shows_a_credential_as_the_username(
    alice_client, org, owner_views, kind
):
    response = alice_client.post(
        "/secrets/new/docker-config/", {"name": "do", "config": json.dumps(DOCUMENTS[kind])}
    )
    assert response.status_code == 302
    secret = Secret.objects.get(name="do")
    assert secret.username == ""
    for place, text in owner_views(secret).items():
        assert CANARY not in text, place
    # The document itself is intact: the token still logs in.
    config = secret_config(secret)
    assert TOKEN in json.dumps(config)


def test_config_import_keeps_a_username_that_is_no_credential(org, alice):
    config = {"auths": {"registry.example.com": {"username": "robot", "password": CANARY}}}
    result = get_provider("docker_config").validate({"config": json.dumps(config)})
    assert result.username == "robot"
    secret = secret_create(
        organization=org,
        name="cfg",
        provider="docker_config",
        data={"config": json.dumps(config)},
        actor=alice,
    )
    assert secret.username == "robot"


@pytest.mark.parametrize(
    "data",
    [
        {"password": TOKEN},  # no username: the token serves as both
        {"password": TOKEN, "username": TOKEN},  # the same, spelled out by the API
    ],
)
def test_digital_ocean_never_shows_the_token_as_username(org, owner_views, alice, data):
    _, raw = token_create(user=alice, organization=org, name="create")
    body = {"name": "do", "type": "REGISTRY", "digital_ocean_registry": data}
    response = Client().post(
        "/v1/secrets",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 200, response.json()
    secret = Secret.objects.get(name="do")
    assert secret.username == ""
    for place, text in owner_views(secret).items():
        assert CANARY not in text, place


def test_username_typed_the_same_as_the_password_is_neither_stored_nor_prefilled(
    org, alice, owner_views
):
    """The backstop in the service holds for every provider, not only the two above."""
    secret = secret_create(
        organization=org,
        name="same",
        provider="private_registry",
        data={"url": "registry.example.com", "username": CANARY, "password": CANARY},
        actor=alice,
    )
    assert secret.username == ""
    assert secret_edit_initial(secret)["username"] == ""
    for place, text in owner_views(secret).items():
        assert CANARY not in text, place
    # An edit to a distinct username shows it again.
    secret = secret_update(
        secret=secret,
        data={"url": "registry.example.com", "username": "deploy", "password": ""},
        actor=alice,
    )
    assert secret.username == "deploy"


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_the_cleanup_command_clears_an_older_rows_credential_username(alice, org, kind):
    """Rows stored before the rule: the token sits in the clear column until the
    command, which decrypts each row, finds it among the row's credentials."""
    secret = secret_create(
        organization=org,
        name="legacy",
        provider="docker_config",
        data={"config": json.dumps(DOCUMENTS[kind])},
        actor=alice,
    )
    Secret.objects.filter(pk=secret.pk).update(username=TOKEN)  # as an older version stored it
    keeper = secret_create(
        organization=org,
        name="honest",
        provider="private_registry",
        data={"url": "registry.example.com", "username": "robot", "password": TOKEN},
        actor=alice,
    )
    out = io.StringIO()
    call_command("clear_credential_usernames", "--dry-run", stdout=out)
    assert "would clear 1" in out.getvalue()
    assert Secret.objects.get(pk=secret.pk).username == TOKEN  # a dry run changes nothing

    out = io.StringIO()
    call_command("clear_credential_usernames", stdout=out)
    assert "2 rows with a username read; cleared 1" in out.getvalue()
    assert Secret.objects.get(pk=secret.pk).username == ""
    assert Secret.objects.get(pk=keeper.pk).username == "robot"  # not a credential: kept
    event = AuditEvent.objects.get(action="secret.username_cleared")
    assert str(event.object_id) == str(secret.pk)
    assert TOKEN not in json.dumps(event.details) + out.getvalue()

    out = io.StringIO()
    call_command("clear_credential_usernames", stdout=out)  # idempotent
    assert "cleared 0" in out.getvalue()
