"""One check's HTTP session: which URLs it may talk to, redirects followed by hand,
and responses read up to a size cap, all within the check's deadline."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

import httpx

from regsecrets.registries.dockerconfig import DOCKER_HUB_AUTH_KEY
from regsecrets.registries.netguard import deadline_scope

from .results import INVALID_SCHEME, MALFORMED, REGISTRY_ERROR, ClientOptions, Stop
from .transport import shared_transport

__all__ = [
    "DOCKER_HUB_REGISTRY",
    "Registry",
    "Reply",
    "Session",
    "hostport",
    "registry_for",
    "retry_after",
]

DOCKER_HUB_REGISTRY = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
_USER_AGENT = "regsecrets-verify/1"
_MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Reply:
    status: int
    headers: httpx.Headers
    body: bytes
    url: httpx.URL


def retry_after(reply: Reply) -> float | None:
    """How long a throttled (429) or failing (5xx) registry asked us to wait.

    Retry-After is seconds or an HTTP date; anything unreadable counts as 0 (back
    off by our own schedule). None when the reply is not a throttle or server error.
    """
    if reply.status != 429 and reply.status < 500:
        return None
    value = reply.headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(min(int(value), 86400))
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, min(when.timestamp() - time.time(), 86400.0))
        except (TypeError, ValueError, OverflowError):
            pass
    return 0.0


@dataclass(frozen=True)
class Registry:
    host: str  # host[:port] as checked and reported
    base: httpx.URL  # scheme://host[:port]


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default)


def hostport(url: httpx.URL) -> str:
    """``host[:port]`` of a URL, IPv6 literals in brackets, as reasons name hosts."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port}" if url.port else host


def registry_for(server: str, options: ClientOptions) -> Registry:
    """Turn a docker config key or image domain into the registry's base URL.

    Docker Hub's historical key and aliases mean registry-1.docker.io. A scheme given
    explicitly is respected (http only if listed as insecure); without one, listed
    hosts use http and every other host https.
    """
    text = server.strip()
    if not text:
        raise Stop(MALFORMED, "The registry address is empty.")
    if text == DOCKER_HUB_AUTH_KEY:
        text = DOCKER_HUB_REGISTRY
    scheme = ""
    if "://" in text:
        scheme, _, text = text.partition("://")
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise Stop(INVALID_SCHEME, "The registry address must use https://.")
    host_port = text.split("/", 1)[0].lower()
    if not host_port or "@" in host_port or any(c.isspace() for c in host_port):
        raise Stop(MALFORMED, "The registry address is not a valid host name.")
    try:
        probe = httpx.URL(f"https://{host_port}/")
    except httpx.InvalidURL:
        raise Stop(MALFORMED, "The registry address is not a valid host name.")
    if not probe.host:
        raise Stop(MALFORMED, "The registry address is not a valid host name.")
    if probe.host in _DOCKER_HUB_ALIASES and probe.port is None:
        host_port = DOCKER_HUB_REGISTRY
    listed = host_port in options.insecure_registries
    if scheme == "http" and not listed:
        raise Stop(
            INVALID_SCHEME,
            f"{host_port} uses plain HTTP, which is allowed only for registries listed in "
            "REGSECRETS_INSECURE_REGISTRIES.",
        )
    if not scheme:
        scheme = "http" if listed else "https"
    return Registry(host=host_port, base=httpx.URL(f"{scheme}://{host_port}/"))


class Session:
    """One check: one deadline, the URL policy, the process's guarded connections."""

    def __init__(self, options: ClientOptions, deadline: float) -> None:
        self.options = options
        # Shared with the other checks of the same request; every socket operation is
        # clamped to it by the backend (through deadline_scope), so a check cannot
        # outlive it, on a new connection or one kept alive by an earlier check.
        self.deadline = deadline
        # A client per check (its cookies are this check's only) over the transport
        # every check of this process shares (transport.py says why that is safe).
        self.client = httpx.Client(
            transport=shared_transport(allow_private=options.allow_private),
            follow_redirects=False,
            trust_env=False,
            timeout=options.timeout,
            headers={"User-Agent": _USER_AGENT},
        )

    def close(self) -> None:
        self.client.close()

    # URL policy ---------------------------------------------------------------------

    def scheme_allowed(self, url: httpx.URL) -> bool:
        if url.scheme == "https":
            return True
        if url.scheme == "http":
            return self.is_insecure(url)
        return False

    def is_insecure(self, url: httpx.URL) -> bool:
        listed = self.options.insecure_registries
        return hostport(url).lower() in listed or (url.port is None and url.host.lower() in listed)

    def require_scheme(self, url: httpx.URL, what: str) -> None:
        if url.scheme not in ("http", "https") or not url.host:
            raise Stop(INVALID_SCHEME, f"The {what} address must be an https:// URL.")
        if not self.scheme_allowed(url):
            raise Stop(
                INVALID_SCHEME,
                f"The {what} {hostport(url)} uses plain HTTP, which is allowed only for "
                "registries listed in REGSECRETS_INSECURE_REGISTRIES.",
            )

    # HTTP ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: httpx.URL,
        *,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        what: str = "registry",
    ) -> Reply:
        """Send one request, following GET/HEAD redirects by hand.

        Authorization is dropped for good as soon as a redirect leaves the first
        origin: credentials belong to the host they were meant for.
        """
        headers = dict(headers or {})
        first_origin = _origin(url)
        for _hop in range(_MAX_REDIRECTS + 1):
            self.require_scheme(url, what)
            if time.monotonic() >= self.deadline:
                raise httpx.ReadTimeout("verification deadline reached")
            with deadline_scope(self.deadline), self.client.stream(
                method,
                url,
                headers=headers,
                data=data,
                timeout=max(0.001, self.deadline - time.monotonic()),
            ) as response:
                location = response.headers.get("location")
                if response.status_code in (301, 302, 303, 307, 308) and location:
                    if method not in ("GET", "HEAD"):
                        raise Stop(
                            REGISTRY_ERROR,
                            f"The {what} at {hostport(url)} answered a {method} with a "
                            "redirect, which is not followed for safety.",
                        )
                    try:
                        url = url.join(location)
                    except httpx.InvalidURL:
                        raise Stop(MALFORMED, f"The {what} sent an invalid redirect.")
                    if _origin(url) != first_origin:
                        headers.pop("Authorization", None)
                    continue
                body = b""
                if method != "HEAD":
                    body = self._read_capped(response, what)
                else:
                    # No body follows, whatever Content-Length says; reaching the end
                    # of the reply leaves the connection reusable by the next check.
                    for _chunk in response.iter_raw():
                        break
                return Reply(response.status_code, response.headers, body, response.url)
        raise Stop(REGISTRY_ERROR, f"The {what} redirected too many times.")

    def _read_capped(self, response: httpx.Response, what: str) -> bytes:
        limit = self.options.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise Stop(REGISTRY_ERROR, f"The {what} answered with more than {limit} bytes.")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_raw():
            size += len(chunk)
            if size > limit:
                raise Stop(REGISTRY_ERROR, f"The {what} answered with more than {limit} bytes.")
            chunks.append(chunk)
        return b"".join(chunks)
