"""Koyeb-style list replies: limit/offset paging and the name and ids filters.

Every /v1 list endpoint answers {<key>: [...], limit, offset, count} (apps and
services add has_next, as Koyeb's replies do) from one scoped queryset.

Deep pages are keyset pages under the hood (``core.paging.keyset_page``), so no row
outside the page is fetched from the table. ``count`` is exact: an
endpoint that keeps a count (secrets: ``SecretCount``, kept in each write's
transaction) passes it as ``total`` and it is used when no filter applies; a
filtered list is counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse

from regsecrets.api import parsing
from regsecrets.core.paging import keyset_page

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
