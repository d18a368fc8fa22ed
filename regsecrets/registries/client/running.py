"""Running one check: a process-wide concurrency slot, a session, every failure
turned into a result code, and the credential's secrets scrubbed from the reason."""

from __future__ import annotations

import dataclasses
import ssl
import threading
import time
from collections.abc import Callable

import httpx

from regsecrets.registries.matching import Credential
from regsecrets.registries.netguard import AddressForbidden, NameNotResolved

from .results import (
    DNS,
    FORBIDDEN_ADDRESS,
    REGISTRY_ERROR,
    TIMEOUT,
    TLS,
    ClientOptions,
    Stop,
    VerificationResult,
)
from .session import Session

__all__ = ["Flow", "deadline_result", "run"]

Flow = Callable[[Session], VerificationResult]


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


def run(
    registry_host: str,
    options: ClientOptions,
    credential: Credential | None,
    flow: Flow,
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
    flow: Flow,
    deadline: float,
) -> VerificationResult:
    secrets = _secrets(credential)
    session = Session(options, deadline)
    try:
        result = flow(session)
    except Stop as stop:
        result = VerificationResult(
            False, stop.code, stop.reason, registry_host, stop.retry_after, stop.status
        )
    except AddressForbidden as exc:
        result = VerificationResult(
            False,
            FORBIDDEN_ADDRESS,
            f"{exc.host} resolves to {exc.address}, a loopback, private or otherwise "
            "non-public address; verification refuses it to protect the internal network.",
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


def _secrets(credential: Credential | None) -> list[str]:
    if credential is None:
        return []
    values = [credential.password, credential.identitytoken, credential.registrytoken]
    return [value for value in values if value and len(value) >= 3]


def _scrub(reason: str, secrets: list[str]) -> str:
    # Reasons are built from our own words, but a registry could echo a secret into
    # a host name or status line we quote; belt and braces.
    for secret in secrets:
        reason = reason.replace(secret, "***")
    return reason
