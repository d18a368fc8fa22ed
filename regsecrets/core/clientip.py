"""The client's address: one rule for every limit and record that names a client.

The sign-in lockout (django-axes, through ``AXES_CLIENT_IP_CALLABLE``), the API's
invalid-token limit and the audit log all ask this function, so that a client is
the same client everywhere and a proxy setting cannot be honoured by one and
forgotten by another.

Behind ``REGSECRETS_PROXY_COUNT`` trusted proxies, each of which appends the
address it received the connection from to ``X-Forwarded-For``, the client is the
entry that the outermost trusted proxy appended: the N-th from the right. Entries
further left were written by the client itself and prove nothing. With no proxy
count the header is ignored, so a client cannot choose its own address.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

__all__ = ["client_ip"]


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address as text; None when nothing usable is known."""
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    count = int(getattr(settings, "REGSECRETS_PROXY_COUNT", 0) or 0)
    if count <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if part.strip()
    ]
    if len(forwarded) < count:
        # Fewer hops than proxies: the request did not come through all of them
        # (a probe on the inside, a misconfiguration). The peer is what we know.
        return remote
    return _address(forwarded[-count]) or remote


def _address(text: str) -> str | None:
    """``text`` as a canonical IP address, tolerating the ports some proxies add."""
    text = text.strip()
    if not text:
        return None
    candidates = [text]
    if text.startswith("[") and "]" in text:  # [v6]:port
        candidates.append(text[1 : text.index("]")])
    elif text.count(":") == 1:  # v4:port
        candidates.append(text.partition(":")[0])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None
