"""The guarded transport: httpx over an httpcore pool whose network backend is
:class:`~regsecrets.registries.netguard.GuardedBackend`, so every connection is to a
checked, public address and no socket operation outlives the check's deadline."""

from __future__ import annotations

import ssl
import typing
from collections.abc import Iterable, Iterator

import httpcore
import httpx

from regsecrets.registries.netguard import GuardedBackend

__all__ = ["GuardedTransport"]


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

    def __init__(self, backend: GuardedBackend, ssl_context: ssl.SSLContext) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, network_backend=backend, max_connections=4
        )

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
            response = self._pool.handle_request(core_request)
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
        self._pool.close()


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
