"""The two errors of the crypto layer.

Both are raised where a secret might be near, so their messages are built from
names (model label, row id, KID, entry position) and never from keys, tokens or
plaintext: they end up in logs, error reports and admin messages.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured


class KeyRingError(ImproperlyConfigured):
    """The key ring is missing or malformed; the message names the entry's position."""


class DecryptionError(Exception):
    """A stored ciphertext cannot be opened.

    There is no plaintext fallback: callers show an error for this one secret
    and carry on. The message names where the ciphertext lives and which key it
    claims, so an operator can find the row, and nothing else.
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        row_id: Any = None,
        kid: str | None = None,
        field: str | None = None,
        reason: str = "authentication failed",
    ) -> None:
        self.model = model
        self.row_id = row_id
        self.kid = kid
        self.field = field
        self.reason = reason
        super().__init__(self._message())

    def _message(self) -> str:
        where = self.model or "ciphertext"
        if self.field:
            where = f"{where}.{self.field}"
        row = "" if self.row_id is None else f" row {self.row_id}"
        kid = "unknown" if self.kid is None else repr(self.kid)
        return f"cannot decrypt {where}{row} (key id {kid}): {self.reason}"

    def with_context(self, *, model: str, row_id: Any, field: str) -> DecryptionError:
        """Return the same failure, placed at a model row (for the field layer)."""
        return DecryptionError(
            model=model, row_id=row_id, kid=self.kid, field=field, reason=self.reason
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only __init__: keep the error picklable for multiprocess runners.
        return (_rebuild, (self.model, self.row_id, self.kid, self.field, self.reason))


def _rebuild(model: Any, row_id: Any, kid: Any, field: Any, reason: str) -> DecryptionError:
    return DecryptionError(model=model, row_id=row_id, kid=kid, field=field, reason=reason)
