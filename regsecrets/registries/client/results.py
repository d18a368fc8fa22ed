"""What a check answers: the result codes, the result, the limits it runs under, and
the exception that ends a check early with a result.

Every other module of the client speaks this vocabulary, so it depends on nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = [
    "ANON_ACCESS_DENIED",
    "ANON_NOT_FOUND",
    "AUTH_ACCESS_DENIED",
    "AUTH_NOT_FOUND",
    "DNS",
    "FORBIDDEN_ADDRESS",
    "INVALID_SCHEME",
    "MALFORMED",
    "REGISTRY_ERROR",
    "TIMEOUT",
    "TLS",
    "ClientOptions",
    "Stop",
    "VerificationResult",
]

# Result codes, spelled as Koyeb's verify endpoint reports them (plus TLS and
# FORBIDDEN_ADDRESS, which Koyeb folds into REGISTRY_ERROR but users can act on).
AUTH_ACCESS_DENIED = "AUTH_ACCESS_DENIED"
ANON_ACCESS_DENIED = "ANON_ACCESS_DENIED"
AUTH_NOT_FOUND = "AUTH_NOT_FOUND"
ANON_NOT_FOUND = "ANON_NOT_FOUND"
REGISTRY_ERROR = "REGISTRY_ERROR"
TIMEOUT = "TIMEOUT"
DNS = "DNS"
MALFORMED = "MALFORMED"
INVALID_SCHEME = "INVALID_SCHEME"
TLS = "TLS"
FORBIDDEN_ADDRESS = "FORBIDDEN_ADDRESS"


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of one check; ``code`` is empty on success."""

    success: bool
    code: str
    reason: str
    registry: str = ""
    # Seconds the registry asked us to wait (429 or 5xx, from Retry-After; 0 when it
    # named none), so schedulers can back off; None when the answer was not a throttle.
    retry_after: float | None = None
    # The HTTP status of the registry's answer that ended a failed check, when an
    # answer did (None on success, timeouts, DNS or TLS failures, refused addresses).
    status: int | None = None


@dataclass(frozen=True)
class ClientOptions:
    """Limits and exceptions for outbound verification requests.

    The defaults are the safe ones a caller outside the application gets; the
    application builds its options from its settings
    (``regsecrets.registry_secrets.client_options``), whose defaults are these.
    """

    # Seconds for one whole verification request, however many checks it makes.
    timeout: float = 10.0
    max_response_bytes: int = 1 << 20
    allow_private: bool = False
    insecure_registries: frozenset[str] = field(default_factory=frozenset)
    # Checks talking to registries at once in this process (all requests together).
    max_concurrency: int = 8

    def deadline(self) -> float:
        """The ``time.monotonic()`` instant a request starting now must be done by."""
        return time.monotonic() + self.timeout


class Stop(Exception):
    """Ends a check early with a result; raised from deep inside the flow."""

    def __init__(
        self,
        code: str,
        reason: str,
        retry_after: float | None = None,
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.retry_after = retry_after
        self.status = status
