"""The verification client's options, built from the settings.

The registries package is pure Python and knows nothing of Django; this is the one
place the application turns its settings into :class:`ClientOptions`. The defaults
live in settings.py only: this reads the settings as they are, coercing the values a
test or an operator may give as text ("3.5", "true", "a:5000, b:5000").
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from regsecrets.registries.client import ClientOptions

__all__ = ["client_options"]


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _host_list(value: object) -> frozenset[str]:
    items: Iterable[object]
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, Iterable):
        items = value
    else:
        items = ()
    return frozenset(str(item).strip().lower() for item in items if str(item).strip())


def client_options() -> ClientOptions:
    """The options every verification runs under, from the REGSECRETS_* settings."""
    return ClientOptions(
        timeout=float(settings.REGSECRETS_VERIFY_TIMEOUT),
        max_response_bytes=int(settings.REGSECRETS_VERIFY_MAX_RESPONSE_BYTES),
        allow_private=_truthy(settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES),
        insecure_registries=_host_list(settings.REGSECRETS_INSECURE_REGISTRIES),
        max_concurrency=int(settings.REGSECRETS_VERIFY_MAX_CONCURRENCY),
    )
