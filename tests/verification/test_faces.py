"""The web faces of verification against a real docker-registry on loopback.

The secret pages' "Test credentials" (detail, create and edit forms) and the
service form's "Verify image", end to end through the views: Django test client
-> view -> decrypt -> client -> docker-registry (htpasswd or token auth).
"""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache

from regsecrets.audit.models import AuditEvent
from regsecrets.registries.outcomes import outcome_for
from regsecrets.registry_secrets.services import secret_create

pytestmark = [pytest.mark.registry, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def self_hosted(settings, htpasswd_registry, token_registry):
    """What the operator of a self-hosted registry sets: private allowed, HTTP listed."""
    tokens = token_registry.extra["tokens"]
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    settings.REGSECRETS_INSECURE_REGISTRIES = frozenset(
        {htpasswd_registry.host, token_registry.host, f"127.0.0.1:{tokens.port}"}
    )
    settings.REGSECRETS_VERIFY_TIMEOUT = 5.0


def private_input(host: str, password: str = "alice-pw") -> dict[str, str]:
    return {"url": host, "username": "alice", "password": password}


@pytest.fixture
def make_registry_secret(org, alice):
    def make(host: str, password: str = "alice-pw", name: str = "self-hosted"):
        return secret_create(
            organization=org,
            name=name,
            provider="private_registry",
            data=private_input(host, password),
            actor=alice,
        )

    return make


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Detail page -------------------------------------------------------------------


@pytest.mark.usefixtures("self_hosted")
def test_detail_good_credentials_log_in(alice_client, htpasswd_registry, make_registry_secret):
    secret = make_registry_secret(htpasswd_registry.host)
    response = alice_client.post(f"/secrets/{secret.pk}/test/", follow=True)
    (message,) = messages_of(response)
    assert message == (
        f"{htpasswd_registry.host}: The credentials log in to {htpasswd_registry.host}."
    )
    event = AuditEvent.objects.get(action="secret.verified")
    assert event.details == {
        "check": "credentials",
        "host": htpasswd_registry.host,
        "success": True,
        "code": "",
    }


@pytest.mark.usefixtures("self_hosted")
def test_detail_wrong_password_is_auth_access_denied(
    alice_client, htpasswd_registry, make_registry_secret
):
    secret = make_registry_secret(htpasswd_registry.host, password="wrong-Pa55-b7e1")
    response = alice_client.post(f"/secrets/{secret.pk}/test/", follow=True)
    (message,) = messages_of(response)
    # A sentence, what to do next, and the code last as a detail.
    assert message.startswith(f"{htpasswd_registry.host} failed: ")
    assert "edit the secret" in message
    assert message.endswith("(code AUTH_ACCESS_DENIED)")
    assert "wrong-Pa55-b7e1" not in response.content.decode()
    event = AuditEvent.objects.get(action="secret.verified")
    assert event.details["code"] == "AUTH_ACCESS_DENIED"
    assert "wrong-Pa55-b7e1" not in json.dumps(event.details)


@pytest.mark.usefixtures("self_hosted")
def test_detail_with_token_auth_logs_in(alice_client, token_registry, make_registry_secret):
    secret = make_registry_secret(token_registry.host)
    response = alice_client.post(f"/secrets/{secret.pk}/test/", follow=True)
    (message,) = messages_of(response)
    assert message.startswith(f"{token_registry.host}: The credentials log in")


def test_detail_refuses_loopback_by_default(alice_client, htpasswd_registry, make_registry_secret):
    secret = make_registry_secret(htpasswd_registry.host)
    response = alice_client.post(f"/secrets/{secret.pk}/test/", follow=True)
    (message,) = messages_of(response)
    assert message.startswith(f"{htpasswd_registry.host} failed: ")
    assert message.endswith("(code FORBIDDEN_ADDRESS)")
    assert "REGSECRETS_" not in message


# --- Create and edit forms (before saving) ----------------------------------------


@pytest.mark.usefixtures("self_hosted")
@pytest.mark.parametrize(
    ("password", "success", "code"),
    [("alice-pw", True, ""), ("nope-wrong", False, "AUTH_ACCESS_DENIED")],
)
@pytest.mark.parametrize("registry", ["htpasswd_registry", "token_registry"])
def test_create_form_tests_typed_credentials(
    alice_client, request, registry, password, success, code
):
    host = request.getfixturevalue(registry).host
    response = alice_client.post("/secrets/new/private/test/", private_input(host, password))
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "host": host,
            "success": success,
            "code": code,
            "reason": response.json()["results"][0]["reason"],
            # A failure says what to do next; the code stays a secondary detail.
            "next_step": outcome_for(code).next_step if code else "",
        }
    ]
    assert "nope-wrong" not in response.content.decode()


@pytest.mark.usefixtures("self_hosted")
def test_create_form_tests_a_pasted_config(alice_client, htpasswd_registry, docker_config):
    config = docker_config(htpasswd_registry.host, "alice", "alice-pw")
    response = alice_client.post("/secrets/new/docker-config/test/", {"config": json.dumps(config)})
    (result,) = response.json()["results"]
    assert result["success"] is True, result


@pytest.mark.usefixtures("self_hosted")
def test_edit_form_test_uses_the_stored_password_when_left_empty(
    alice_client, htpasswd_registry, make_registry_secret
):
    secret = make_registry_secret(htpasswd_registry.host)
    url = f"/secrets/{secret.pk}/edit/test/"
    kept = alice_client.post(url, private_input(htpasswd_registry.host, password=""))
    assert kept.json()["results"][0]["success"] is True
    typed = alice_client.post(url, private_input(htpasswd_registry.host, password="typo-pw"))
    assert typed.json()["results"][0]["code"] == "AUTH_ACCESS_DENIED"
    # Testing saved nothing: the stored password still logs in.
    assert alice_client.post(url, private_input(htpasswd_registry.host, "")).json()["results"][0][
        "success"
    ]


# --- Service form: verify image ------------------------------------------------------


def verify(client, image: str, secret=None):
    return client.post(
        "/services/verify-image/", {"image": image, "secret": str(secret.pk) if secret else ""}
    )


@pytest.mark.usefixtures("self_hosted")
@pytest.mark.parametrize("registry", ["htpasswd_registry", "token_registry"])
def test_verify_existing_tag_with_the_secret_succeeds(
    alice_client, request, registry, make_registry_secret
):
    host = request.getfixturevalue(registry).host
    secret = make_registry_secret(host)
    response = verify(alice_client, f"{host}/team/app:v1", secret)
    body = response.json()
    assert body["success"] is True, body
    assert body["code"] == ""
    assert body["registry"] == host
    assert "team/app:v1 can be pulled with the stored credentials" in body["reason"]
    event = AuditEvent.objects.get(action="secret.verified")
    assert event.details["check"] == "image"
    assert event.details["success"] is True


@pytest.mark.usefixtures("self_hosted")
def test_verify_missing_tag_with_the_secret_is_auth_not_found(
    alice_client, htpasswd_registry, make_registry_secret
):
    secret = make_registry_secret(htpasswd_registry.host)
    body = verify(alice_client, f"{htpasswd_registry.host}/team/app:nope", secret).json()
    assert body["success"] is False
    assert body["code"] == "AUTH_NOT_FOUND"
    assert "team/app:nope" in body["reason"]


@pytest.mark.usefixtures("self_hosted")
def test_verify_missing_public_tag_without_a_secret_is_anon_not_found(alice_client, token_registry):
    body = verify(alice_client, f"{token_registry.host}/public/hello:nope").json()
    assert body["code"] == "ANON_NOT_FOUND"
    assert verify(alice_client, f"{token_registry.host}/public/hello:v1").json()["success"]


@pytest.mark.usefixtures("self_hosted")
@pytest.mark.parametrize("registry", ["htpasswd_registry", "token_registry"])
def test_verify_without_a_secret_on_an_auth_registry_is_anon_access_denied(
    alice_client, request, registry
):
    host = request.getfixturevalue(registry).host
    body = verify(alice_client, f"{host}/team/app:v1").json()
    assert body["code"] == "ANON_ACCESS_DENIED"
    assert not AuditEvent.objects.filter(action="secret.verified").exists()


@pytest.mark.usefixtures("self_hosted")
def test_verify_with_a_wrong_password_is_auth_access_denied(
    alice_client, htpasswd_registry, make_registry_secret
):
    secret = make_registry_secret(htpasswd_registry.host, password="bad-Pw-3c9")
    response = verify(alice_client, f"{htpasswd_registry.host}/team/app:v1", secret)
    assert response.json()["code"] == "AUTH_ACCESS_DENIED"
    assert "bad-Pw-3c9" not in response.content.decode()


def test_verify_refuses_loopback_by_default(alice_client, htpasswd_registry, make_registry_secret):
    # The SSRF guard's default: REGSECRETS_ALLOW_PRIVATE_REGISTRIES is off.
    secret = make_registry_secret(htpasswd_registry.host)
    body = verify(alice_client, f"{htpasswd_registry.host}/team/app:v1", secret).json()
    assert body["code"] == "FORBIDDEN_ADDRESS"
    assert "private network" in body["reason"] or "non-public" in body["reason"]
    assert "REGSECRETS_" not in body["reason"]
