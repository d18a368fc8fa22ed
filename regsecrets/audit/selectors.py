"""Reads of the audit trail: keyset pages and the filters' values, at a cost that
does not grow with the number of events an organization has."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from regsecrets.accounts.models import Organization
from regsecrets.audit.models import AuditEvent


@dataclass(frozen=True)
class EventPage:
    """One page of events, newest first, with the cursors of its neighbours."""

    events: list[AuditEvent]
    older: str | None  # cursor of the next (older) page, None on the last page
    newer: str | None  # cursor of the previous (newer) page, None on the first page


def _cursor(event: AuditEvent) -> str:
    return f"{int(event.created_at.timestamp() * 1_000_000)}.{event.pk}"


def _parse(cursor: str) -> tuple[datetime.datetime, int] | None:
    """(created_at, id) of a cursor; None for anything that is not one of ours."""
    micros, _, pk = cursor.partition(".")
    if not (micros.isdigit() and pk.isdigit()) or len(micros) > 18 or len(pk) > 18:
        return None
    try:
        when = datetime.datetime.fromtimestamp(int(micros) / 1_000_000, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return when.astimezone(timezone.get_current_timezone()), int(pk)


def event_page(
    *,
    events: QuerySet[AuditEvent],
    object_type: str = "",
    action: str = "",
    before: str = "",
    after: str = "",
    size: int = 50,
) -> EventPage:
    """A page of ``events`` (an organization's, scoped by the caller), newest first:
    the first page, the page older than cursor ``before``, or the page newer than
    cursor ``after``.

    Keyset paging on (created_at, id) through the (organization, created_at) index:
    two queries at most (the page, and a one-row look the other way when paging
    back), whatever the number of events; no count.
    """
    events = events.select_related("actor", "api_token")
    if object_type:
        events = events.filter(object_type=object_type)
    if action:
        events = events.filter(action=action)
    newest_first = events.order_by("-created_at", "-id")
    start_after = _parse(after) if after else None
    start_before = _parse(before) if before and start_after is None else None
    if start_after is not None:
        when, pk = start_after
        newer = Q(created_at__gt=when) | Q(created_at=when, id__gt=pk)
        rows = list(events.filter(newer).order_by("created_at", "id")[: size + 1])
        more_newer = len(rows) > size
        page = list(reversed(rows[:size]))
        if not page:
            return event_page(events=events, object_type=object_type, action=action, size=size)
        return EventPage(
            events=page,
            older=_cursor(page[-1]),
            newer=_cursor(page[0]) if more_newer else None,
        )
    if start_before is not None:
        when, pk = start_before
        older = Q(created_at__lt=when) | Q(created_at=when, id__lt=pk)
        rows = list(newest_first.filter(older)[: size + 1])
        page = rows[:size]
        return EventPage(
            events=page,
            older=_cursor(page[-1]) if len(rows) > size else None,
            newer=_cursor(page[0]) if page else after or before,
        )
    rows = list(newest_first[: size + 1])
    page = rows[:size]
    return EventPage(
        events=page, older=_cursor(page[-1]) if len(rows) > size else None, newer=None
    )


def _distinct(organization: Organization, column: str) -> list[str]:
    """The distinct non-empty values of ``column`` among the organization's events.

    A loose index scan (a recursive query that jumps from one value to the next
    through the (organization, column) index): one probe per distinct value, not a
    pass over every event. PostgreSQL and SQLite both run it.
    """
    qn = connection.ops.quote_name
    table, col = qn(AuditEvent._meta.db_table), qn(column)
    org = qn("organization_id")
    # Identifiers come from the model's metadata, quoted; values are parameters.
    sql = (
        f"WITH RECURSIVE v(value) AS ("  # noqa: S608
        f" SELECT MIN({col}) FROM {table} WHERE {org} = %s AND {col} > ''"
        f" UNION ALL"
        f" SELECT (SELECT MIN({col}) FROM {table} WHERE {org} = %s AND {col} > v.value)"
        f" FROM v WHERE v.value IS NOT NULL"
        f") SELECT value FROM v WHERE value IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization.pk, organization.pk])
        return [row[0] for row in cursor.fetchall()]


def event_filters(*, organization: Organization) -> tuple[list[str], list[str]]:
    """The object types and actions the organization's events use, for the filters."""
    return _distinct(organization, "object_type"), _distinct(organization, "action")
