"""Template helpers for the secret pages: result codes as words people act on."""

from __future__ import annotations

from django import template

from regsecrets.registries.outcomes import outcome_for

register = template.Library()


@register.filter
def next_step(code: str) -> str:
    """What to do about a failed check's code; "" for no code (a success)."""
    return outcome_for(code).next_step if code else ""
