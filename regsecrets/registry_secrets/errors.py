"""The typed errors the secret use cases raise, each with the one wording people see.

Use cases (``verification``) raise these; every face maps them to its own kind of
answer with one small adapter (the site's JSON endpoints: ``endpoints.json_endpoint``;
the API: its endpoint wrapper; pages and the admin: a message). The words live here
only, so the site, the admin and the API say the same thing. Messages are built from
names and key ids, never from credentials.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404

from regsecrets.crypto import DecryptionError

__all__ = [
    "BUSY_MESSAGE",
    "RATE_LIMITED_MESSAGE",
    "InvalidInput",
    "NotFound",
    "RateLimited",
    "Undecryptable",
    "VerifierBusy",
    "undecryptable_message",
    "undecryptable_operator_message",
]

RATE_LIMITED_MESSAGE = (
    "Too many verification requests: each one contacts a registry, so they are "
    "limited per user. Try again in a minute."
)


def undecryptable_message() -> str:
    """The one sentence users get for a secret whose stored document does not open.

    Users' words: what they can do, no key id or setting name (operators get
    :func:`undecryptable_operator_message` in the admin, and the docs).
    """
    return (
        "The stored credentials of this secret cannot be decrypted on this server. Ask "
        "your operator to restore the encryption key, or delete the secret and create it "
        "again with fresh credentials."
    )


def undecryptable_operator_message(kid: str | None) -> str:
    """The operators' sentence (the admin): which key id, and where keys are configured."""
    return (
        f"The stored credentials cannot be decrypted (key id {kid or 'unknown'}): the "
        "server's key ring cannot open them. Restore that key in "
        "REGSECRETS_ENCRYPTION_KEYS, or delete the secret and have it created again."
    )


class RateLimited(Exception):
    """The actor used up their verification budget (REGSECRETS_VERIFY_RATE_LIMIT)."""

    message = RATE_LIMITED_MESSAGE

    def __init__(self) -> None:
        super().__init__(self.message)


BUSY_MESSAGE = (
    "Registry checks are busy on this server right now, so nothing was checked. "
    "Try again in a moment."
)


class VerifierBusy(RateLimited):
    """This process already serves REGSECRETS_VERIFY_MAX_REQUESTS verification requests.

    A RateLimited (every face answers it as one: a message, HTTP 429), with its own
    message: the server's limit, not the person's budget, which was not spent.
    """

    message = BUSY_MESSAGE


class Undecryptable(Exception):
    """A stored secret's document cannot be opened; wraps the crypto layer's error.

    Nothing was checked or audited. ``kid`` is the key id the ciphertext claims.
    """

    def __init__(self, error: DecryptionError) -> None:
        self.error = error
        self.kid = error.kid
        self.message = undecryptable_message()
        super().__init__(self.message)


class InvalidInput(ValidationError):
    """Bad input, keyed by field (``message_dict``) like the services' ValidationError."""

    @classmethod
    def wrap(cls, error: ValidationError) -> InvalidInput:
        """The same field errors, typed as the use case's error."""
        if hasattr(error, "error_dict"):
            return cls(error.error_dict)
        return cls(error.error_list)

    @classmethod
    def on(cls, field: str, message: str, *, code: str | None = None) -> InvalidInput:
        return cls({field: [ValidationError(message, code=code)]})


class NotFound(Http404):
    """The object is not in the caller's organization (or does not exist): a 404."""

    def __init__(self, message: str = "No such object in this organization.") -> None:
        self.message = message
        super().__init__(message)
