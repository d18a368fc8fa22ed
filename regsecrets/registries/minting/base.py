"""What every minting engine returns or raises."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "MINT_DENIED",
    "MINT_ERROR",
    "MINT_FORBIDDEN_ENDPOINT",
    "MINT_INVALID_KEY",
    "MINT_TIMEOUT",
    "MINT_UNREACHABLE",
    "MintedToken",
    "MintingError",
    "scrub",
]

# Codes sit beside the verification codes (AUTH_ACCESS_DENIED, TIMEOUT, ...) in a
# check's result, so they share their style and say what the user can act on.
MINT_INVALID_KEY = "MINT_INVALID_KEY"  # the stored credential is malformed; nothing was sent
MINT_DENIED = "MINT_DENIED"  # AWS or Google refused the credential
MINT_UNREACHABLE = "MINT_UNREACHABLE"  # no connection to the token service
MINT_TIMEOUT = "MINT_TIMEOUT"  # the token service did not answer in time
MINT_FORBIDDEN_ENDPOINT = "MINT_FORBIDDEN_ENDPOINT"  # a key naming a token service we refuse
MINT_ERROR = "MINT_ERROR"  # any other unusable answer (5xx, throttling, malformed reply)

_REDACTED = "[redacted]"


@dataclass(frozen=True)
class MintedToken:
    """A registry login valid until ``expires_at``; repr and str hide the password.

    ``host`` is the one registry the token is for (ECR), or empty when it serves
    every host of its secret (a Google access token).
    """

    username: str
    password: str = field(repr=False)
    expires_at: datetime
    issued_at: datetime
    host: str = ""

    @property
    def lifetime(self) -> timedelta:
        return self.expires_at - self.issued_at


class MintingError(Exception):
    """Minting failed; ``reason`` is in our own words and names no credential."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    def __repr__(self) -> str:
        return f"MintingError({self.code!r}, {self.reason!r})"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value in ``text``: a second line of defence for reasons.

    Reasons are built from our own words and non-secret inputs (region, role ARN,
    client email), so this should never change anything; it is here so that a
    future message quoting the wrong variable still cannot leak.
    """
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, _REDACTED)
    return text
