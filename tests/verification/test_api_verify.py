"""GET /v1/docker-helper/verify end to end against a real docker-registry on loopback.

Bearer token -> API view -> decrypt the secret -> verification client -> registry
(token auth with per-repository grants). The answer is Koyeb's {success, reason, code}.
"""

from __future__ import annotations

import pytest

from regsecrets.accounts.tokens import token_create
from regsecrets.audit.models import AuditEvent
from regsecrets.registry_secrets.services import secret_create

pytestmark = [pytest.mark.registry, pytest.mark.django_db]


@pytest.fixture
def api_get(client, alice, org):
    _, raw = token_create(user=alice, organization=org, name="verify")

    def get(**params: str):
        return client.get("/v1/docker-helper/verify", params, HTTP_AUTHORIZATION=f"Bearer {raw}")

    return get


@pytest.fixture
def token_secret(settings, token_registry, org, alice):
    tokens = token_registry.extra["tokens"]
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    settings.REGSECRETS_INSECURE_REGISTRIES = frozenset(
        {token_registry.host, f"127.0.0.1:{tokens.port}"}
    )
    settings.REGSECRETS_VERIFY_TIMEOUT = 5.0

    def make(password: str = "alice-pw", name: str = "registry"):
        return secret_create(
            organization=org,
            name=name,
            provider="private_registry",
            data={"url": token_registry.host, "username": "alice", "password": password},
            actor=alice,
        )

    return make


def test_pullable_image_with_good_credentials_succeeds_and_is_audited(
    api_get, token_registry, token_secret
):
    secret = token_secret()
    body = api_get(image=f"{token_registry.host}/team/app:v1", secret_id=str(secret.pk)).json()
    assert body["success"] is True
    assert body["code"] == "UNKNOWN"
    event = AuditEvent.objects.get(action="secret.verified", object_id=str(secret.pk))
    assert event.details["success"] is True


@pytest.mark.parametrize(
    ("image", "password", "code"),
    [
        ("team/app:v1", "wrong-pw", "AUTH_ACCESS_DENIED"),
        ("team/app:missing", "alice-pw", "AUTH_NOT_FOUND"),
        ("team/private:v1", "alice-pw", "AUTH_ACCESS_DENIED"),
    ],
)
def test_failures_carry_koyebs_codes(api_get, token_registry, token_secret, image, password, code):
    secret = token_secret(password=password)
    response = api_get(image=f"{token_registry.host}/{image}", secret_id=str(secret.pk))
    body = response.json()
    assert response.status_code == 200
    assert (body["success"], body["code"]) == (False, code)
    assert body["reason"]
    assert password not in response.content.decode()


def test_anonymous_check_of_a_private_repository_is_denied(api_get, token_registry, token_secret):
    token_secret()  # sets the operator's settings for the loopback registry
    body = api_get(image=f"{token_registry.host}/team/app:v1").json()
    assert (body["success"], body["code"]) == (False, "ANON_ACCESS_DENIED")


def test_anonymous_check_of_a_public_repository_succeeds(api_get, token_registry, token_secret):
    token_secret()
    body = api_get(image=f"{token_registry.host}/public/hello:v1").json()
    assert body["success"] is True


def test_loopback_registry_is_refused_by_default(api_get, token_registry, token_secret, settings):
    secret = token_secret()
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = False
    body = api_get(image=f"{token_registry.host}/team/app:v1", secret_id=str(secret.pk)).json()
    assert body["success"] is False
    assert (body["code"], body["detail_code"]) == ("REGISTRY_ERROR", "FORBIDDEN_ADDRESS")
