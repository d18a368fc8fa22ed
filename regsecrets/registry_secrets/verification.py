"""The web faces' use of the verification client: run the checks, audit them.

Decrypted documents live only inside these functions (in memory, for the length
of the check) and never reach a template or a response: what comes back is the
client's VerificationResult, whose reason is built from our own words and scrubbed
of credentials. Audit details carry codes and host names, never credentials.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from regsecrets.audit.services import audit_record
from regsecrets.registries import credential_for_key, display_host
from regsecrets.registries.client import (
    ClientOptions,
    VerificationResult,
    check_credentials,
    check_image,
    deadline_result,
)
from regsecrets.registry_secrets.client_options import client_options
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_config

__all__ = [
    "MAX_HOSTS_PER_TEST",
    "HostCheck",
    "audit_check",
    "check_config_hosts",
    "secret_host_checks",
    "secret_test_credentials",
    "secret_verify_image",
]

# A config.json may list many registries; all of them share one deadline
# (REGSECRETS_VERIFY_TIMEOUT), and this caps how many one click tests at all.
MAX_HOSTS_PER_TEST = 10

# One pool for the whole process, never shut down: a request submits its host checks
# and waits at most until its deadline, so a `with ThreadPoolExecutor` (whose exit
# waits for every task) cannot hold a worker past it. The cap on checks talking to
# registries at once is the client's (REGSECRETS_VERIFY_MAX_CONCURRENCY), enforced
# inside each check; this pool only needs enough threads to wait for those slots.
_POOL = ThreadPoolExecutor(max_workers=32, thread_name_prefix="regsecrets-verify")
# Checks end at the deadline by themselves (their sockets are clamped to it); this
# little extra lets them report their own TIMEOUT reason rather than ours.
_GRACE_SECONDS = 0.25


@dataclass(frozen=True)
class HostCheck:
    """The login check of one registry host (an auths key) of a document."""

    host: str
    result: VerificationResult

    @property
    def display(self) -> str:
        return display_host(self.host)

    def as_json(self) -> dict[str, Any]:
        return {
            "host": self.display,
            "success": self.result.success,
            "code": self.result.code,
            "reason": self.result.reason,
        }


@sensitive_variables("config")
def check_config_hosts(
    config: Mapping[str, Any],
    hosts: Iterable[str],
    *,
    options: ClientOptions | None = None,
    deadline: float | None = None,
) -> list[HostCheck]:
    """Log in to each host with the credential stored under it, like ``docker login``.

    One deadline, ``options.timeout`` from now unless the caller passes its own
    (``time.monotonic()``), bounds the whole call however many hosts there are: the
    hosts are checked concurrently, each check stops at that deadline, and a host
    whose check has not finished by then (it waited for a free slot, or hangs) gets a
    TIMEOUT result. Results come in the order of ``hosts``.
    """
    options = options or client_options()
    if deadline is None:
        deadline = options.deadline()
    wanted = list(dict.fromkeys(hosts))[:MAX_HOSTS_PER_TEST]

    def one(host: str) -> HostCheck:
        credential = credential_for_key(config, host)
        return HostCheck(
            host, check_credentials(host, credential, options=options, deadline=deadline)
        )

    if len(wanted) <= 1:
        return [one(host) for host in wanted]
    futures: list[Future[HostCheck]] = [_POOL.submit(one, host) for host in wanted]
    wait(futures, timeout=max(0.0, deadline - time.monotonic()) + _GRACE_SECONDS)
    checks = []
    for host, future in zip(wanted, futures, strict=True):
        if future.done() and not future.cancelled():
            checks.append(future.result())
        else:
            # Not started: it never will be. Started: it stops at the deadline on its
            # own; its late result is dropped.
            future.cancel()
            checks.append(HostCheck(host, deadline_result(display_host(host), options)))
    return checks


@sensitive_variables("config")
def secret_host_checks(
    secret: Secret, *, options: ClientOptions | None = None, deadline: float | None = None
) -> list[HostCheck]:
    """Decrypt ``secret`` in memory and log in to each of its registries (not audited).

    ``deadline`` lets a caller testing several secrets bound them all together.
    Raises DecryptionError when the document cannot be opened.
    """
    config = secret_config(secret)
    hosts = list(secret.hosts or []) or list(config.get("auths") or {})
    return check_config_hosts(config, hosts, options=options, deadline=deadline)


def _audit(
    secret: Secret, request: HttpRequest | None, actor: User | None, details: dict[str, Any]
) -> None:
    audit_record(
        action="secret.verified",
        organization=secret.organization,
        actor=actor,
        obj=secret,
        request=request,
        details=details,
    )


@sensitive_variables("config")
def secret_test_credentials(
    *, secret: Secret, actor: User | None = None, request: HttpRequest | None = None
) -> list[HostCheck]:
    """Test a stored secret's login to each of its registries, and audit each.

    Raises DecryptionError when the document cannot be opened (nothing is checked
    or audited then).
    """
    checks = secret_host_checks(secret)
    for check in checks:
        audit_check(secret, check, actor=actor, request=request)
    return checks


def audit_check(
    secret: Secret,
    check: HostCheck,
    *,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> None:
    """Record that ``secret``'s credentials were tested against one host."""
    _audit(
        secret,
        request,
        actor,
        {
            "check": "credentials",
            "host": check.host,
            "success": check.result.success,
            "code": check.result.code,
        },
    )


@sensitive_variables("config")
def secret_verify_image(
    *,
    image: str,
    secret: Secret | None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> VerificationResult:
    """Can ``image`` be pulled with ``secret`` (anonymously without one)?

    Audited when a secret is used, since that decrypts it. Raises DecryptionError
    when the secret's document cannot be opened.
    """
    config = secret_config(secret) if secret is not None else None
    result = check_image(image, config, options=client_options())
    if secret is not None:
        _audit(
            secret,
            request,
            actor,
            {
                "check": "image",
                "image": image,
                "host": result.registry,
                "success": result.success,
                "code": result.code,
            },
        )
    return result
