"""The guarded transport: httpx over httpcore pools whose network backend is
:class:`~regsecrets.registries.netguard.GuardedBackend`, so every connection is to a
checked, public address and no socket operation outlives the check's deadline.

Checks share one transport per process (and per ``allow_private``): building a TLS
context (loading the CA bundle) cost more than a whole check against a nearby
registry, and a kept-alive connection saves the TCP and TLS handshakes of the next
check to the same registry. What makes sharing safe:

* the guard judged and pinned the address when the connection was opened, under the
  same ``allow_private`` (a transport never serves the other value);
* every socket operation, on a new or a reused connection, is clamped to the deadline
  of the check sending it (``netguard.deadline_scope``);
* connections carry no credential state: each check sends its own Authorization
  header, and cookies live in the per-check ``httpx.Client``, never shared;
* a response not read to its end (timeout, size cap, error) closes its connection
  (httpcore), so a later check never reads a previous check's leftovers;
* idle connections expire after a few seconds and are never kept across a fork.
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
import typing
from collections.abc import Iterable, Iterator

import certifi
import httpcore
import httpx

from regsecrets.registries.netguard import GuardedBackend

__all__ = ["GuardedTransport", "shared_transport", "tls_context"]

# Idle connections kept per pool, and for how long. Short enough that a server's own
# idle timeout (nginx 75 s, load balancers 60 s) is unlikely to close one under us,
# long enough to serve the next checks of a batch against the same registry.
_KEEPALIVE_CONNECTIONS = 16
_KEEPALIVE_SECONDS = 10.0


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The one TLS client context of this process (certifi's CA bundle), built on
    first use: a process that only talks plain HTTP never builds it."""
    return ssl.create_default_context(cafile=certifi.where())


class GuardedTransport(httpx.BaseTransport):
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

    def __init__(self, backend: GuardedBackend) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self._plain: httpcore.ConnectionPool | None = None
        self._tls: httpcore.ConnectionPool | None = None

    def _pool_for(self, scheme: bytes) -> httpcore.ConnectionPool:
        # Two pools, so the TLS context is only asked for (and built) when an https
        # URL is requested. No connection cap here: the process-wide check slots
        # (running.py) bound the connections in use.
        tls = scheme == b"https"
        with self._lock:
            pool = self._tls if tls else self._plain
            if pool is None:
                pool = httpcore.ConnectionPool(
                    ssl_context=tls_context() if tls else None,
                    network_backend=self._backend,
                    max_connections=None,
                    max_keepalive_connections=_KEEPALIVE_CONNECTIONS,
                    keepalive_expiry=_KEEPALIVE_SECONDS,
                )
                if tls:
                    self._tls = pool
                else:
                    self._plain = pool
            return pool

    @classmethod
    def map_error(cls, exc: Exception) -> Exception:
        """The httpx exception for an httpcore one, so callers catch httpx's only."""
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
            content=typing.cast(Iterable[bytes], request.stream),
            extensions=request.extensions,
        )
        try:
            response = self._pool_for(request.url.raw_scheme).handle_request(core_request)
        except httpcore.TimeoutException as exc:
            raise self.map_error(exc) from exc
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise self.map_error(exc) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_MappedStream(typing.cast(Iterable[bytes], response.stream)),
            extensions=response.extensions,
        )

    def close(self) -> None:
        with self._lock:
            pools = [pool for pool in (self._plain, self._tls) if pool is not None]
            self._plain = self._tls = None
        for pool in pools:
            pool.close()


class _Borrowed(httpx.BaseTransport):
    """A shared transport lent to one ``httpx.Client``: closing the client does not
    close the process's connections."""

    def __init__(self, shared: GuardedTransport) -> None:
        self._shared = shared

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._shared.handle_request(request)

    def close(self) -> None:
        pass


_SHARED: dict[tuple[int, bool], GuardedTransport] = {}
_SHARED_LOCK = threading.Lock()


def shared_transport(*, allow_private: bool) -> httpx.BaseTransport:
    """This process's transport for checks under ``allow_private``, to hand to a
    per-check ``httpx.Client`` (whose close leaves it open).

    Keyed by process id too: a child forked after a check (gunicorn's preload, Celery's
    prefork) must not share its parent's sockets.
    """
    key = (os.getpid(), allow_private)
    with _SHARED_LOCK:
        transport = _SHARED.get(key)
        if transport is None:
            transport = GuardedTransport(
                GuardedBackend(deadline=None, allow_private=allow_private)
            )
            _SHARED[key] = transport
    return _Borrowed(transport)


class _MappedStream(httpx.SyncByteStream):
    """A response body whose httpcore errors surface as httpx errors while it is read."""

    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._inner
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise GuardedTransport.map_error(exc) from exc

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()
