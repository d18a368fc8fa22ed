"""Walk every row of an encrypted column in primary-key order, a batch at a time.

Keyset pagination (``pk > last ORDER BY pk LIMIT n``) keeps memory flat and
each query cheap however large the table is, and lets a restarted command
simply start over: work already done is recognised by its KID and skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import models


def keyset_batches(queryset: models.QuerySet[Any], batch_size: int) -> Iterator[list[Any]]:
    """Yield lists of up to ``batch_size`` rows of ``queryset`` by ascending pk.

    Each batch is one query, evaluated when the generator resumes; so a caller
    can wrap the consumption of each batch in its own transaction by fetching
    through ``fetch_batch`` instead.
    """
    last_pk: Any = None
    while True:
        batch = fetch_batch(queryset, last_pk, batch_size)
        if not batch:
            return
        yield batch
        last_pk = _pk_of(batch[-1])
        if len(batch) < batch_size:
            return


def fetch_batch(queryset: models.QuerySet[Any], after_pk: Any, batch_size: int) -> list[Any]:
    """One page of ``queryset`` after ``after_pk`` (None: the first page)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    page = queryset.order_by("pk")
    if after_pk is not None:
        page = page.filter(pk__gt=after_pk)
    return list(page[:batch_size])


def _pk_of(row: Any) -> Any:
    # values_list rows carry the pk first; model instances carry it as .pk.
    return row[0] if isinstance(row, tuple) else row.pk
