"""The API's health extension: a health object on each secret, expires_at in and out."""

from __future__ import annotations

import pytest

from regsecrets.registry_secrets.models import Secret
from tests.conftest import CANARY

from .conftest import create_body

pytestmark = pytest.mark.django_db


def test_created_secret_has_expires_at_and_an_unknown_health(api):
    body = create_body("ghcr", "github_registry")
    body["expires_at"] = "2031-01-31"
    reply = api.post("/v1/secrets", body)
    assert reply.status_code == 200, reply.content
    health = reply.json()["secret"]["health"]
    assert health == {
        "status": "UNKNOWN", "code": "", "reason": "", "checked_at": None, "expires_at": "2031-01-31",
    }
    assert CANARY not in reply.content.decode()


def test_patch_sets_and_clears_expires_at_and_absent_keeps_it(api, make_secret):
    secret = make_secret()
    path = f"/v1/secrets/{secret.pk}"
    assert api.patch(path, {"expires_at": "2030-05-01"}).json()["secret"]["health"]["expires_at"] == "2030-05-01"
    assert api.patch(path, {"github_registry": {"username": "octocat"}}).status_code == 200
    assert Secret.objects.get(pk=secret.pk).expires_at.isoformat() == "2030-05-01"
    assert api.patch(path, {"expires_at": None}).json()["secret"]["health"]["expires_at"] is None


def test_a_malformed_expires_at_is_a_field_error_and_nothing_is_saved(api):
    body = create_body("ghcr", "github_registry")
    body["expires_at"] = "next tuesday"
    reply = api.post("/v1/secrets", body)
    assert reply.status_code == 400
    assert "expires_at" in reply.content.decode()
    assert not Secret.objects.exists()


def test_list_shows_each_secrets_health(api, make_secret):
    secret = make_secret()
    Secret.objects.filter(pk=secret.pk).update(
        health_status="FAILING", health_code="AUTH_ACCESS_DENIED", health_reason="rejected"
    )
    health = api.get("/v1/secrets").json()["secrets"][0]["health"]
    assert (health["status"], health["code"]) == ("FAILING", "AUTH_ACCESS_DENIED")
