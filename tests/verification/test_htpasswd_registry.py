"""Verification against a real docker-registry with htpasswd (Basic) auth."""

from __future__ import annotations

import pytest

from regsecrets.registries.client import (
    ANON_ACCESS_DENIED,
    AUTH_ACCESS_DENIED,
    AUTH_NOT_FOUND,
    FORBIDDEN_ADDRESS,
    ClientOptions,
    check_credentials,
    check_image,
)
from regsecrets.registries.matching import Credential

pytestmark = pytest.mark.registry


def alice(server: str, password: str = "alice-pw") -> Credential:
    return Credential(server=server, username="alice", password=password)


def test_login_with_good_credentials_succeeds(htpasswd_registry, htpasswd_options):
    result = check_credentials(
        htpasswd_registry.host, alice(htpasswd_registry.host), options=htpasswd_options
    )
    assert result.success, result.reason
    assert result.code == ""
    assert result.registry == htpasswd_registry.host


def test_login_with_wrong_password_is_auth_access_denied(htpasswd_registry, htpasswd_options):
    result = check_credentials(
        htpasswd_registry.host,
        alice(htpasswd_registry.host, "nope-wrong"),
        options=htpasswd_options,
    )
    assert not result.success
    assert result.code == AUTH_ACCESS_DENIED
    assert "nope-wrong" not in result.reason


def test_login_without_credentials_is_anon_access_denied(htpasswd_registry, htpasswd_options):
    result = check_credentials(htpasswd_registry.host, None, options=htpasswd_options)
    assert result.code == ANON_ACCESS_DENIED


@pytest.mark.parametrize("tag", ["v1", "oci"])
def test_existing_tag_can_be_pulled_with_credentials(
    tag, htpasswd_registry, htpasswd_options, docker_config
):
    config = docker_config(htpasswd_registry.host, "alice", "alice-pw")
    result = check_image(
        f"{htpasswd_registry.host}/team/app:{tag}", config, options=htpasswd_options
    )
    assert result.success, result.reason
    assert result.registry == htpasswd_registry.host


def test_missing_tag_is_auth_not_found(htpasswd_registry, htpasswd_options, docker_config):
    config = docker_config(htpasswd_registry.host, "alice", "alice-pw")
    result = check_image(
        f"{htpasswd_registry.host}/team/app:nope", config, options=htpasswd_options
    )
    assert result.code == AUTH_NOT_FOUND
    assert "team/app:nope" in result.reason


def test_image_with_wrong_password_is_auth_access_denied(
    htpasswd_registry, htpasswd_options, docker_config
):
    config = docker_config(htpasswd_registry.host, "alice", "hunter2-wrong")
    result = check_image(f"{htpasswd_registry.host}/team/app:v1", config, options=htpasswd_options)
    assert result.code == AUTH_ACCESS_DENIED
    assert "hunter2-wrong" not in result.reason


@pytest.mark.parametrize("config", [None, {"auths": {}}, {"auths": {"ghcr.io": {"auth": "eDp5"}}}])
def test_image_without_matching_credentials_is_checked_anonymously(
    config, htpasswd_registry, htpasswd_options
):
    result = check_image(f"{htpasswd_registry.host}/team/app:v1", config, options=htpasswd_options)
    assert result.code == ANON_ACCESS_DENIED


def test_loopback_registry_is_refused_unless_private_registries_are_allowed(htpasswd_registry):
    options = ClientOptions(insecure_registries=frozenset({htpasswd_registry.host}))
    result = check_credentials(
        htpasswd_registry.host, alice(htpasswd_registry.host), options=options
    )
    assert result.code == FORBIDDEN_ADDRESS
    assert "127.0.0.1" in result.reason
    # Users' words: the setting that lifts it is operators' business (admin, docs).
    assert "REGSECRETS_" not in result.reason
