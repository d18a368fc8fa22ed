"""Template helpers of the Activity page: events as sentences, codes as words."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from regsecrets.audit.models import AuditEvent
from regsecrets.audit.presentation import (
    ACTION_LABELS,
    OBJECT_LABELS,
    EventSentence,
    present_events,
)

register = template.Library()


@register.simple_tag
def event_sentences(events: Iterable[AuditEvent]) -> list[EventSentence]:
    """``{% event_sentences page.object_list as rows %}``"""
    return present_events(events)


@register.filter
def action_label(code: str) -> str:
    return ACTION_LABELS.get(code, code.replace(".", " ").replace("_", " ").capitalize())


@register.filter
def object_label(code: str) -> str:
    return OBJECT_LABELS.get(code, code.capitalize())
