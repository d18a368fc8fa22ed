"""Writing many rows' own values in one statement (PostgreSQL and SQLite).

Django's ``bulk_update`` writes ``SET f = CASE WHEN pk = … THEN … END`` for every
field and row; building those expressions costs about 4 ms of CPU per row for nine
fields, more than the statement itself. ``update_rows`` sends the same change as
``UPDATE t SET f = v.columnN FROM (VALUES (pk, …), …) AS v WHERE t.pk = v.column1``,
whose cost is formatting the parameters. Both databases name a VALUES list's
columns column1, column2, …; PostgreSQL gets each value cast to its column's type
(a NULL or a string literal in VALUES would otherwise be typed text); SQLite
(3.33 and later support UPDATE … FROM) needs no cast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router

__all__ = ["update_rows"]


def update_rows(
    model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]
) -> int:
    """Write each of ``objs``' values of ``fields`` to its row, in one UPDATE.

    Like ``model.objects.bulk_update(objs, fields)``: no signals, no ``save()``, the
    objects' primary keys pick the rows. Returns the number of rows updated.
    """
    if not objs:
        return 0
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    columns: list[models.Field[Any, Any]] = []
    for field in (meta.pk, *(meta.get_field(name) for name in fields)):
        if not isinstance(field, models.Field) or not field.column:
            raise TypeError(f"{field} is not a column of {meta.label}")
        columns.append(field)
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        row = ", ".join(f"%s::{field.cast_db_type(connection)}" for field in columns)
    else:
        row = ", ".join("%s" for _ in columns)
    params = [
        field.get_db_prep_save(getattr(obj, field.attname), connection)
        for obj in objs
        for field in columns
    ]
    table = quote(meta.db_table)
    assignments = ", ".join(
        f"{quote(str(field.column))} = v.column{index}"
        for index, field in enumerate(columns[1:], start=2)
    )
    values = ", ".join(f"({row})" for _ in objs)
    key = quote(str(columns[0].column))
    # Only quoted names from the model's meta and placeholders: every value is a parameter.
    sql = (
        f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v "  # noqa: S608
        f"WHERE {table}.{key} = v.column1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
