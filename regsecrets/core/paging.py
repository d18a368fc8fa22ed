"""Offset pages read as keyset pages: what the API lists and the secrets page share.

The first row of the page is found by an index-only scan of the sort key (from
whichever end is nearer, since the count is known), and the page itself is read
with ``WHERE key >= that ORDER BY key LIMIT n``: no row outside the page is fetched
from the table, where ``OFFSET`` would fetch every skipped row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q, QuerySet

__all__ = ["keyset_page"]


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
