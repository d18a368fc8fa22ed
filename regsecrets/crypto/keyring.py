"""The key ring: which AES-256 keys exist, which one encrypts.

``REGSECRETS_ENCRYPTION_KEYS`` holds comma-separated ``KID:BASE64KEY`` entries.
The first entry encrypts and every entry decrypts, which is what makes rotation
a two-step, zero-downtime change (add the new key first, rewrite, drop the old).
Keys come only from configuration, never from SECRET_KEY: the two have different
lifetimes and rotating one must not destroy what the other protects.
"""

from __future__ import annotations

import binascii
import logging
import os
import re
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from regsecrets.crypto.errors import KeyRingError

logger = logging.getLogger("regsecrets.crypto")

KEY_BYTES = 32
# KIDs travel in clear in every token and in the key_id column (max_length 64),
# so they are short, printable and free of the token's ':' separator.
KID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ENTRY_SEPARATORS = re.compile(r"\s*,\s*|\s*\n\s*")

NO_KEY_MESSAGE = (
    "No encryption key is configured: set REGSECRETS_ENCRYPTION_KEYS "
    "(or REGSECRETS_ENCRYPTION_KEYS_FILE) to the output of `manage.py generate_encryption_key`."
)


class KeyRing:
    """Parsed keys, by KID. The repr names KIDs only; the key bytes stay inside."""

    __slots__ = ("_active", "_entries", "active_kid", "kids", "source")

    def __init__(self, entries: list[tuple[str, bytes]], *, source: str = "settings") -> None:
        if not entries:
            raise KeyRingError(NO_KEY_MESSAGE)
        self.kids: tuple[str, ...] = tuple(kid for kid, _ in entries)
        self.active_kid: str = self.kids[0]
        self.source = source
        # Per KID: the cipher (building an AESGCM costs more than sealing 300
        # bytes), the token header, and that header as the associated-data
        # prefix. Precomputed because seal/unseal sit on every secret read.
        self._entries: dict[str, tuple[AESGCM, str, bytes]] = {
            kid: (AESGCM(key), f"v1:{kid}:", f"v1:{kid}:".encode("ascii")) for kid, key in entries
        }
        self._active = self._entries[self.active_kid]

    def __contains__(self, kid: object) -> bool:
        return kid in self._entries

    def __repr__(self) -> str:
        return f"<KeyRing active={self.active_kid!r} kids={self.kids!r} source={self.source}>"

    def aead(self, kid: str) -> AESGCM:
        """The cipher for ``kid``; KeyError when the ring does not hold it."""
        return self._entries[kid][0]


def _decode_key(text: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not, strictly."""
    text = text.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    return binascii.a2b_base64(text, strict_mode=True)


def parse_keyring(raw: str, *, source: str = "REGSECRETS_ENCRYPTION_KEYS") -> KeyRing:
    """Parse ``KID:KEY[,KID:KEY...]``; errors name the entry's 1-based position only.

    Newlines also separate entries, so that a mounted key file can hold one
    entry per line.
    """
    raw = (raw or "").strip()
    if not raw:
        raise KeyRingError(NO_KEY_MESSAGE)
    entries: list[tuple[str, bytes]] = []
    seen: dict[str, int] = {}
    for position, entry in enumerate(_ENTRY_SEPARATORS.split(raw), start=1):
        entry = entry.strip()
        where = f"{source}: entry {position}"
        if not entry:
            raise KeyRingError(f"{where} is empty.")
        kid, sep, key_text = entry.partition(":")
        kid = kid.strip()
        if not sep:
            raise KeyRingError(f"{where} has no ':' between its KID and its key.")
        if not kid:
            raise KeyRingError(f"{where} has an empty KID.")
        if not KID_RE.fullmatch(kid):
            raise KeyRingError(
                f"{where} has an invalid KID: use 1-64 letters, digits, '.', '_' or '-'."
            )
        if kid in seen:
            raise KeyRingError(f"{where} repeats the KID of entry {seen[kid]}.")
        try:
            key = _decode_key(key_text)
        except (binascii.Error, ValueError):
            raise KeyRingError(f"{where} has a key that is not valid base64.")
        if len(key) != KEY_BYTES:
            raise KeyRingError(f"{where} has a key of {len(key)} bytes; AES-256 needs {KEY_BYTES}.")
        seen[kid] = position
        entries.append((kid, key))
    return KeyRing(entries, source=source)


def generate_key_entry(kid: str | None = None) -> str:
    """A new ``KID:KEY`` entry with 32 random bytes; the KID defaults to today's date."""
    if kid is None:
        kid = f"{time.strftime('%Y%m%d')}-{secrets.token_hex(2)}"
    if not KID_RE.fullmatch(kid):
        raise ValueError("A KID is 1-64 letters, digits, '.', '_' or '-', starting alphanumeric.")
    key = binascii.b2a_base64(secrets.token_bytes(KEY_BYTES), newline=False).decode("ascii")
    return f"{kid}:{key}"


# Rings parsed from a raw settings value, so that switching back and forth
# between rings (tests, override_settings) never parses twice.
_RINGS: dict[str, KeyRing] = {}
# The ring in force. Reading a setting through django.conf.settings costs about
# as much as sealing a document, so the ring is remembered until a
# ``setting_changed`` signal (override_settings, pytest-django's ``settings``)
# says one of its inputs changed; as django.contrib.auth does for hashers.
_current: KeyRing | None = None
_INPUTS = frozenset({"REGSECRETS_ENCRYPTION_KEYS", "REGSECRETS_DEV_KEY_FILE", "DEBUG"})


def get_keyring() -> KeyRing:
    """The configured ring; in DEBUG without one, a development key file under var/."""
    ring = _current
    if ring is None:
        ring = _load_keyring()
    return ring


def reset_keyring() -> None:
    """Forget the ring in force; the next use reads the settings again."""
    global _current
    _current = None


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in _INPUTS:
        reset_keyring()


def _load_keyring() -> KeyRing:
    global _current
    raw = settings.REGSECRETS_ENCRYPTION_KEYS
    ring = _RINGS.get(raw)
    if ring is None:
        if raw and raw.strip():
            ring = parse_keyring(raw)
            if len(_RINGS) > 16:  # a handful of rings in tests; never grow without bound
                _RINGS.clear()
            _RINGS[raw] = ring
        elif settings.DEBUG:
            ring = _development_ring(Path(settings.REGSECRETS_DEV_KEY_FILE))
        else:
            raise KeyRingError(NO_KEY_MESSAGE)
    _current = ring
    return ring


def _development_ring(path: Path) -> KeyRing:
    """Read, or create once, the development key file (mode 0600)."""
    if not path.exists():
        _create_development_key_file(path)
    return parse_keyring(path.read_text(encoding="utf-8"), source=str(path))


def _create_development_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = generate_key_entry(f"dev-{time.strftime('%Y%m%d')}")
    # Write a private temporary file, then link it into place: the link fails
    # if another process (the autoreloader's twin) won the race, and nobody
    # ever reads a half-written key.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".encryption-keys-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(entry + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return
    finally:
        os.unlink(tmp)
    logger.warning(
        "Created development encryption key file %s (key id %s). It is for DEBUG only; "
        "set REGSECRETS_ENCRYPTION_KEYS in production.",
        path,
        entry.partition(":")[0],
    )
