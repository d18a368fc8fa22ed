"""A secret whose provider left the catalogue: a clear 409 to edit it, never a 500.

Such a row is made by rewriting the provider column, as a release that drops a
provider would leave it. Reading it (list, detail, get, reveal, verification,
delete) still works from the stored metadata and document; editing needs the
provider's rules, so every face refuses the edit with one message that names the
stored provider key and no credential.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from regsecrets.registry_secrets.models import Secret
from tests.api.conftest import PROVIDER_PAYLOADS, Api
from tests.conftest import CANARY

pytestmark = pytest.mark.django_db

GONE = "gone_registry"


@pytest.fixture
def gone(org, alice) -> Secret:
    from regsecrets.registry_secrets.services import secret_create

    secret = secret_create(
        organization=org,
        name="legacy",
        provider="private_registry",
        data=PROVIDER_PAYLOADS["private_registry"],
        actor=alice,
    )
    Secret.objects.filter(pk=secret.pk).update(provider=GONE)
    return Secret.objects.get(pk=secret.pk)


@pytest.fixture
def api(client, alice, org) -> Api:
    from regsecrets.accounts.tokens import token_create

    client.raise_request_exception = False
    return Api(client, token_create(user=alice, organization=org, name="t")[1])


def _unchanged(secret: Secret) -> bool:
    row = Secret.objects.get(pk=secret.pk)
    return (row.document, row.updated_at, row.provider) == (
        secret.document,
        secret.updated_at,
        GONE,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"private_registry": {"username": "x"}},
        {"name": "legacy", "private_registry": {"username": "x", "password": "p", "url": "r.example.com"}},
        {},
    ],
    ids=["provider-object", "full", "empty"],
)
@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_an_api_edit_of_a_secret_whose_provider_left_is_a_409(api, gone, method, body):
    response = api.call(method, f"/v1/secrets/{gone.pk}", body)
    assert response.status_code == 409
    reply = response.json()
    assert reply["code"] == "UNKNOWN_PROVIDER"
    assert reply["status"] == 409
    assert f"“{GONE}”" in reply["message"]
    assert CANARY not in response.content.decode()
    assert _unchanged(gone)


def test_reading_a_secret_whose_provider_left_still_works_in_the_api(api, gone):
    response = api.get(f"/v1/secrets/{gone.pk}")
    assert response.status_code == 200
    assert response.json()["secret"]["id"] == str(gone.pk)
    assert CANARY not in response.content.decode()
    assert api.get("/v1/secrets").status_code == 200
    # Owners can still take the credentials out, to move them to a supported type.
    response = api.post(f"/v1/secrets/{gone.pk}/reveal")
    assert response.status_code == 200
    assert response.json()["value"]["password"] == CANARY
    response = api.get(
        "/v1/docker-helper/verify", {"image": "registry.example.com:5000/a:1", "secret_id": str(gone.pk)}
    )
    assert response.status_code == 200


def test_the_site_edit_page_of_such_a_secret_explains_instead_of_failing(alice_client, gone):
    for response in (
        alice_client.get(reverse("registry_secrets:edit", args=[gone.pk])),
        alice_client.post(reverse("registry_secrets:edit", args=[gone.pk]), {"username": "x"}),
    ):
        assert response.status_code == 409
        page = response.content.decode()
        assert f"“{GONE}”" in page
        assert "no longer supported" in page
        assert CANARY not in page
    response = alice_client.post(
        reverse("registry_secrets:edit_test", args=[gone.pk]), {"username": "x"}
    )
    assert response.status_code == 409
    assert "no longer supported" in response.json()["error"]
    assert alice_client.get(reverse("registry_secrets:detail", args=[gone.pk])).status_code == 200
    assert alice_client.get(reverse("registry_secrets:list")).status_code == 200
    assert _unchanged(gone)


def test_the_admin_change_page_of_such_a_secret_is_read_only_with_the_reason(
    gone, django_user_model
):
    root = django_user_model.objects.create_superuser(
        username="root", email="root@example.com", password="unused-in-tests"
    )
    admin = Client(raise_request_exception=False)
    admin.force_login(root)
    url = reverse("admin:registry_secrets_secret_change", args=[gone.pk])
    for response in (admin.get(url), admin.post(url, {"username": "x", "password": "p"})):
        assert response.status_code == 200
        page = response.content.decode()
        assert f"“{GONE}”" in page
        assert "no longer supported" in page
        assert 'name="password"' not in page
        assert CANARY not in page
    assert _unchanged(gone)
    assert admin.get(reverse("admin:registry_secrets_secret_changelist")).status_code == 200
