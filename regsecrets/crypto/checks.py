"""System checks: refuse to start without a usable key ring.

A missing key in production must stop ``migrate``/``runserver``/``check``
before the first request, not surface later as a failed save.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from regsecrets.crypto.errors import KeyRingError
from regsecrets.crypto.keyring import parse_keyring

_HINT = (
    "Set REGSECRETS_ENCRYPTION_KEYS (or REGSECRETS_ENCRYPTION_KEYS_FILE) to comma-separated "
    "KID:BASE64KEY entries; `manage.py generate_encryption_key` prints one."
)


def check_encryption_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    raw = settings.REGSECRETS_ENCRYPTION_KEYS or ""
    if raw.strip():
        return _parse_errors(raw, "REGSECRETS_ENCRYPTION_KEYS")
    if not settings.DEBUG:
        return [
            Error(
                "No encryption key is configured while DJANGO_DEBUG is off.",
                hint=_HINT,
                id="regsecrets.E001",
            )
        ]
    # DEBUG: a development key file is created on first use; if one exists, it
    # must parse.
    path = Path(settings.REGSECRETS_DEV_KEY_FILE)
    if path.exists():
        return _parse_errors(path.read_text(encoding="utf-8"), str(path))
    return []


def _parse_errors(raw: str, source: str) -> list[CheckMessage]:
    try:
        parse_keyring(raw, source=source)
    except KeyRingError as exc:
        return [Error(str(exc), hint=_HINT, id="regsecrets.E002")]
    return []


def register_checks() -> None:
    register(check_encryption_keys, Tags.security)
