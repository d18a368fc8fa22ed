"""Short-lived pull tokens for stored secrets: minted once, cached sealed, audited.

A secret whose provider mints tokens (Amazon ECR, Google Cloud) keeps its
long-lived credential sealed in its document like every other; the consumers that
log in with it (checks, health, exports) never read the document's login: they ask
``secret_login_config(secret=...)``, the one place a stored secret becomes the
Docker config to log in with (the stored one, or ``secret_token``'s short-lived
login for these providers). ``input_login_config`` does the same for typed input.

The cache
    Django's cache (Redis when REDIS_URL is set, so every worker shares it). The
    value is an AES-GCM token from the crypto layer, bound by its associated data
    to the secret's id and credential fingerprint, never the clear token. The key
    holds that fingerprint (a hash of the stored ciphertext), so editing the
    secret, which re-seals its document, leaves the old token unreachable.

At most one mint per lifetime
    A token is served until ``refresh_margin`` before it expires. On a miss, the
    worker that wins ``cache.add`` on a lock key mints; the others wait for its
    result (polling the cache) instead of minting too. A failure is kept for a few
    seconds the same way, so a denied key is not asked again by every waiter.
    Without a shared cache (no REDIS_URL) the guarantee holds per process.

Each process also keeps the sealed values it read last (``_LocalCopies``, bounded),
so a hit usually costs an unseal and no round trip to Redis.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import BaseCache, caches
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from regsecrets.audit.services import audit_record
from regsecrets.core import metrics
from regsecrets.crypto.aead import seal, unseal
from regsecrets.crypto.errors import DecryptionError
from regsecrets.registries import ProviderResult, build_docker_config
from regsecrets.registries.minting import (
    MINT_INVALID_KEY,
    MINT_TIMEOUT,
    MintedToken,
    MintingError,
    mint_ecr_token,
    mint_gcp_token,
)
from regsecrets.registry_secrets.client_options import client_options
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_config, secret_fields

__all__ = [
    "AWS_ECR_PROVIDER",
    "FAILURE_SECONDS",
    "GCP_PROVIDER",
    "LoginConfig",
    "LongLivedUnavailable",
    "MintOptions",
    "cached_token",
    "credential_fingerprint",
    "input_login_config",
    "mint_from_fields",
    "minted_config",
    "refresh_margin",
    "secret_login_config",
    "secret_mints_tokens",
    "secret_token",
]

logger = logging.getLogger("regsecrets.minting")

# Provider keys (Secret.provider) whose stored credential mints tokens.
AWS_ECR_PROVIDER = "aws_ecr_registry"
GCP_PROVIDER = "gcp_container_registry"

_PREFIX = "regsecrets:mint:v1"
MARGIN_FLOOR = timedelta(minutes=5)
MARGIN_SHARE = 0.1
# A failure is shared with the workers that waited for it, then forgotten: long
# enough to stop a stampede on a denied key, short enough not to hide a fix.
FAILURE_SECONDS = 10
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class MintOptions:
    timeout: float = 10.0
    allow_private: bool = False

    @classmethod
    def from_settings(cls) -> MintOptions:
        # The verification client's reading of the same settings ("false" is false).
        client = client_options()
        return cls(timeout=client.timeout, allow_private=client.allow_private)

    @property
    def lock_seconds(self) -> int:
        # Longer than the slowest mint: two requests (STS, then ECR), each bounded
        # by a connect and a read timeout.
        return int(4 * self.timeout) + 5


@sensitive_variables("fields")
def _mint_ecr(fields: Mapping[str, Any], options: MintOptions) -> MintedToken:
    return mint_ecr_token(
        access_key_id=str(fields.get("access_key_id") or ""),
        secret_access_key=str(fields.get("secret_access_key") or ""),
        region=str(fields.get("region") or ""),
        registry_id=str(fields.get("registry_id") or ""),
        role_arn=str(fields.get("role_arn") or ""),
        timeout=options.timeout,
    )


@sensitive_variables("fields", "stored", "text")
def _mint_gcp(fields: Mapping[str, Any], options: MintOptions) -> MintedToken:
    # The provider stores the key file base64-encoded (Koyeb's keyfile_content form).
    stored = str(fields.get("keyfile_content") or "").strip()
    try:
        text = stored if stored.startswith("{") else base64.b64decode(stored).decode("utf-8")
    except (binascii.Error, ValueError):
        raise MintingError(MINT_INVALID_KEY, "The stored key file cannot be read.") from None
    return mint_gcp_token(text, allow_private=options.allow_private, timeout=options.timeout)


_MINTERS: dict[str, Callable[[Mapping[str, Any], MintOptions], MintedToken]] = {
    AWS_ECR_PROVIDER: _mint_ecr,
    GCP_PROVIDER: _mint_gcp,
}


def mint_from_fields(
    *, provider: str, fields: Mapping[str, Any], options: MintOptions | None = None
) -> MintedToken:
    """Mint from provider input that is not saved yet ("Test credentials" on a create or
    edit form): no cache and no audit, like the checks of unsaved input."""
    minter = _MINTERS.get(provider)
    if minter is None:
        raise ValueError(f"{provider} secrets hold their login; they mint no token")
    return minter(fields, options or MintOptions.from_settings())


def secret_mints_tokens(secret: Secret) -> bool:
    """Whether consumers should log in with ``secret_token`` rather than the document."""
    return secret.provider in _MINTERS


def credential_fingerprint(secret: Secret) -> str:
    """Names the stored credential version without revealing it.

    Every save re-seals the document with a fresh random nonce, so an edit (and a
    key rotation, harmlessly) changes it. Only the token's head (version, KID and
    nonce) and tail (the GCM tag, which authenticates the whole ciphertext) are
    hashed: they identify the sealed version as well as the whole token would, at
    a fixed cost however large the key file (this runs on every cache hit).
    """
    token = str(secret.document)
    head = token[: token.find(":", 3) + 1 + 16]  # "v1:KID:" and the 12-byte nonce
    return hashlib.sha256(f"{head}|{token[-24:]}".encode("ascii", "replace")).hexdigest()[:32]


def refresh_margin(lifetime: timedelta) -> timedelta:
    """How long before expiry a token stops being served: 5 minutes or 10%, whichever is
    longer, but never more than half the lifetime (a short token is still reused)."""
    return min(max(MARGIN_FLOOR, lifetime * MARGIN_SHARE), lifetime / 2)


def _aad(secret_id: str, fingerprint: str) -> bytes:
    return f"regsecrets.minted-token\x1f{secret_id}\x1f{fingerprint}".encode()


class _LocalCopies:
    """This process's copies of recently read cache entries, still sealed; bounded.

    A cache hit on Redis costs a network round trip, several times what the rest of
    an export costs; a token does not change until ``until``, so the copy read
    last is as good as a fresh read until then. Failures are never copied (they
    are meant to be short-lived), and the key carries the credential fingerprint,
    so an edit misses here as it misses in the cache.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._entries: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, now: datetime) -> str | None:
        entry = self._entries.get(key)
        return entry[0] if entry is not None and now < entry[1] else None

    def put(self, key: str, sealed: str, until: datetime) -> None:
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.size:
                # Dicts keep insertion order: the oldest copy goes first.
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (sealed, until)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_local = _LocalCopies()


def _seal_and_store(
    cache: BaseCache, key: str, aad: bytes, payload: dict[str, Any], until: datetime, now: datetime
) -> str | None:
    seconds = (until - now).total_seconds()
    if seconds < 1:
        return None
    sealed = seal(json.dumps(payload).encode(), aad=aad)
    cache.set(key, sealed, timeout=int(seconds))
    return sealed


def _open(
    sealed: object, aad: bytes, now: datetime
) -> tuple[MintedToken | MintingError, datetime] | None:
    """A usable token or a recent failure, and until when; None if stale or unreadable."""
    if not isinstance(sealed, str):
        return None
    try:
        payload = json.loads(unseal(sealed, aad=aad))
        until = datetime.fromisoformat(payload["until"])
        if now >= until:
            return None
        if payload["kind"] == "failure":
            return MintingError(payload["code"], payload["reason"]), until
        token = MintedToken(
            username=payload["username"],
            password=payload["password"],
            expires_at=datetime.fromisoformat(payload["expires_at"]),
            issued_at=datetime.fromisoformat(payload["issued_at"]),
            host=payload["host"],
        )
        return token, until
    except (DecryptionError, ValueError, KeyError, TypeError):
        # Sealed under a key since removed from the ring, or from another version:
        # a miss, minted again, never an error for the user.
        return None


def _read(
    cache: BaseCache, key: str, aad: bytes, now: datetime
) -> MintedToken | MintingError | None:
    """A usable cached token, a recent failure, or None (a miss, stale or unreadable)."""
    local = _local.get(key, now)
    if local is not None:
        opened = _open(local, aad, now)
        if opened is not None:
            return opened[0]
    sealed = cache.get(key)
    opened = _open(sealed, aad, now)
    if opened is None:
        return None
    found, until = opened
    if isinstance(found, MintedToken):
        _local.put(key, str(sealed), until)
    return found


def _answer(found: MintedToken | MintingError) -> MintedToken:
    if isinstance(found, MintingError):
        raise MintingError(found.code, found.reason)
    return found


@sensitive_variables("token")
def cached_token(
    *,
    secret_id: str,
    fingerprint: str,
    mint: Callable[[], MintedToken],
    options: MintOptions | None = None,
    now: datetime | None = None,
    on_mint: Callable[[MintedToken], None] | None = None,
    on_failure: Callable[[MintingError], None] | None = None,
    cache: BaseCache | None = None,
) -> MintedToken:
    """The cached token for this credential version, or ``mint()``'s, minted once.

    ``on_mint`` / ``on_failure`` run only in the worker that minted (for the audit).
    ``now`` is the clock (tests freeze it); the cache's own expiry follows it too.
    """
    cache = cache or caches["default"]
    now = now or timezone.now()
    key = f"{_PREFIX}:{secret_id}:{fingerprint}"
    aad = _aad(secret_id, fingerprint)
    found = _read(cache, key, aad, now)
    if found is not None:  # the common case, kept free of settings parsing
        return _answer(found)
    options = options or MintOptions.from_settings()
    lock = f"{key}:lock"
    deadline = time.monotonic() + options.lock_seconds + 5
    while True:
        found = _read(cache, key, aad, now)
        if found is not None:
            return _answer(found)
        owner = secrets.token_hex(8)
        if cache.add(lock, owner, timeout=options.lock_seconds):
            try:
                # Another worker may have stored a token between our read and our lock.
                found = _read(cache, key, aad, now)
                if found is not None:
                    return _answer(found)
                return _mint_and_store(cache, key, aad, mint, now, on_mint, on_failure)
            finally:
                if cache.get(lock) == owner:
                    cache.delete(lock)
        if time.monotonic() > deadline:
            raise MintingError(
                MINT_TIMEOUT, "Another worker is minting this secret's token and has not finished."
            )
        time.sleep(_POLL_SECONDS)


@sensitive_variables("token")
def _mint_and_store(
    cache: BaseCache,
    key: str,
    aad: bytes,
    mint: Callable[[], MintedToken],
    now: datetime,
    on_mint: Callable[[MintedToken], None] | None,
    on_failure: Callable[[MintingError], None] | None,
) -> MintedToken:
    try:
        token = mint()
    except MintingError as exc:
        until = now + timedelta(seconds=FAILURE_SECONDS)
        payload = {"kind": "failure", "code": exc.code, "reason": exc.reason}
        _seal_and_store(cache, key, aad, {**payload, "until": until.isoformat()}, until, now)
        if on_failure is not None:
            on_failure(exc)
        raise
    # Lifetimes are measured on this function's clock (``now``), so a frozen clock
    # in tests and the engines' own clock cannot disagree about when to refresh.
    shift = now - token.issued_at
    expires_at = token.expires_at + shift
    refresh_at = expires_at - refresh_margin(token.lifetime)
    payload = {
        "kind": "token",
        "username": token.username,
        "password": token.password,
        "expires_at": expires_at.isoformat(),
        "issued_at": now.isoformat(),
        "host": token.host,
        "until": refresh_at.isoformat(),
    }
    sealed = _seal_and_store(cache, key, aad, payload, refresh_at, now)
    if sealed is not None:
        _local.put(key, sealed, refresh_at)
    token = MintedToken(token.username, token.password, expires_at, now, token.host)
    if on_mint is not None:
        on_mint(token)
    return token


@sensitive_variables("fields")
def secret_token(
    *,
    secret: Secret,
    actor: User | None = None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
    options: MintOptions | None = None,
) -> MintedToken:
    """A login for ``secret``'s registries valid for at least ``refresh_margin``.

    Served from the cache when it can be; otherwise minted from the decrypted
    credential (in memory only) and audited as ``secret.token_minted``, success or
    not, with hosts, expiry or code, never the token. Raises MintingError (a code
    and a reason a person can read) and DecryptionError (the document cannot be
    opened), like the verification functions.
    """
    minter = _MINTERS.get(secret.provider)
    if minter is None:
        raise ValueError(f"{secret.provider} secrets hold their login; they mint no token")

    def mint() -> MintedToken:
        fields = secret_fields(secret)
        return minter(fields, options or MintOptions.from_settings())

    def audit(details: dict[str, Any]) -> None:
        audit_record(
            action="secret.token_minted",
            organization=secret.organization,
            actor=actor,
            obj=secret,
            request=request,
            details={"provider": secret.provider, "hosts": list(secret.hosts or []), **details},
        )

    def minted(token: MintedToken) -> None:
        logger.info(
            "minted a registry token for secret %s, valid until %s", secret.pk, token.expires_at
        )
        audit({"success": True, "expires_at": token.expires_at.isoformat()})
        metrics.record_token_mint(provider=secret.provider)

    def failed(error: MintingError) -> None:
        logger.warning("minting a registry token for secret %s failed: %s", secret.pk, error.code)
        audit({"success": False, "code": error.code})
        metrics.record_token_mint(provider=secret.provider, code=error.code)

    return cached_token(
        secret_id=str(secret.pk),
        fingerprint=credential_fingerprint(secret),
        mint=mint,
        options=options,
        now=now,
        on_mint=minted,
        on_failure=failed,
    )


# --------------------------------------------------------- the login consumers use


class LongLivedUnavailable(ValueError):
    """A long-lived login was asked of a secret that has none (Amazon ECR)."""


# Minting providers whose stored document also holds a long-lived docker login, for
# platforms that cannot refresh a token (Google's ``_json_key``). ECR has none: its
# docker passwords are the 12-hour tokens themselves.
_LONG_LIVED_LOGIN = frozenset({GCP_PROVIDER})


@dataclass(frozen=True)
class LoginConfig:
    """The Docker config document to log in with; ``expires_at`` is None when the
    login is the stored one, which lasts as long as the credential does."""

    config: dict[str, Any] = field(repr=False)
    expires_at: datetime | None = None

    @property
    def minted(self) -> bool:
        return self.expires_at is not None


def minted_config(token: MintedToken, hosts: Iterable[str]) -> dict[str, Any]:
    """A Docker config logging in to each of ``hosts`` with ``token``."""
    return build_docker_config([(host, token.username, token.password) for host in hosts])


@sensitive_variables("token")
def secret_login_config(
    *,
    secret: Secret,
    actor: User | None = None,
    request: HttpRequest | None = None,
    long_lived: bool = False,
    now: datetime | None = None,
) -> LoginConfig:
    """The one place a stored secret becomes the Docker config to log in with.

    A secret holding its login (Docker Hub, GitHub, ...) gives its stored document.
    An ECR or GCP secret gives a fresh minted token for its hosts (``secret_token``:
    cached, audited), or, with ``long_lived``, a GCP secret its stored ``_json_key``
    document. Raises DecryptionError, MintingError (a code and a reason to show),
    or LongLivedUnavailable (ECR with ``long_lived``).
    """
    if secret.provider not in _MINTERS:
        return LoginConfig(secret_config(secret))
    if long_lived:
        if secret.provider not in _LONG_LIVED_LOGIN:
            raise LongLivedUnavailable(
                "Amazon ECR has no long-lived docker login: its passwords are tokens "
                "that expire after 12 hours, so only a fresh token can be exported."
            )
        return LoginConfig(secret_config(secret))
    token = secret_token(secret=secret, actor=actor, request=request, now=now)
    hosts = list(secret.hosts or []) or ([token.host] if token.host else [])
    return LoginConfig(minted_config(token, hosts), token.expires_at)


@sensitive_variables("result", "token")
def input_login_config(
    *, provider: str, result: ProviderResult, options: MintOptions | None = None
) -> dict[str, Any]:
    """The same for provider input not saved yet ("Test credentials" on a create or
    edit form): minted from the typed key (no cache, no audit), or the input's own
    document. Raises MintingError."""
    if provider not in _MINTERS:
        return result.config
    token = mint_from_fields(provider=provider, fields=result.fields, options=options)
    return minted_config(token, result.hosts)
