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
"""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import json
import re
import ssl
import threading
import time
import typing
from dataclasses import dataclass, field

import certifi
import httpcore
import httpx

from regsecrets.registries.dockerconfig import DOCKER_HUB_AUTH_KEY
from regsecrets.registries.errors import InvalidDockerConfig, InvalidImageReference
from regsecrets.registries.matching import Credential, credentials_for_image
from regsecrets.registries.netguard import AddressForbidden, GuardedBackend, NameNotResolved
from regsecrets.registries.reference import parse_image_reference

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

# Everything a container runtime accepts, so a registry never answers 404 merely
# because the image is an index or OCI manifest.
MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)

DOCKER_HUB_REGISTRY = "registry-1.docker.io"
_DOCKER_HUB_ALIASES = frozenset(
    {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
)
_USER_AGENT = "regsecrets-verify/1"
_MAX_REDIRECTS = 5
_CLIENT_ID = "regsecrets"


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


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _host_list(value: object) -> frozenset[str]:
    if isinstance(value, str):
        items: typing.Iterable[object] = value.split(",")
    else:
        items = value or ()  # type: ignore[assignment]
    return frozenset(str(item).strip().lower() for item in items if str(item).strip())


@dataclass(frozen=True)
class ClientOptions:
    """Limits and exceptions for outbound verification requests."""

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

    @classmethod
    def from_settings(cls) -> ClientOptions:
        """Read the REGSECRETS_* settings lazily (getattr, so missing ones default)."""
        from django.conf import settings

        return cls(
            timeout=float(getattr(settings, "REGSECRETS_VERIFY_TIMEOUT", 10.0)),
            max_response_bytes=int(
                getattr(settings, "REGSECRETS_VERIFY_MAX_RESPONSE_BYTES", 1 << 20)
            ),
            allow_private=_truthy(getattr(settings, "REGSECRETS_ALLOW_PRIVATE_REGISTRIES", False)),
            insecure_registries=_host_list(getattr(settings, "REGSECRETS_INSECURE_REGISTRIES", ())),
            max_concurrency=int(getattr(settings, "REGSECRETS_VERIFY_MAX_CONCURRENCY", 8)),
        )


def _default_options() -> ClientOptions:
    # Outside a configured Django (scripts, bare pytest) the safe defaults apply.
    try:
        return ClientOptions.from_settings()
    except Exception:
        return ClientOptions()


# --------------------------------------------------------------------------- internals


class _Slots:
    """Process-wide count of checks talking to registries, capped at a limit.

    A counter under a condition rather than a Semaphore so the limit is read at each
    acquisition (settings may change, tests lower it) and a waiter gives up at its own
    deadline: a request never waits for a slot longer than it may take in total.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._active = 0

    def acquire(self, limit: int, deadline: float) -> bool:
        with self._cond:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if self._active < max(1, limit):
                    self._active += 1
                    return True
                self._cond.wait(remaining)

    def release(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()


_SLOTS = _Slots()


def deadline_result(registry_host: str, options: ClientOptions) -> VerificationResult:
    """The result of a check that could not run or finish before the request's deadline."""
    return VerificationResult(
        False,
        TIMEOUT,
        f"{registry_host} could not be checked within the {options.timeout:g}-second limit "
        "of this verification (the server is busy with other checks, or the registries "
        "tested before it took the time). Try again in a moment.",
        registry_host,
    )


class _Stop(Exception):
    """Ends a check early with a result; raised from deep inside the flow."""

    def __init__(self, code: str, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class _Challenge:
    scheme: str  # lower-case: "basic" or "bearer"
    params: dict[str, str]


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: httpx.Headers
    body: bytes
    url: httpx.URL


_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_SCHEME_RE = re.compile(rf"\s*({_TOKEN})")
_PARAM_RE = re.compile(rf"\s*({_TOKEN})\s*=\s*(?:\"((?:[^\"\\]|\\.)*)\"|([^\s,\"]*))")


class _MalformedChallenge(ValueError):
    pass


def parse_challenges(header: str) -> list[_Challenge]:
    """Parse a WWW-Authenticate value (RFC 7235) into challenges.

    Strict enough to call garbage garbage (unterminated quotes, parameters without a
    scheme), lenient about whitespace, since registries in the wild vary.
    """
    challenges: list[_Challenge] = []
    pos = 0
    length = len(header)
    while pos < length:
        while pos < length and header[pos] in " \t,":
            pos += 1
        if pos >= length:
            break
        match = _SCHEME_RE.match(header, pos)
        if not match:
            raise _MalformedChallenge(header)
        scheme = match.group(1).lower()
        pos = match.end()
        params: dict[str, str] = {}
        while True:
            param = _PARAM_RE.match(header, pos)
            if not param:
                break
            value = param.group(2)
            value = re.sub(r"\\(.)", r"\1", value) if value is not None else param.group(3)
            params[param.group(1).lower()] = value
            pos = param.end()
            rest = header[pos:].lstrip(" \t")
            if rest.startswith(","):
                pos = length - len(rest) + 1
                continue
            break
        challenges.append(_Challenge(scheme, params))
    if not challenges:
        raise _MalformedChallenge(header)
    return challenges


def _challenge_of(reply: _Reply) -> _Challenge:
    """The challenge to answer: Bearer preferred over Basic, like the Docker client."""
    values = reply.headers.get_list("www-authenticate")
    if not values:
        raise _Stop(
            MALFORMED,
            "The registry asked for authentication without saying how "
            "(no WWW-Authenticate header).",
        )
    found: list[_Challenge] = []
    try:
        for value in values:
            found.extend(parse_challenges(value))
    except _MalformedChallenge:
        raise _Stop(
            MALFORMED,
            "The registry's authentication challenge (WWW-Authenticate header) is malformed.",
        )
    for wanted in ("bearer", "basic"):
        for challenge in found:
            if challenge.scheme == wanted:
                if wanted == "bearer" and not challenge.params.get("realm"):
                    raise _Stop(
                        MALFORMED,
                        "The registry's Bearer challenge has no realm (token server address).",
                    )
                return challenge
    raise _Stop(
        MALFORMED,
        "The registry asks for an authentication scheme other than "
        "Basic or Bearer, which is not supported.",
    )


def _is_insufficient_scope(reply: _Reply) -> bool:
    for value in reply.headers.get_list("www-authenticate"):
        try:
            for challenge in parse_challenges(value):
                if challenge.params.get("error") == "insufficient_scope":
                    return True
        except _MalformedChallenge:
            continue
    return False


class _GuardedTransport(httpx.BaseTransport):
    """httpx transport over an httpcore pool using :class:`GuardedBackend`.

    Public httpx/httpcore APIs only, so pinning the connection to the checked address
    does not depend on httpx internals.
    """

    _ERRORS: typing.ClassVar[list[tuple[type[Exception], type[httpx.HTTPError]]]] = [
        (httpcore.ConnectTimeout, httpx.ConnectTimeout),
        (httpcore.ReadTimeout, httpx.ReadTimeout),
        (httpcore.WriteTimeout, httpx.WriteTimeout),
        (httpcore.PoolTimeout, httpx.PoolTimeout),
        (httpcore.ConnectError, httpx.ConnectError),
        (httpcore.ReadError, httpx.ReadError),
        (httpcore.WriteError, httpx.WriteError),
        (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
        (httpcore.LocalProtocolError, httpx.LocalProtocolError),
        (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
        (httpcore.ProtocolError, httpx.ProtocolError),
        (httpcore.NetworkError, httpx.NetworkError),
        (httpcore.TimeoutException, httpx.TimeoutException),
    ]

    def __init__(self, backend: GuardedBackend, ssl_context: ssl.SSLContext) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, network_backend=backend, max_connections=4
        )

    @classmethod
    def _map(cls, exc: Exception) -> Exception:
        for core, mapped in cls._ERRORS:
            if isinstance(exc, core):
                return mapped(str(exc))
        return exc

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=typing.cast(typing.Iterable[bytes], request.stream),
            extensions=request.extensions,
        )
        try:
            response = self._pool.handle_request(core_request)
        except httpcore.TimeoutException as exc:
            raise self._map(exc) from exc
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise self._map(exc) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_MappedStream(typing.cast(typing.Iterable[bytes], response.stream), self),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _MappedStream(httpx.SyncByteStream):
    def __init__(self, inner: typing.Iterable[bytes], transport: _GuardedTransport) -> None:
        self._inner = inner
        self._transport = transport

    def __iter__(self) -> typing.Iterator[bytes]:
        try:
            yield from self._inner
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise self._transport._map(exc) from exc

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True)
class _Registry:
    host: str  # host[:port] as checked and reported
    base: httpx.URL  # scheme://host[:port]


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default)


def _hostport(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port}" if url.port else host


class _Session:
    """One check: one deadline, one connection pool, the secrets to scrub."""

    def __init__(self, options: ClientOptions, deadline: float) -> None:
        self.options = options
        # Shared with the other checks of the same request; every socket operation is
        # clamped to it by the backend, so a check cannot outlive it.
        self.deadline = deadline
        backend = GuardedBackend(deadline=self.deadline, allow_private=options.allow_private)
        ssl_context = ssl.create_default_context(cafile=certifi.where())
        self.client = httpx.Client(
            transport=_GuardedTransport(backend, ssl_context),
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
        return _hostport(url).lower() in listed or (url.port is None and url.host.lower() in listed)

    def require_scheme(self, url: httpx.URL, what: str) -> None:
        if url.scheme not in ("http", "https") or not url.host:
            raise _Stop(INVALID_SCHEME, f"The {what} address must be an https:// URL.")
        if not self.scheme_allowed(url):
            raise _Stop(
                INVALID_SCHEME,
                f"The {what} {_hostport(url)} uses plain HTTP, which is allowed only for "
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
    ) -> _Reply:
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
            with self.client.stream(
                method,
                url,
                headers=headers,
                data=data,
                timeout=max(0.001, self.deadline - time.monotonic()),
            ) as response:
                location = response.headers.get("location")
                if response.status_code in (301, 302, 303, 307, 308) and location:
                    if method not in ("GET", "HEAD"):
                        raise _Stop(
                            REGISTRY_ERROR,
                            f"The {what} at {_hostport(url)} answered a {method} with a "
                            "redirect, which is not followed for safety.",
                        )
                    try:
                        url = url.join(location)
                    except httpx.InvalidURL:
                        raise _Stop(MALFORMED, f"The {what} sent an invalid redirect.")
                    if _origin(url) != first_origin:
                        headers.pop("Authorization", None)
                    continue
                body = b""
                if method != "HEAD":
                    body = self._read_capped(response, what)
                return _Reply(response.status_code, response.headers, body, response.url)
        raise _Stop(REGISTRY_ERROR, f"The {what} redirected too many times.")

    def _read_capped(self, response: httpx.Response, what: str) -> bytes:
        limit = self.options.max_response_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _Stop(REGISTRY_ERROR, f"The {what} answered with more than {limit} bytes.")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_raw():
            size += len(chunk)
            if size > limit:
                raise _Stop(REGISTRY_ERROR, f"The {what} answered with more than {limit} bytes.")
            chunks.append(chunk)
        return b"".join(chunks)


def _basic(username: str, password: str) -> str:
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _has_login(credential: Credential | None) -> bool:
    return credential is not None and bool(
        credential.username
        or credential.password
        or credential.identitytoken
        or credential.registrytoken
    )


def _secrets(credential: Credential | None) -> list[str]:
    if credential is None:
        return []
    values = [credential.password, credential.identitytoken, credential.registrytoken]
    return [value for value in values if value and len(value) >= 3]


def _scrub(reason: str, secrets: list[str]) -> str:
    for secret in secrets:
        reason = reason.replace(secret, "***")
    return reason


def _token_from(reply: _Reply) -> str:
    try:
        document = json.loads(reply.body)
    except (ValueError, UnicodeDecodeError):
        document = None
    if isinstance(document, dict):
        token = document.get("token") or document.get("access_token")
        if isinstance(token, str) and token:
            return token
    raise _Stop(MALFORMED, "The token server's answer does not contain a token.")


def _obtain_token(
    session: _Session,
    challenge: _Challenge,
    credential: Credential | None,
    scope: str | None,
    registry: _Registry,
) -> str:
    """Get a Bearer token for ``scope`` as the distribution token spec describes.

    A registrytoken is already a Bearer token for the registry. An identitytoken is an
    OAuth2 refresh token and goes to the realm in a POST (never a query string). Else
    a GET with Basic credentials (the only place, besides a Basic registry, where the
    password is sent: the realm the registry named, over HTTPS).
    """
    if credential is not None and credential.registrytoken:
        return credential.registrytoken
    try:
        realm = httpx.URL(challenge.params["realm"])
    except httpx.InvalidURL:
        raise _Stop(MALFORMED, "The registry's token realm is not a valid URL.")
    if realm.scheme not in ("http", "https") or not realm.host:
        raise _Stop(MALFORMED, "The registry's token realm is not an http(s) URL.")
    session.require_scheme(realm, "token server")
    service = challenge.params.get("service", "")
    denied = AUTH_ACCESS_DENIED if _has_login(credential) else ANON_ACCESS_DENIED
    realm_host = _hostport(realm)

    if credential is not None and credential.identitytoken:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credential.identitytoken,
            "client_id": _CLIENT_ID,
            "service": service,
        }
        if scope:
            form["scope"] = scope
        reply = session.request("POST", realm, data=form, what="token server")
    else:
        params: dict[str, str] = {}
        if service:
            params["service"] = service
        if scope:
            params["scope"] = scope
        headers: dict[str, str] = {}
        if _has_login(credential):
            assert credential is not None
            params["account"] = credential.username
            headers["Authorization"] = _basic(credential.username, credential.password)
        reply = session.request(
            "GET", realm.copy_merge_params(params), headers=headers, what="token server"
        )

    if reply.status in (400, 401, 403):
        if denied == AUTH_ACCESS_DENIED:
            reason = (
                f"The token server {realm_host} rejected the credentials "
                f"(HTTP {reply.status}): check the username and password or token."
            )
        else:
            reason = (
                f"The token server {realm_host} refused anonymous access "
                f"(HTTP {reply.status}): this registry needs credentials."
            )
        raise _Stop(denied, reason)
    if reply.status != 200:
        raise _Stop(
            REGISTRY_ERROR,
            f"The token server {realm_host} answered HTTP {reply.status}.",
            _retry_after(reply),
        )
    return _token_from(reply)


def _authorization(
    session: _Session,
    challenge: _Challenge,
    credential: Credential | None,
    scope: str | None,
    registry: _Registry,
) -> dict[str, str]:
    """Authorization header answering ``challenge``; empty for anonymous Basic."""
    if challenge.scheme == "basic":
        if credential is None or not (credential.username or credential.password):
            return {}
        return {"Authorization": _basic(credential.username, credential.password)}
    token = _obtain_token(session, challenge, credential, scope, registry)
    return {"Authorization": f"Bearer {token}"}


def _ping(session: _Session, registry: _Registry, headers: dict[str, str] | None = None) -> _Reply:
    return session.request("GET", registry.base.join("/v2/"), headers=headers)


def _retry_after(reply: _Reply) -> float | None:
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


def _unexpected(registry: _Registry, reply: _Reply, doing: str) -> _Stop:
    if reply.status == 404 and doing == "ping":
        return _Stop(
            REGISTRY_ERROR,
            f"{registry.host} does not serve the Registry HTTP API v2 (/v2/ answered 404).",
        )
    return _Stop(
        REGISTRY_ERROR,
        f"{registry.host} answered HTTP {reply.status} to the {doing}.",
        _retry_after(reply),
    )


def _run(
    registry_host: str,
    options: ClientOptions,
    credential: Credential | None,
    flow: typing.Callable[[_Session], VerificationResult],
    deadline: float | None,
) -> VerificationResult:
    """Run a flow, turning every failure into a VerificationResult with a code.

    ``deadline`` (a ``time.monotonic()`` instant) is the request's, shared by all its
    checks; without one the check gets ``options.timeout`` of its own.
    """
    if deadline is None:
        deadline = options.deadline()
    if not _SLOTS.acquire(options.max_concurrency, deadline):
        return deadline_result(registry_host, options)
    try:
        return _run_in_slot(registry_host, options, credential, flow, deadline)
    finally:
        _SLOTS.release()


def _run_in_slot(
    registry_host: str,
    options: ClientOptions,
    credential: Credential | None,
    flow: typing.Callable[[_Session], VerificationResult],
    deadline: float,
) -> VerificationResult:
    secrets = _secrets(credential)
    session = _Session(options, deadline)
    try:
        result = flow(session)
    except _Stop as stop:
        result = VerificationResult(
            False, stop.code, stop.reason, registry_host, stop.retry_after
        )
    except AddressForbidden as exc:
        result = VerificationResult(
            False,
            FORBIDDEN_ADDRESS,
            f"{exc.host} resolves to {exc.address}, a loopback, private or otherwise "
            "non-public address; verification refuses it to protect the internal network "
            "(operators of self-hosted registries can set "
            "REGSECRETS_ALLOW_PRIVATE_REGISTRIES=true).",
            registry_host,
        )
    except NameNotResolved as exc:
        result = VerificationResult(
            False, DNS, f"The host name {exc.host} could not be resolved.", registry_host
        )
    except httpx.TimeoutException:
        result = VerificationResult(
            False,
            TIMEOUT,
            f"{registry_host} did not answer within the {options.timeout:g}-second limit "
            "of this verification.",
            registry_host,
        )
    except httpx.ConnectError as exc:
        if _caused_by(exc, ssl.SSLError):
            reason = (
                f"The TLS connection to {registry_host} failed (certificate not trusted, "
                "wrong host name, or the server does not speak HTTPS)."
            )
            result = VerificationResult(False, TLS, reason, registry_host)
        elif _caused_by(exc, ConnectionRefusedError):
            result = VerificationResult(
                False, REGISTRY_ERROR, f"{registry_host} refused the connection.", registry_host
            )
        else:
            result = VerificationResult(
                False, REGISTRY_ERROR, f"Could not connect to {registry_host}.", registry_host
            )
    except httpx.HTTPError:
        result = VerificationResult(
            False,
            REGISTRY_ERROR,
            f"{registry_host} broke off the exchange or did not answer with valid HTTP.",
            registry_host,
        )
    finally:
        session.close()
    if secrets:
        result = dataclasses.replace(result, reason=_scrub(result.reason, secrets))
    return result


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _registry_for(server: str, options: ClientOptions) -> _Registry:
    """Turn a docker config key or image domain into the registry's base URL.

    Docker Hub's historical key and aliases mean registry-1.docker.io. A scheme given
    explicitly is respected (http only if listed as insecure); without one, listed
    hosts use http and every other host https.
    """
    text = server.strip()
    if not text:
        raise _Stop(MALFORMED, "The registry address is empty.")
    if text == DOCKER_HUB_AUTH_KEY:
        text = DOCKER_HUB_REGISTRY
    scheme = ""
    if "://" in text:
        scheme, _, text = text.partition("://")
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise _Stop(INVALID_SCHEME, "The registry address must use https://.")
    hostport = text.split("/", 1)[0].lower()
    if not hostport or "@" in hostport or any(c.isspace() for c in hostport):
        raise _Stop(MALFORMED, "The registry address is not a valid host name.")
    try:
        probe = httpx.URL(f"https://{hostport}/")
    except httpx.InvalidURL:
        raise _Stop(MALFORMED, "The registry address is not a valid host name.")
    if not probe.host:
        raise _Stop(MALFORMED, "The registry address is not a valid host name.")
    if probe.host in _DOCKER_HUB_ALIASES and probe.port is None:
        hostport = DOCKER_HUB_REGISTRY
    listed = hostport in options.insecure_registries
    if scheme == "http" and not listed:
        raise _Stop(
            INVALID_SCHEME,
            f"{hostport} uses plain HTTP, which is allowed only for registries listed in "
            "REGSECRETS_INSECURE_REGISTRIES.",
        )
    if not scheme:
        scheme = "http" if listed else "https"
    return _Registry(host=hostport, base=httpx.URL(f"{scheme}://{hostport}/"))


# ------------------------------------------------------------------------- public API


def check_credentials(
    server: str,
    credential: Credential | None,
    *,
    options: ClientOptions | None = None,
    deadline: float | None = None,
) -> VerificationResult:
    """Do these credentials log in to ``server``? Like ``docker login``.

    ``deadline`` (``time.monotonic()``) bounds the check together with the other
    checks of the same request; by default it has ``options.timeout`` to itself.

    Success means /v2/ answers 200 with them: directly with Basic, or, behind a Bearer
    challenge, with a token obtained without a scope (as docker login does, since
    logging in says nothing about any one repository).
    """
    options = options or _default_options()
    try:
        registry = _registry_for(server, options)
    except _Stop as stop:
        return VerificationResult(False, stop.code, stop.reason, server.strip())
    authenticated = _has_login(credential)

    def flow(session: _Session) -> VerificationResult:
        reply = _ping(session, registry)
        if reply.status == 200:
            return VerificationResult(
                True,
                "",
                f"{registry.host} accepts anonymous access; no credentials are needed.",
                registry.host,
            )
        if reply.status != 401:
            raise _unexpected(registry, reply, "ping")
        challenge = _challenge_of(reply)
        if not authenticated:
            raise _Stop(ANON_ACCESS_DENIED, f"{registry.host} requires credentials to log in.")
        headers = _authorization(session, challenge, credential, None, registry)
        reply = _ping(session, registry, headers)
        if reply.status == 200:
            return VerificationResult(
                True, "", f"The credentials log in to {registry.host}.", registry.host
            )
        if reply.status in (401, 403):
            raise _Stop(
                AUTH_ACCESS_DENIED,
                f"{registry.host} rejected the credentials (HTTP {reply.status}): "
                "check the username and password or token.",
            )
        raise _unexpected(registry, reply, "login")

    return _run(registry.host, options, credential, flow, deadline)


def check_image(
    image: str,
    config: dict | None,
    *,
    options: ClientOptions | None = None,
    deadline: float | None = None,
) -> VerificationResult:
    """Can ``image`` be pulled with the credentials ``config`` holds for it?

    The credential is the first (most specific) match of the kubelet keyring rules;
    without a config or a match the check is anonymous, as a pull would be. Success
    means a manifest HEAD with the full Accept list answers 200.
    """
    options = options or _default_options()
    try:
        reference = parse_image_reference(image)
    except InvalidImageReference:
        return VerificationResult(False, MALFORMED, "The image reference is not valid.", "")
    try:
        registry = _registry_for(reference.domain, options)
    except _Stop as stop:
        return VerificationResult(False, stop.code, stop.reason, reference.domain)

    path = reference.path
    if registry.host == DOCKER_HUB_REGISTRY and "/" not in path:
        path = f"library/{path}"
    ref = reference.digest or reference.tag or "latest"
    shown = f"{path}@{ref}" if reference.digest else f"{path}:{ref}"
    credential: Credential | None = None
    if config:
        try:
            matches = credentials_for_image(config, reference)
        except InvalidDockerConfig:
            return VerificationResult(
                False, MALFORMED, "The registry credentials document is not valid.", registry.host
            )
        credential = matches[0] if matches else None
    authenticated = _has_login(credential)
    denied = AUTH_ACCESS_DENIED if authenticated else ANON_ACCESS_DENIED
    not_found = AUTH_NOT_FOUND if authenticated else ANON_NOT_FOUND
    who = "with the stored credentials" if authenticated else "without credentials"
    scope = f"repository:{path}:pull"

    def flow(session: _Session) -> VerificationResult:
        reply = _ping(session, registry)
        headers: dict[str, str] = {}
        if reply.status == 401:
            headers = _authorization(session, _challenge_of(reply), credential, scope, registry)
        elif reply.status != 200:
            raise _unexpected(registry, reply, "ping")
        manifest = registry.base.join(f"/v2/{path}/manifests/{ref}")
        headers["Accept"] = MANIFEST_ACCEPT
        reply = session.request("HEAD", manifest, headers=headers)
        if reply.status == 405:
            # A few registries do not implement HEAD on manifests.
            reply = session.request("GET", manifest, headers=headers)
        if reply.status == 200:
            return VerificationResult(True, "", f"{shown} can be pulled {who}.", registry.host)
        if reply.status == 401 and _is_insufficient_scope(reply):
            raise _Stop(
                denied,
                f"Authenticated to {registry.host}, but not allowed to pull {path}."
                if authenticated
                else f"{registry.host} does not allow pulling {path} without credentials.",
            )
        if reply.status in (401, 403):
            raise _Stop(
                denied,
                f"{registry.host} does not allow pulling {path} {who} "
                f"(HTTP {reply.status}); the repository may also not exist.",
            )
        if reply.status == 404:
            raise _Stop(not_found, f"{shown} was not found on {registry.host}.")
        raise _unexpected(registry, reply, "manifest request")

    return _run(registry.host, options, credential, flow, deadline)
