"""Small template helpers shared by every console page."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_BREAK_AFTER = re.compile(r"([./@:])")


@register.filter
def breakable(value: object) -> SafeString:
    """Host names, image references and emails may wrap after . / @ : only, never
    inside a word: ``registry.digitalocean.com`` wraps as ``registry.`` +
    ``digitalocean.com`` on a narrow screen, and never as ``registry.digit`` + ``alocean``."""
    return mark_safe(_BREAK_AFTER.sub(r"\1<wbr>", escape(str(value))))  # noqa: S308 - escaped first
