"""Outbound connection guard for registry verification.

Verification makes the server connect to a host the *user* typed. Without a guard that
is a server-side request forgery primitive: a "registry" at 169.254.169.254 or
10.0.0.5 would let anyone probe the platform's internal network. So every TCP
connection the verification client opens goes through :class:`GuardedBackend`, which

* resolves the name itself (bounded in time, since ``getaddrinfo`` has no timeout),
* refuses the connection if *any* resolved address is not public, unless the operator
  allowed private registries, and
* connects to the very address it checked, so a DNS answer that changes between check
  and connect (DNS rebinding) cannot redirect the connection;
* clamps every socket operation to one deadline shared by the whole check, so the
  total time is bounded even against a server that drips one byte per second.

A backend built without a deadline reads it from :func:`deadline_scope`, at each
operation: the verification client keeps one connection pool per process, and a
kept-alive connection made by one check then obeys the deadline of the check that
reuses it. Reusing a connection is safe for the guard: the address it is pinned to
was checked when it was opened, under the same ``allow_private`` (one pool each).

It plugs into httpcore (httpx's engine) as a network backend, which keeps TLS, SNI,
certificate checks and the Host header working on the original host name.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import ipaddress
import socket
import ssl
import time
import typing
from collections.abc import Callable, Iterator

import httpcore

__all__ = [
    "AddressForbidden",
    "GuardedBackend",
    "NameNotResolved",
    "deadline_scope",
    "is_forbidden_address",
]

# getaddrinfo cannot be interrupted; run it on a small pool so the caller can stop
# waiting at the deadline. A hung lookup only occupies a worker until the resolver
# itself gives up.
_RESOLVER = concurrent.futures.ThreadPoolExecutor(
    max_workers=4, thread_name_prefix="regsecrets-dns"
)


class AddressForbidden(Exception):
    """The host resolves to an address verification must not connect to."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to the non-public address {address}")
        self.host = host
        self.address = address


class NameNotResolved(Exception):
    """The host name has no usable address."""

    def __init__(self, host: str) -> None:
        super().__init__(f"could not resolve {host}")
        self.host = host


# NAT64 (RFC 6052): the well-known prefix carries the IPv4 address in its last 32 bits.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
# RFC 8215 local-use NAT64 prefix: where the IPv4 address sits depends on the prefix
# length the operator chose (/48 to /96), so it cannot be judged; it is refused.
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
# IPv4-compatible addresses (::a.b.c.d, deprecated by RFC 4291); :: and ::1 are not.
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _forbidden_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def _forbidden_ipv6(ip: ipaddress.IPv6Address) -> bool:
    """Judge an IPv6 address, and every IPv4 address it carries, by where packets go.

    The transition forms put an IPv4 destination inside the IPv6 address; a router or
    the kernel delivers to that IPv4 host, so ``2002:7f00:1::1`` (6to4 of 127.0.0.1)
    or ``64:ff9b::a00:1`` (NAT64 of 10.0.0.1) must be refused like the IPv4 address.
    The standard library decodes the forms it knows (``ipv4_mapped``, ``sixtofour``,
    ``teredo``); NAT64 and IPv4-compatible are decoded here.
    """
    if ip in _NAT64_LOCAL_USE:
        return True
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        # Deprecated since 2006 and never a valid destination on the wire: no registry
        # has such an address, whatever IPv4 address it embeds.
        return True
    # Forms that are only a wrapper around the IPv4 destination: its verdict is theirs
    # (a public one stays usable, e.g. NAT64 on an IPv6-only host with DNS64).
    carried = ip.ipv4_mapped or ip.sixtofour
    if carried is None and ip in _NAT64_WELL_KNOWN:
        carried = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if carried is not None:
        return _forbidden_ip(carried)
    if ip.teredo is not None:
        # Teredo: the server (bits 32-64) and the client (last 32 bits, inverted; the
        # library undoes the inversion) are both contacted, so both are judged. The
        # prefix itself (2001::/32) is not global either, so Teredo ends up refused
        # whatever it carries; judging the embedded addresses keeps that true even
        # if a later standard library changes its table.
        server, client = ip.teredo
        if _forbidden_ip(server) or _forbidden_ip(client):
            return True
    return _forbidden_ip(ip)


def is_forbidden_address(address: str) -> bool:
    """True for loopback, private, link-local, CGNAT, multicast, reserved... addresses.

    ``is_global`` is the allow-list that matters: it is False for every special-purpose
    block in the IANA registries (RFC 1918, 100.64/10, 169.254/16, fc00::/7, ...).
    IPv6 addresses that embed an IPv4 address (IPv4-mapped, 6to4, NAT64, Teredo,
    IPv4-compatible) are judged by the IPv4 address they carry, since that is where
    the packets go.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        return _forbidden_ipv6(ip)
    return _forbidden_ip(ip)


# The deadline of the check running in this thread (or task), for backends and
# streams shared between checks. Unset means no check is running: nothing may be sent.
_SCOPED_DEADLINE: contextvars.ContextVar[float] = contextvars.ContextVar(
    "regsecrets_netguard_deadline"
)


@contextlib.contextmanager
def deadline_scope(deadline: float) -> Iterator[None]:
    """Within this block, shared backends and streams obey ``deadline``
    (a ``time.monotonic()`` instant)."""
    token = _SCOPED_DEADLINE.set(deadline)
    try:
        yield
    finally:
        _SCOPED_DEADLINE.reset(token)


def _scoped_deadline() -> float:
    # Outside any scope the deadline has passed: a shared connection used by
    # mistake outside a check fails at once instead of waiting without a bound.
    return _SCOPED_DEADLINE.get(0.0)


def _remaining(deadline: float) -> float:
    return deadline - time.monotonic()


def _clamp(timeout: float | None, deadline: float, exc: type[Exception]) -> float:
    remaining = _remaining(deadline)
    if remaining <= 0:
        raise exc("verification deadline reached")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """Delegates to the real stream with every timeout clamped to the deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: Callable[[], float]) -> None:
        self._inner = inner
        self._deadline_of = deadline

    @property
    def _deadline(self) -> float:
        return self._deadline_of()

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, self._deadline, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, self._deadline, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, self._deadline, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, timeout), self._deadline_of
        )

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore network backend that checks, pins and time-bounds every connection.

    With ``deadline=None`` the deadline is the one of the :func:`deadline_scope` in
    force when each operation runs (a backend shared by many checks).
    """

    def __init__(self, *, deadline: float | None, allow_private: bool) -> None:
        fixed = deadline
        self._deadline_of: Callable[[], float] = (
            _scoped_deadline if fixed is None else (lambda: fixed)
        )
        self._allow_private = allow_private
        self._sync = httpcore.SyncBackend()

    @property
    def _deadline(self) -> float:
        return self._deadline_of()

    def resolve(self, host: str, port: int) -> list[tuple[int, str]]:
        """Resolve ``host`` within the deadline; return (family, address) pairs."""
        timeout = _clamp(None, self._deadline, httpcore.ConnectTimeout)
        future = _RESOLVER.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long")
        except (socket.gaierror, UnicodeError):
            raise NameNotResolved(host)
        addresses: list[tuple[int, str]] = []
        for family, _type, _proto, _name, sockaddr in infos:
            if family in (socket.AF_INET, socket.AF_INET6):
                pair = (family, str(sockaddr[0]))
                if pair not in addresses:
                    addresses.append(pair)
        if not addresses:
            raise NameNotResolved(host)
        if not self._allow_private:
            # Refuse when any answer is non-public: a name that mixes public and
            # private answers is either misconfigured or an attack.
            for _family, address in addresses:
                if is_forbidden_address(address):
                    raise AddressForbidden(host, address)
        return addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        last_error: Exception | None = None
        for _family, address in self.resolve(host, port):
            try:
                stream = self._sync.connect_tcp(
                    address,
                    port,
                    timeout=_clamp(timeout, self._deadline, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                last_error = exc
                continue
            return _DeadlineStream(stream, self._deadline_of)
        assert last_error is not None
        raise last_error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for verification")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, max(0.0, _remaining(self._deadline))))
