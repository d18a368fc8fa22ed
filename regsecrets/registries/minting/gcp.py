"""Google Cloud: a one-hour OAuth2 access token from a service-account key.

google-auth builds and signs the JWT assertion (RFC 7523) and reads the token
endpoint's answer; the HTTP exchange goes through ``_HttpxRequest``, our own
google-auth transport on httpx (already the project's HTTP client) rather than
the ``requests`` one, because it lets us bound each request in time and size,
follow no redirect, and stop google-auth's built-in retries on 5xx/429 (three
attempts with backoff), so that a click or a health check costs one request.

The key's ``token_uri`` decides where the signed assertion goes, so it must be
Google's; a key naming any other endpoint is refused before anything is signed,
except a loopback endpoint when the operator allows private registries (how the
tests run a local token endpoint).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from google.auth import exceptions as google_exceptions
from google.auth import transport as google_transport
from google.oauth2 import service_account

from .base import (
    MINT_DENIED,
    MINT_ERROR,
    MINT_FORBIDDEN_ENDPOINT,
    MINT_INVALID_KEY,
    MINT_TIMEOUT,
    MINT_UNREACHABLE,
    MintedToken,
    MintingError,
    scrub,
)

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "GCP_TOKEN_USERNAME",
    "GOOGLE_TOKEN_URIS",
    "check_token_uri",
    "mint_gcp_token",
]

GCP_TOKEN_USERNAME = "oauth2accesstoken"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# The endpoint in every key Google issues today, and the one older keys carry.
GOOGLE_TOKEN_URIS = frozenset(
    {"https://oauth2.googleapis.com/token", "https://accounts.google.com/o/oauth2/token"}
)
# Google's documented access-token lifetime, used only when an answer omits expires_in.
DEFAULT_LIFETIME = timedelta(hours=1)
MAX_RESPONSE_BYTES = 64 * 1024
_OAUTH_ERROR_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz_")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_token_uri(token_uri: object, *, allow_private: bool = False) -> str:
    """The key's token endpoint if we may send a signed assertion there; else MintingError."""
    if not isinstance(token_uri, str) or not token_uri:
        raise MintingError(MINT_INVALID_KEY, "The service-account key has no token_uri.")
    if token_uri in GOOGLE_TOKEN_URIS:
        return token_uri
    try:
        parts = urlsplit(token_uri)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        host, parts = "", None
    if (
        allow_private
        and parts is not None
        and parts.scheme in ("http", "https")
        and not parts.username
        and not parts.password
        and _is_loopback(host)
    ):
        return token_uri
    where = f" ({host})" if host else ""
    raise MintingError(
        MINT_FORBIDDEN_ENDPOINT,
        f"The service-account key's token_uri{where} is not Google's token endpoint "
        "(https://oauth2.googleapis.com/token); the key is not sent anywhere else.",
    )


def _parse_key(key: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(key, Mapping):
        info = dict(key)
    else:
        try:
            info = json.loads(key)
        except (ValueError, RecursionError):
            raise MintingError(MINT_INVALID_KEY, "The service-account key is not valid JSON.")
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise MintingError(
            MINT_INVALID_KEY,
            'The key file is not a service-account key ("type": "service_account").',
        )
    missing = [
        name
        for name in ("client_email", "private_key")
        if not (isinstance(info.get(name), str) and info[name])
    ]
    if missing:
        raise MintingError(MINT_INVALID_KEY, f"The service-account key lacks {', '.join(missing)}.")
    return info


class _Response(google_transport.Response):
    def __init__(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self._status = status
        self._headers = dict(headers)
        self._data = data

    @property
    def status(self) -> int:
        return self._status

    @property
    def headers(self) -> dict[str, str]:
        return self._headers

    @property
    def data(self) -> bytes:
        return self._data


class _HttpxRequest(google_transport.Request):
    """google-auth's transport interface on httpx: bounded, no redirects, no retries."""

    def __init__(self, client: httpx.Client, endpoint: str) -> None:
        self._client = client
        self._endpoint = endpoint

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        try:
            with self._client.stream(method, url, content=body, headers=headers) as response:
                data = b""
                for chunk in response.iter_bytes():
                    data += chunk
                    if len(data) > MAX_RESPONSE_BYTES:
                        raise MintingError(
                            MINT_ERROR, f"{self._endpoint} answered with an oversized response."
                        )
        except httpx.TimeoutException:
            raise MintingError(MINT_TIMEOUT, f"{self._endpoint} did not answer in time.") from None
        except httpx.TransportError:
            raise MintingError(
                MINT_UNREACHABLE, f"Could not connect to {self._endpoint}."
            ) from None
        status = response.status_code
        # google-auth would retry these three times with backoff; one attempt is ours.
        if status >= 500 or status in (408, 429):
            raise MintingError(
                MINT_ERROR, f"{self._endpoint} answered HTTP {status}; try again later."
            )
        return _Response(status, response.headers, data)


def _refused(exc: google_exceptions.RefreshError, endpoint: str) -> MintingError:
    data = exc.args[1] if len(exc.args) > 1 else None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str) and error and set(error) <= _OAUTH_ERROR_CHARS and len(error) <= 40:
        # The OAuth error code only: descriptions are the server's words, not ours.
        return MintingError(
            MINT_DENIED,
            f"{endpoint} refused the service-account key ({error}): the key may have been "
            "deleted or disabled, or its service account removed.",
        )
    return MintingError(MINT_ERROR, f"{endpoint} answered without an access token.")


def mint_gcp_token(
    key: str | bytes | Mapping[str, Any],
    *,
    allow_private: bool = False,
    timeout: float = 10.0,
    now: datetime | None = None,
) -> MintedToken:
    """An OAuth2 access token (scope cloud-platform) for ``oauth2accesstoken`` logins.

    ``key`` is the service-account key file (JSON text or its parsed object).
    """
    info = _parse_key(key)
    token_uri = check_token_uri(info.get("token_uri"), allow_private=allow_private)
    endpoint = urlsplit(token_uri).netloc
    secrets = [str(info.get("private_key", ""))]
    try:
        credentials = service_account.Credentials.from_service_account_info(
            info, scopes=[CLOUD_PLATFORM_SCOPE]
        )
    except (ValueError, TypeError, IndexError):
        # cryptography's messages describe the PEM, never quote it; ours says less still.
        raise MintingError(
            MINT_INVALID_KEY, "The service-account key's private_key cannot be loaded."
        ) from None
    issued_at = now or datetime.now(UTC)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            credentials.refresh(_HttpxRequest(client, endpoint))
    except MintingError as exc:
        raise MintingError(exc.code, scrub(exc.reason, secrets)) from None
    except google_exceptions.RefreshError as exc:
        raise _refused(exc, endpoint) from None
    except (google_exceptions.GoogleAuthError, ValueError) as exc:
        raise MintingError(
            MINT_ERROR, f"Minting with the service-account key failed: {type(exc).__name__}."
        ) from None
    token = credentials.token
    if not isinstance(token, str) or not token:
        raise MintingError(MINT_ERROR, f"{endpoint} answered without an access token.")
    lifetime = DEFAULT_LIFETIME
    if credentials.expiry is not None:
        # google-auth states expiry as naive UTC from its own clock; keep the lifetime.
        # expires_in is whole seconds: rounding recovers it from google-auth's clock.
        stated = credentials.expiry.replace(tzinfo=UTC) - datetime.now(UTC)
        lifetime = timedelta(seconds=round(min(max(stated.total_seconds(), 0), 12 * 3600)))
    return MintedToken(
        username=GCP_TOKEN_USERNAME,
        password=token,
        expires_at=issued_at + lifetime,
        issued_at=issued_at,
    )
