"""Re-encrypt every ciphertext that is not under the active key.

Each batch is one transaction: ``batch_size`` rows after the last primary key
seen are read (on PostgreSQL with SELECT ... FOR UPDATE, so a concurrent edit
waits instead of being overwritten by an older document), resealed in memory,
and written back by primary key. A crash loses at most the batch in flight,
which rolls back; running again skips every row already under the active KID,
so the command is idempotent and resumable, and memory stays at one batch.

Rows are read as (pk, token, kid) tuples and written with one parameterised
``UPDATE ... WHERE pk = %s AND token = %s`` per row through ``executemany``
(pipelined by psycopg 3): no model instances, and no CASE expression that
grows with the batch as ``bulk_update`` builds.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connections, models, router, transaction

from regsecrets.crypto.aead import token_kid
from regsecrets.crypto.errors import DecryptionError
from regsecrets.crypto.fields import (
    EncryptedTextField,
    encrypted_fields,
    logger,
    open_token,
    reseal_token,
)
from regsecrets.crypto.keyring import get_keyring
from regsecrets.crypto.scan import fetch_batch

DEFAULT_BATCH_SIZE = 500


@dataclass
class RotationReport:
    """Counts for a run; ``from_kids`` says which old keys the rewritten rows used."""

    active_kid: str
    dry_run: bool = False
    scanned: int = 0
    rotated: int = 0
    failed: int = 0
    batches: int = 0
    from_kids: Counter[str] = field(default_factory=Counter)
    fields: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def audit_details(self) -> dict[str, Any]:
        return {
            "active_kid": self.active_kid,
            "scanned": self.scanned,
            "rotated": self.rotated,
            "failed": self.failed,
            "from_kids": dict(self.from_kids),
            "fields": list(self.fields),
        }


Progress = Callable[[str, RotationReport], None]


def rotate_field(
    model: type[models.Model],
    enc_field: EncryptedTextField,
    *,
    report: RotationReport,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> None:
    """Rotate one column in keyset-paginated batches, one transaction each."""
    label = f"{model._meta.label}.{enc_field.name}"
    report.fields.append(label)
    using = router.db_for_write(model)
    connection = connections[using]
    columns = ["pk", enc_field.attname] + ([enc_field.kid_field] if enc_field.kid_field else [])
    rows = model._base_manager.using(using).values_list(*columns)
    if not report.dry_run and connection.features.has_select_for_update:
        rows = rows.select_for_update()
    writer = _Writer(model, enc_field, connection)
    last_pk: Any = None
    while True:
        with transaction.atomic(using=using):
            batch = fetch_batch(rows, last_pk, batch_size)
            if not batch:
                break
            last_pk = batch[-1][0]
            updates = [u for row in batch if (u := _rotate_row(row, enc_field, report))]
            if updates and not report.dry_run:
                writer.write(updates)
        report.batches += 1
        if progress is not None:
            progress(label, report)
        if len(batch) < batch_size:
            break


def _rotate_row(
    row: tuple[Any, ...], enc_field: EncryptedTextField, report: RotationReport
) -> tuple[Any, str, str] | None:
    """The (pk, old token, new token) to write for one row, or None."""
    report.scanned += 1
    pk, token = row[0], row[1]
    if not token:
        return None
    active = report.active_kid
    try:
        kid = token_kid(token)
        if kid == active:
            # Already rotated; only repair a KID column that disagrees.
            return (pk, token, token) if enc_field.kid_field and row[2] != kid else None
        if report.dry_run:
            open_token(enc_field, pk, token)  # would the rewrite succeed?
            new_token = token
        else:
            new_token = reseal_token(enc_field, pk, token)
    except DecryptionError as exc:
        report.failed += 1
        logger.warning(
            "Cannot decrypt %s.%s of row %s (key id %s): %s",
            enc_field.model._meta.label,
            enc_field.name,
            pk,
            exc.kid if exc.kid is not None else (row[2] if enc_field.kid_field else None),
            exc.reason,
        )
        return None
    report.rotated += 1
    report.from_kids[kid] += 1
    return (pk, token, new_token)


def _concrete_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):  # a reverse relation has no column to write
        raise TypeError(f"{model._meta.label}.{name} is not a concrete field")
    return field


class _Writer:
    """One UPDATE per row, by primary key, only if the token is still the one read."""

    def __init__(
        self, model: type[models.Model], enc_field: EncryptedTextField, connection: Any
    ) -> None:
        quote = connection.ops.quote_name
        assignments = [f"{quote(enc_field.column)} = %s"]
        kid_name = enc_field.kid_field
        self.kid_field = _concrete_field(model, kid_name) if kid_name else None
        if self.kid_field is not None:
            assignments.append(f"{quote(self.kid_field.column)} = %s")
        # Only quoted identifiers from the model's metadata; values are parameters.
        table, pk, column = (
            quote(model._meta.db_table),
            quote(model._meta.pk.column),
            quote(enc_field.column),
        )
        self.sql = f"UPDATE {table} SET {', '.join(assignments)} WHERE {pk} = %s AND {column} = %s"  # noqa: S608
        self.pk_field = model._meta.pk
        self.enc_field = enc_field
        self.connection = connection

    def write(self, updates: list[tuple[Any, str, str]]) -> None:
        connection, enc_field = self.connection, self.enc_field
        params = []
        for pk, old_token, new_token in updates:
            # get_db_prep_save runs the field's own checks (never plaintext).
            values = [enc_field.get_db_prep_save(new_token, connection)]
            if self.kid_field is not None:
                values.append(self.kid_field.get_db_prep_save(token_kid(new_token), connection))
            values.append(self.pk_field.get_db_prep_value(pk, connection))
            values.append(old_token)
            params.append(values)
        with connection.cursor() as cursor:
            cursor.executemany(self.sql, params)


def rows_to_scan(
    targets: list[tuple[type[models.Model], EncryptedTextField]] | None = None,
) -> int:
    """How many rows ``rotate_all`` will read (one COUNT per column), for its progress."""
    return sum(
        model._base_manager.count()
        for model, _enc_field in (encrypted_fields() if targets is None else targets)
    )


def rotate_all(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    progress: Progress | None = None,
    targets: list[tuple[type[models.Model], EncryptedTextField]] | None = None,
) -> RotationReport:
    """Rotate every encrypted column of the project (or ``targets``)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = RotationReport(active_kid=get_keyring().active_kid, dry_run=dry_run)
    started = time.perf_counter()
    for model, enc_field in encrypted_fields() if targets is None else targets:
        rotate_field(model, enc_field, report=report, batch_size=batch_size, progress=progress)
    report.seconds = time.perf_counter() - started
    return report
