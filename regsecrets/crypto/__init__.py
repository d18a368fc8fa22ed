"""Encryption at rest for registry credentials (AES-256-GCM, key ring by KID).

The low-level API lives here; the model field and the document helpers that
bind ciphertexts to rows live in ``regsecrets.crypto.fields`` (they need the
ORM, this module does not).
"""

from __future__ import annotations

from regsecrets.crypto.aead import seal, token_kid, unseal
from regsecrets.crypto.errors import DecryptionError, KeyRingError
from regsecrets.crypto.keyring import KeyRing, generate_key_entry, get_keyring, parse_keyring

__all__ = [
    "DecryptionError",
    "KeyRing",
    "KeyRingError",
    "generate_key_entry",
    "get_keyring",
    "parse_keyring",
    "seal",
    "token_kid",
    "unseal",
]
