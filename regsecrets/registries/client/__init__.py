"""Registry HTTP API v2 verification client: "do these credentials work?" and
"can this image be pulled?".

Hand-written on purpose: no maintained Python library implements the distribution
authentication dance correctly (ping, Basic or Bearer challenge, token request with
scope and account, OAuth2 refresh for identity tokens, registry tokens, Docker Hub's
host and ``library/`` quirks) *and* lets us bound time and size and refuse private
addresses. The protocol is small; the references are the distribution token
specification (docs/spec/auth/token.md, oauth.md) and docker/cli's login flow.

Safety properties, because the host is chosen by the user:

* every connection goes through :mod:`regsecrets.registries.netguard` (no private or
  loopback addresses unless allowed, connection pinned to the checked address, one
  deadline for the whole check);
* responses are read up to ``max_response_bytes``;
* at most ``max_concurrency`` checks talk to registries at once in one process; a
  check that cannot get a slot before its deadline answers TIMEOUT without connecting;
* HTTPS only, except for ``host:port`` entries the operator lists as insecure;
* redirects are followed by hand: an ``Authorization`` header never crosses to another
  origin, and POST bodies (refresh tokens) are never redirected;
* a reason never contains a password or token: reasons are built from our own words,
  status codes and host names, never from response bodies, and are scrubbed anyway.

The package, one module per seam:

* :mod:`.results`: the result codes, :class:`VerificationResult`, :class:`ClientOptions`;
* :mod:`.challenges`: WWW-Authenticate parsing and the challenge to answer;
* :mod:`.transport`: httpx over the guarded network backend;
* :mod:`.session`: one check's URL policy, hand-followed redirects, the size cap;
* :mod:`.tokens`: Basic credentials, token requests, OAuth2 refresh, registry tokens;
* :mod:`.running`: the concurrency slot, failures mapped to codes, reasons scrubbed;
* :mod:`.checks`: the two public questions.
"""

from __future__ import annotations

from .checks import MANIFEST_ACCEPT, check_credentials, check_image
from .results import (
    ANON_ACCESS_DENIED,
    ANON_NOT_FOUND,
    AUTH_ACCESS_DENIED,
    AUTH_NOT_FOUND,
    DNS,
    FORBIDDEN_ADDRESS,
    INVALID_SCHEME,
    MALFORMED,
    REGISTRY_ERROR,
    TIMEOUT,
    TLS,
    ClientOptions,
    VerificationResult,
)
from .running import deadline_result

__all__ = [
    "ANON_ACCESS_DENIED",
    "ANON_NOT_FOUND",
    "AUTH_ACCESS_DENIED",
    "AUTH_NOT_FOUND",
    "DNS",
    "FORBIDDEN_ADDRESS",
    "INVALID_SCHEME",
    "MALFORMED",
    "MANIFEST_ACCEPT",
    "REGISTRY_ERROR",
    "TIMEOUT",
    "TLS",
    "ClientOptions",
    "VerificationResult",
    "check_credentials",
    "check_image",
    "deadline_result",
]
