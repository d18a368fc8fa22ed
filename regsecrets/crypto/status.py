"""How many ciphertexts each key protects, and which rows do not decrypt.

Used by ``manage.py encryption_status`` and by tests: it answers the runbook's
question "is anything still under the old key?" from the tokens themselves
(not the clear KID column, which is only a cached copy of the token's KID).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import models

from regsecrets.crypto.aead import token_kid
from regsecrets.crypto.errors import DecryptionError
from regsecrets.crypto.fields import (
    EncryptedTextField,
    _parse_document,
    encrypted_fields,
    open_token,
)
from regsecrets.crypto.scan import keyset_batches

MAX_LISTED_FAILURES = 100
UNREADABLE = "(unreadable)"


@dataclass
class FieldStatus:
    """Counts for one encrypted column; failures name rows, never data."""

    label: str
    ciphertexts: Counter[str] = field(default_factory=Counter)
    undecryptable: Counter[str] = field(default_factory=Counter)
    empty: int = 0
    kid_column_mismatches: int = 0
    failures: list[DecryptionError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(self.undecryptable.values())


def field_status(
    model: type[models.Model], enc_field: EncryptedTextField, *, batch_size: int = 1000
) -> FieldStatus:
    """Try to open every ciphertext of one column, in batches (flat memory)."""
    status = FieldStatus(label=f"{model._meta.label}.{enc_field.name}")
    columns = ["pk", enc_field.attname]
    if enc_field.kid_field:
        columns.append(enc_field.kid_field)
    rows = model._base_manager.values_list(*columns)
    for batch in keyset_batches(rows, batch_size):
        for row in batch:
            pk, token = row[0], row[1]
            if not token:
                status.empty += 1
                continue
            try:
                kid = token_kid(token)
            except DecryptionError:
                kid = UNREADABLE
            status.ciphertexts[kid] += 1
            if enc_field.kid_field and kid != row[2]:
                status.kid_column_mismatches += 1
            try:
                _parse_document(open_token(enc_field, pk, token))
            except DecryptionError as exc:
                status.undecryptable[kid] += 1
                if len(status.failures) < MAX_LISTED_FAILURES:
                    status.failures.append(
                        DecryptionError(
                            model=model._meta.label,
                            row_id=pk,
                            kid=None if kid == UNREADABLE else kid,
                            field=enc_field.name,
                            reason=exc.reason,
                        )
                    )
    return status


def project_status(*, batch_size: int = 1000) -> list[FieldStatus]:
    """``field_status`` for every encrypted column of the project."""
    return [
        field_status(model, enc_field, batch_size=batch_size)
        for model, enc_field in encrypted_fields()
    ]


def totals(statuses: list[FieldStatus]) -> tuple[Counter[str], Counter[str]]:
    """Ciphertexts and failures per KID across all columns."""
    ciphertexts: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for status in statuses:
        ciphertexts.update(status.ciphertexts)
        failed.update(status.undecryptable)
    return ciphertexts, failed


def rows_pending_rotation(active_kid: str) -> dict[str, int]:
    """Per encrypted column: rows whose clear key id column names another key.

    Cheap enough for every metrics scrape (one COUNT per column, on the indexed key
    id column; nothing decrypted). Columns without a key id column are left out.
    ``rotate_encryption_keys`` brings each count to 0.
    """
    pending: dict[str, int] = {}
    for model, enc_field in encrypted_fields():
        if not enc_field.kid_field:
            continue
        rows = model._base_manager.filter(**{f"{enc_field.name}__isnull": False}).exclude(
            **{f"{enc_field.kid_field}__in": [active_kid, ""]}
        )
        pending[f"{model._meta.label}.{enc_field.name}"] = rows.count()
    return pending
