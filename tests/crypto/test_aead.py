"""Low-level sealing: token format, tamper detection, lookup by KID."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from regsecrets.crypto import DecryptionError, seal, token_kid, unseal
from tests.crypto.conftest import NEW_ONLY_RING, ROTATED_RING

AAD = b"registry_secrets.Secret\x1fdocument\x1f1"


def _flip(token: str, index: int) -> str:
    header, _, body = token.rpartition(":")
    raw = bytearray(base64.b64decode(body))
    raw[index] ^= 0x01
    return f"{header}:{base64.b64encode(bytes(raw)).decode()}"


def test_round_trip_with_self_describing_token():
    token = seal(b"hello", aad=AAD)
    version, kid, body = token.split(":")
    assert (version, kid) == ("v1", "test-a")
    assert len(base64.b64decode(body)) == 12 + 5 + 16
    assert unseal(token, aad=AAD) == b"hello"
    assert token_kid(token) == "test-a"


def test_each_encryption_uses_a_fresh_nonce():
    tokens = {seal(b"same", aad=AAD) for _ in range(50)}
    assert len(tokens) == 50


@pytest.mark.parametrize("where", ["nonce", "ciphertext", "tag"])
def test_one_flipped_bit_fails(where):
    token = seal(b"x" * 32, aad=AAD)
    index = {"nonce": 3, "ciphertext": 12 + 7, "tag": -1}[where]
    with pytest.raises(DecryptionError, match="authentication failed"):
        unseal(_flip(token, index), aad=AAD)


def test_other_associated_data_fails():
    token = seal(b"payload", aad=AAD)
    with pytest.raises(DecryptionError):
        unseal(token, aad=AAD + b"2")


def test_kid_in_header_is_authenticated(settings):
    settings.REGSECRETS_ENCRYPTION_KEYS = f"test-a:{'A' * 43}=,other:{'A' * 43}="
    token = seal(b"payload", aad=AAD)
    with pytest.raises(DecryptionError):
        unseal(token.replace("v1:test-a:", "v1:other:"), aad=AAD)


def test_unknown_kid_is_named_and_never_tried(settings):
    token = seal(b"payload", aad=AAD)
    settings.REGSECRETS_ENCRYPTION_KEYS = NEW_ONLY_RING
    with pytest.raises(DecryptionError) as excinfo:
        unseal(token, aad=AAD)
    assert excinfo.value.kid == "test-a"
    assert "test-a" in str(excinfo.value)
    assert "not in the key ring" in str(excinfo.value)


def test_old_keys_still_decrypt_after_a_new_key_is_put_first(settings):
    token = seal(b"payload", aad=AAD)
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED_RING
    assert unseal(token, aad=AAD) == b"payload"
    assert token_kid(seal(b"payload", aad=AAD)) == "test-b"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "plain text password",
        "v2:test-a:AAAA",
        "v1:test-a:",
        "v1:test-a:!!!!",
        "v1::AAAA",
        "v1:test-a:" + base64.b64encode(b"short").decode(),
    ],
)
def test_malformed_tokens_fail_without_echoing_them(token):
    with pytest.raises(DecryptionError) as excinfo:
        unseal(token, aad=AAD)
    if token:
        assert token not in str(excinfo.value)


@hsettings(max_examples=150, deadline=None)
@given(plaintext=st.binary(max_size=2048), aad=st.binary(max_size=64))
def test_property_round_trip_of_arbitrary_bytes(plaintext, aad):
    assert unseal(seal(plaintext, aad=aad), aad=aad) == plaintext
