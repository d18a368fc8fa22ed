"""Template helpers for the secret pages: result codes as words people act on."""

from __future__ import annotations

from typing import Any

from django import template

from regsecrets.registries import get_provider
from regsecrets.registries.outcomes import outcome_for

register = template.Library()


@register.filter
def next_step(code: str) -> str:
    """What to do about a failed check's code; "" for no code (a success)."""
    return outcome_for(code).next_step if code else ""


@register.filter
def identity(secret: Any) -> str:
    """How a secret is recognised: its username, the service account's email, or what
    signs in when there is no username (a DigitalOcean API token)."""
    try:
        return get_provider(secret.provider).identity(secret.username or "")
    except KeyError:  # a provider the catalogue dropped
        return secret.username or ""
