"""AES-256-GCM sealing into a self-describing text token.

Token: ``v1:KID:BASE64(nonce || ciphertext || tag)``. The version lets the
format change without guessing; the KID lets decryption pick its key directly,
never by trying every key (trial decryption hides misconfiguration and costs
one GCM pass per key). The ``v1:KID:`` header is part of the associated data,
so editing it breaks authentication instead of changing the meaning.
"""

from __future__ import annotations

import binascii
import os
from binascii import a2b_base64, b2a_base64

from cryptography.exceptions import InvalidTag

from regsecrets.crypto.errors import DecryptionError
from regsecrets.crypto.keyring import KID_RE, get_keyring

VERSION = "v1"
NONCE_BYTES = 12  # 96 bits: GCM's native nonce size, random per encryption
TAG_BYTES = 16


def seal(plaintext: bytes, *, aad: bytes) -> str:
    """Encrypt under the active key; ``aad`` binds the token to its place."""
    aead, header, prefix = get_keyring()._active
    nonce = os.urandom(NONCE_BYTES)
    body = aead.encrypt(nonce, plaintext, prefix + aad)
    return header + b2a_base64(nonce + body, newline=False).decode("ascii")


def _split(token: str) -> tuple[str, str]:
    """Return (kid, body) of a well-formed token or raise DecryptionError."""
    if not isinstance(token, str):
        raise DecryptionError(reason="not a token")
    version, _, rest = token.partition(":")
    kid, sep, body = rest.partition(":")
    if version != VERSION:
        raise DecryptionError(reason="unsupported or missing token version")
    if not sep or not KID_RE.fullmatch(kid):
        raise DecryptionError(reason="malformed token")
    return kid, body


def token_kid(token: str) -> str:
    """The KID a token was sealed under, read from its header without decrypting."""
    return _split(token)[0]


def is_token(value: object) -> bool:
    """Whether ``value`` has the shape of a token (header and base64 body)."""
    try:
        _, body = _split(value)  # type: ignore[arg-type]
    except DecryptionError:
        return False
    return bool(body) and _is_base64(body)


def _is_base64(text: str) -> bool:
    try:
        a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return False
    return True


def unseal(token: str, *, aad: bytes) -> bytes:
    """Decrypt with the key the token names; DecryptionError on any failure."""
    # The hot path is inlined (it runs for every secret read); every oddity
    # falls through to _split, which says what is wrong.
    end = token.find(":", 3) if isinstance(token, str) and token.startswith("v1:") else -1
    entry = get_keyring()._entries.get(token[3:end]) if end > 3 else None
    if entry is None:
        kid, _ = _split(token)
        raise DecryptionError(kid=kid, reason="key id not in the key ring")
    try:
        raw = a2b_base64(token[end + 1 :], strict_mode=True)
    except (binascii.Error, ValueError):
        raise DecryptionError(kid=token[3:end], reason="malformed token") from None
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError(kid=token[3:end], reason="malformed token")
    try:
        return entry[0].decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], entry[2] + aad)
    except InvalidTag:
        raise DecryptionError(kid=token[3:end], reason="authentication failed") from None
