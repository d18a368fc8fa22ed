"""Koyeb-style list replies: limit/offset paging and the name and ids filters.

Every /v1 list endpoint answers {<key>: [...], limit, offset, count} (apps and
services add has_next, as Koyeb's replies do) from one scoped queryset.

Deep pages are keyset pages under the hood: the first row of the page is found by an
index-only scan of the sort key (from whichever end is nearer, since the count is
known), and the page itself is read with ``WHERE key >= that ORDER BY key LIMIT n``,
so no row outside the page is fetched from the table. ``count`` is exact: an
endpoint that keeps a count (secrets: ``SecretCount``, kept in each write's
transaction) passes it as ``total`` and it is used when no filter applies; a
filtered list is counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, JsonResponse

from regsecrets.api import parsing

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_OFFSET = 10_000_000


def list_reply(
    request: HttpRequest,
    rows: QuerySet[Any],
    *,
    key: str,
    serialize: Callable[[Any], dict[str, Any]],
    order_by: Sequence[str],
    has_next: bool = False,
    total: Callable[[], int] | None = None,
) -> JsonResponse:
    """Filter ``rows`` by the ``name`` (substring) and ``ids`` parameters, page them.

    ``order_by`` must be a total order (end with a unique field, or be unique in the
    scope) for pages to neither skip nor repeat rows. ``total``, when given, is the
    exact number of unfiltered ``rows``, read instead of counting them.
    """
    limit = parsing.query_int(request, "limit", default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    offset = parsing.query_int(request, "offset", default=0, maximum=MAX_OFFSET)
    name = parsing.query_text(request, "name")
    ids = parsing.query_uuids(request, "ids")
    if name:
        rows = rows.filter(name__icontains=name)
    if ids:
        rows = rows.filter(pk__in=ids)
    count = total() if total is not None and not (name or ids) else rows.count()
    page = keyset_page(rows, order_by, offset=offset, limit=limit, count=count)
    body: dict[str, Any] = {
        key: [serialize(row) for row in page],
        "limit": limit,
        "offset": offset,
        "count": count,
    }
    if has_next:
        body["has_next"] = offset + len(page) < count
    return JsonResponse(body)


def _reverse(order_by: Sequence[str]) -> list[str]:
    return [field[1:] if field.startswith("-") else f"-{field}" for field in order_by]


def _from(order_by: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows at or after ``values`` in the ``order_by`` order (a row comparison)."""
    condition = Q()
    equal = Q()
    for index, (field, value) in enumerate(zip(order_by, values, strict=True)):
        name = field.lstrip("-")
        last = index == len(order_by) - 1
        op = ("lte" if last else "lt") if field.startswith("-") else ("gte" if last else "gt")
        condition |= equal & Q(**{f"{name}__{op}": value})
        equal &= Q(**{name: value})
    return condition


def keyset_page(
    rows: QuerySet[Any], order_by: Sequence[str], *, offset: int, limit: int, count: int
) -> list[Any]:
    """Rows ``offset`` to ``offset + limit`` of ``rows`` in ``order_by`` order.

    Two short queries instead of an OFFSET over whole rows: the sort key of the row
    at ``offset`` (an index-only scan when an index covers the scope and the key,
    from the end when that is nearer), then the page from that key on.
    """
    if limit <= 0 or offset >= count:
        return []
    ordered = rows.order_by(*order_by)
    if offset == 0:
        return list(ordered[:limit])
    fields = [field.lstrip("-") for field in order_by]
    if offset <= count // 2:
        position, direction = offset, list(order_by)
    else:
        position, direction = count - 1 - offset, _reverse(order_by)
    probe = rows.order_by(*direction).values_list(*fields)[position : position + 1]
    first = next(iter(probe), None)
    if first is None:
        # The count moved since it was read (a concurrent delete): plain OFFSET.
        return list(ordered[offset : offset + limit])
    return list(ordered.filter(_from(order_by, first))[:limit])
