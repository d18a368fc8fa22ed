"""The GCP engine against a local OAuth2 token endpoint that verifies the signed assertion."""

from __future__ import annotations

import json
import time

import pytest

from regsecrets.registries.minting import (
    MINT_DENIED,
    MINT_ERROR,
    MINT_FORBIDDEN_ENDPOINT,
    MINT_INVALID_KEY,
    MINT_TIMEOUT,
    MINT_UNREACHABLE,
    MintingError,
    check_token_uri,
    mint_gcp_token,
)
from tests.minting.oauth_endpoint import ServiceAccountKey
from tests.verification.conftest import free_port


def test_a_service_account_key_mints_an_access_token_for_oauth2accesstoken(
    oauth_endpoint, service_account
):
    key_file = service_account.key_file(oauth_endpoint.token_uri)
    token = mint_gcp_token(json.dumps(key_file), allow_private=True, timeout=5)
    assert token.username == "oauth2accesstoken"
    assert [issued.access_token for issued in oauth_endpoint.issued] == [token.password]
    assert oauth_endpoint.issued[0].client_email == service_account.client_email
    # expires_in 3599 from the endpoint, measured from the time of asking.
    assert 3590 <= token.lifetime.total_seconds() <= 3600
    assert token.host == ""


def test_the_parsed_key_object_works_as_well_as_its_text(oauth_endpoint, service_account):
    key_file = service_account.key_file(oauth_endpoint.token_uri)
    assert (
        mint_gcp_token(key_file, allow_private=True).password
        == oauth_endpoint.issued[0].access_token
    )


def test_an_assertion_signed_by_another_key_is_refused_by_the_endpoint_as_denied(
    oauth_endpoint, service_account
):
    impostor = ServiceAccountKey.generate()
    key_file = service_account.key_file(oauth_endpoint.token_uri, signed_by=impostor)
    with pytest.raises(MintingError) as caught:
        mint_gcp_token(key_file, allow_private=True)
    assert caught.value.code == MINT_DENIED
    assert "invalid_grant" in caught.value.reason
    assert oauth_endpoint.refused == ["bad signature"]
    assert oauth_endpoint.mints == 0


def test_a_deleted_key_is_denied(oauth_endpoint):
    unknown = ServiceAccountKey.generate()  # never registered: as if deleted in the console
    with pytest.raises(MintingError) as caught:
        mint_gcp_token(unknown.key_file(oauth_endpoint.token_uri), allow_private=True)
    assert caught.value.code == MINT_DENIED


@pytest.mark.parametrize(
    "token_uri",
    [
        "https://oauth2.example.com/token",
        "https://oauth2.googleapis.com.evil.example/token",
        "http://oauth2.googleapis.com/token",  # Google's host, but not over TLS
        "https://10.0.0.1/token",
        "file:///etc/passwd",
    ],
)
def test_a_token_uri_that_is_not_googles_is_refused_before_signing(token_uri, oauth_endpoint):
    key = ServiceAccountKey.generate()
    with pytest.raises(MintingError) as caught:
        mint_gcp_token(key.key_file(token_uri), allow_private=True)
    assert caught.value.code == MINT_FORBIDDEN_ENDPOINT
    assert "not Google's token endpoint" in caught.value.reason


def test_a_loopback_token_uri_is_refused_unless_private_registries_are_allowed(
    oauth_endpoint, service_account
):
    key_file = service_account.key_file(oauth_endpoint.token_uri)
    with pytest.raises(MintingError) as caught:
        mint_gcp_token(key_file)
    assert caught.value.code == MINT_FORBIDDEN_ENDPOINT
    assert oauth_endpoint.mints == 0
    assert mint_gcp_token(key_file, allow_private=True).password


def test_googles_token_endpoints_are_accepted_without_any_flag():
    for uri in (
        "https://oauth2.googleapis.com/token",
        "https://accounts.google.com/o/oauth2/token",
    ):
        assert check_token_uri(uri) == uri


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("not json", "not valid JSON"),
        ('{"type": "authorized_user"}', "not a service-account key"),
        ('{"type": "service_account", "client_email": "a@b"}', "lacks private_key"),
    ],
)
def test_malformed_keys_are_refused_with_mint_invalid_key(key, words):
    with pytest.raises(MintingError) as caught:
        mint_gcp_token(key, allow_private=True)
    assert caught.value.code == MINT_INVALID_KEY
    assert words in caught.value.reason


def test_a_private_key_that_does_not_load_is_mint_invalid_key(oauth_endpoint, service_account):
    key_file = service_account.key_file(oauth_endpoint.token_uri)
    key_file["private_key"] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    with pytest.raises(MintingError) as caught:
        mint_gcp_token(key_file, allow_private=True)
    assert caught.value.code == MINT_INVALID_KEY
    assert oauth_endpoint.mints == 0


def test_an_unreachable_endpoint_fails_fast_with_mint_unreachable():
    key = ServiceAccountKey.generate()
    started = time.monotonic()
    with pytest.raises(MintingError) as caught:
        mint_gcp_token(
            key.key_file(f"http://127.0.0.1:{free_port()}/token"), allow_private=True, timeout=1
        )
    assert caught.value.code == MINT_UNREACHABLE
    assert time.monotonic() - started < 5


def test_an_endpoint_that_never_answers_times_out(silent_server):
    key = ServiceAccountKey.generate()
    with pytest.raises(MintingError) as caught:
        mint_gcp_token(
            key.key_file(f"http://{silent_server.host}/token"), allow_private=True, timeout=0.5
        )
    assert caught.value.code == MINT_TIMEOUT


def test_a_server_error_is_asked_once_not_retried(scripted_server):
    server = scripted_server(lambda handler: (503, {"Content-Type": "application/json"}, b"{}"))
    key = ServiceAccountKey.generate()
    with pytest.raises(MintingError) as caught:
        mint_gcp_token(key.key_file(f"http://{server.host}/token"), allow_private=True)
    assert caught.value.code == MINT_ERROR
    assert "HTTP 503" in caught.value.reason
    # google-auth alone would have asked three times, with backoff in between.
    assert len(server.requests) == 1


def test_an_error_description_from_the_server_is_not_repeated(scripted_server):
    body = json.dumps({"error": "invalid_grant", "error_description": "<script>x</script>"})
    server = scripted_server(lambda handler: (400, {}, body.encode()))
    key = ServiceAccountKey.generate()
    with pytest.raises(MintingError) as caught:
        mint_gcp_token(key.key_file(f"http://{server.host}/token"), allow_private=True)
    assert caught.value.code == MINT_DENIED
    assert "<script>" not in caught.value.reason
