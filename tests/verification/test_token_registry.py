"""Verification against a real docker-registry with token (Bearer) auth."""

from __future__ import annotations

import base64

import pytest

from regsecrets.registries.client import (
    ANON_ACCESS_DENIED,
    AUTH_ACCESS_DENIED,
    AUTH_NOT_FOUND,
    check_credentials,
    check_image,
)
from regsecrets.registries.matching import Credential

pytestmark = pytest.mark.registry


@pytest.fixture
def tokens(token_registry):
    server = token_registry.extra["tokens"]
    server.requests.clear()
    return server


def test_login_with_good_credentials_gets_an_unscoped_token_and_succeeds(
    token_registry, token_options, tokens
):
    credential = Credential(token_registry.host, "alice", "alice-pw")
    result = check_credentials(token_registry.host, credential, options=token_options)
    assert result.success, result.reason
    (request,) = tokens.requests
    assert request["method"] == "GET"
    assert "scope" not in request["query"]
    assert request["query"]["account"] == ["alice"]
    assert request["query"]["service"] == ["regsecrets-test-registry"]
    assert request["authorization"] == "Basic " + base64.b64encode(b"alice:alice-pw").decode()


def test_login_with_wrong_password_is_auth_access_denied(token_registry, token_options, tokens):
    credential = Credential(token_registry.host, "alice", "wrong-pw")
    result = check_credentials(token_registry.host, credential, options=token_options)
    assert result.code == AUTH_ACCESS_DENIED
    assert "wrong-pw" not in result.reason


def test_login_with_identity_token_uses_oauth2_refresh_post(token_registry, token_options, tokens):
    credential = Credential(token_registry.host, "<token>", "", identitytoken="alice-refresh")
    result = check_credentials(token_registry.host, credential, options=token_options)
    assert result.success, result.reason
    (request,) = tokens.requests
    assert request["method"] == "POST"
    assert request["form"]["grant_type"] == ["refresh_token"]
    assert request["form"]["refresh_token"] == ["alice-refresh"]


def test_login_with_unknown_identity_token_is_auth_access_denied(
    token_registry, token_options, tokens
):
    credential = Credential(token_registry.host, "<token>", "", identitytoken="stolen-refresh")
    result = check_credentials(token_registry.host, credential, options=token_options)
    assert result.code == AUTH_ACCESS_DENIED
    assert "stolen-refresh" not in result.reason


def test_registry_token_is_used_as_is(token_registry, token_options, tokens, docker_config):
    token = tokens.issue("alice", "regsecrets-test-registry", ["repository:team/app:pull"])["token"]
    config = {"auths": {token_registry.host: {"registrytoken": token}}}
    result = check_image(f"{token_registry.host}/team/app:v1", config, options=token_options)
    assert result.success, result.reason
    assert tokens.requests == []


def test_existing_tag_can_be_pulled_with_credentials(
    token_registry, token_options, tokens, docker_config
):
    config = docker_config(token_registry.host, "alice", "alice-pw")
    result = check_image(f"{token_registry.host}/team/app:v1", config, options=token_options)
    assert result.success, result.reason
    (request,) = tokens.requests
    assert request["query"]["scope"] == ["repository:team/app:pull"]
    assert request["query"]["account"] == ["alice"]


def test_missing_tag_is_auth_not_found(token_registry, token_options, tokens, docker_config):
    config = docker_config(token_registry.host, "alice", "alice-pw")
    result = check_image(f"{token_registry.host}/team/app:nope", config, options=token_options)
    assert result.code == AUTH_NOT_FOUND


def test_repository_without_pull_grant_is_auth_access_denied(
    token_registry, token_options, tokens, docker_config
):
    config = docker_config(token_registry.host, "alice", "alice-pw")
    result = check_image(f"{token_registry.host}/team/private:v1", config, options=token_options)
    assert result.code == AUTH_ACCESS_DENIED
    assert "not allowed to pull team/private" in result.reason


def test_image_with_wrong_password_is_auth_access_denied(
    token_registry, token_options, tokens, docker_config
):
    config = docker_config(token_registry.host, "alice", "wrong-pw")
    result = check_image(f"{token_registry.host}/team/app:v1", config, options=token_options)
    assert result.code == AUTH_ACCESS_DENIED


def test_public_image_can_be_pulled_anonymously(token_registry, token_options, tokens):
    result = check_image(f"{token_registry.host}/public/hello:v1", None, options=token_options)
    assert result.success, result.reason
    (request,) = tokens.requests
    assert request["authorization"] is None
    assert "account" not in request["query"]


def test_private_image_without_credentials_is_anon_access_denied(
    token_registry, token_options, tokens
):
    result = check_image(f"{token_registry.host}/team/app:v1", None, options=token_options)
    assert result.code == ANON_ACCESS_DENIED
