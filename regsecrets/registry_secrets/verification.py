"""Verification use cases: one function per question, shared by every face.

The questions: do a stored secret's credentials log in (``verify_stored_secret``,
and ``verify_stored_secrets`` for several under one deadline)? Do typed credentials
log in, before saving (``verify_new_input``) or merged over a stored secret's
(``verify_edit_input``)? Can this image be pulled, with this secret or anonymously
(``verify_image``)? Each does the whole sequence (validate the input, scope, spend
the caller's rate budget when asked, decrypt in memory, check, audit) and raises the
typed errors of ``registry_secrets.errors``; the faces (secret pages, service form,
admin action, /v1/docker-helper/verify, scheduled health checks) only translate.

A caller without a request (a health check, a command) passes ``actor=None`` and
``rate_limit=False``; the budget is per person, for requests a person makes.

Decrypted documents live only inside these functions, for the length of the check,
and never reach a template or a response: what comes back is the client's
VerificationResult, whose reason is built from our own words and scrubbed of
credentials. Every check of a stored secret writes one ``secret.verified`` event
per host, ``{check: credentials|image, host, success, code[, image]}``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import Http404, HttpRequest
from django.views.decorators.debug import sensitive_variables

from regsecrets.accounts.models import Organization
from regsecrets.accounts.scoping import get_scoped_or_404
from regsecrets.audit.services import audit_record
from regsecrets.core import metrics
from regsecrets.core.ratelimit import verify_rate_limited
from regsecrets.crypto import DecryptionError
from regsecrets.registries import (
    InvalidImageReference,
    credential_for_key,
    display_host,
    get_provider,
    hosts_for_image,
    parse_image_reference,
)
from regsecrets.registries.client import (
    ClientOptions,
    VerificationResult,
    check_credentials,
    check_image,
    deadline_result,
)
from regsecrets.registries.minting import MintingError
from regsecrets.registries.outcomes import outcome_for
from regsecrets.registries.reference import MAX_IMAGE_LENGTH
from regsecrets.registry_secrets import minting, services
from regsecrets.registry_secrets.client_options import client_options
from regsecrets.registry_secrets.errors import (
    InvalidInput,
    NotFound,
    RateLimited,
    Undecryptable,
    VerifierBusy,
)
from regsecrets.registry_secrets.models import Secret

__all__ = [
    "MAX_HOSTS_PER_TEST",
    "MAX_SECRETS_PER_BATCH",
    "HostCheck",
    "SecretVerification",
    "check_config_hosts",
    "check_stored_secret",
    "minting_failed",
    "verify_edit_input",
    "verify_image",
    "verify_new_input",
    "verify_stored_secret",
    "verify_stored_secrets",
]

# A config.json may list many registries; all of them share one deadline
# (REGSECRETS_VERIFY_TIMEOUT), and this caps how many one click tests at all.
MAX_HOSTS_PER_TEST = 10
# Several secrets checked together share one deadline too; this keeps what it covers short.
MAX_SECRETS_PER_BATCH = 10

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

    @property
    def next_step(self) -> str:
        """What the user can do about a failure ("" on success)."""
        return "" if self.result.success else outcome_for(self.result.code).next_step

    @property
    def summary(self) -> str:
        """One line for people: the sentence, then what to do, the code last."""
        if self.result.success:
            return f"{self.display}: {self.result.reason}"
        return (
            f"{self.display} failed: {self.result.reason} {self.next_step} "
            f"(code {self.result.code})"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "host": self.display,
            "success": self.result.success,
            "code": self.result.code,
            "reason": self.result.reason,
            "next_step": self.next_step,
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
        return _counted([one(host) for host in wanted])
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
    return _counted(checks)


def _counted(checks: list[HostCheck]) -> list[HostCheck]:
    """Count each login check's outcome in the metrics (every face and health pass here,
    a failed mint included: its MINT_* code is the hosts' result)."""
    for host_check in checks:
        metrics.record_verification(
            check="credentials", success=host_check.result.success, code=host_check.result.code
        )
    return checks


@dataclass(frozen=True)
class SecretVerification:
    """One secret's outcome in a batch: its host checks, or why it was not checked."""

    secret: Secret
    checks: list[HostCheck]
    error: Undecryptable | None = None


def _spend_budget(actor: User | None, rate_limit: bool) -> None:
    """Count one request against ``actor``'s budget when the caller asks for it."""
    if rate_limit and verify_rate_limited(actor):
        raise RateLimited()


class _RequestSlots:
    """Verification requests this process serves at once, capped without waiting.

    A request waits on registries (up to REGSECRETS_VERIFY_TIMEOUT) in the thread
    that serves it, a thread of the web server's pool that pages need too. Capping
    these requests below the pool's size (gunicorn's ``--threads``) keeps threads
    free for pages however many people press "Test credentials" against a registry
    that never answers; a request over the cap is answered at once (VerifierBusy)
    rather than queued, since a queued one would hold its thread all the same.
    Re-entrant per thread: a batch (``verify_stored_secrets``) is one request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._held = threading.local()

    @property
    def active(self) -> int:
        return self._active

    @contextmanager
    def hold(self, limit: int) -> Iterator[None]:
        depth = getattr(self._held, "depth", 0)
        if depth == 0:
            with self._lock:
                if limit > 0 and self._active >= limit:
                    raise VerifierBusy()
                self._active += 1
        self._held.depth = depth + 1
        try:
            yield
        finally:
            self._held.depth = depth
            if depth == 0:
                with self._lock:
                    self._active -= 1


_REQUESTS = _RequestSlots()


@contextmanager
def _verification_request(actor: User | None, rate_limit: bool) -> Iterator[None]:
    """A process slot for one person's verification request (VerifierBusy when none
    is free, before the budget is spent), then the budget (RateLimited)."""
    with _REQUESTS.hold(int(settings.REGSECRETS_VERIFY_MAX_REQUESTS)):
        _spend_budget(actor, rate_limit)
        yield


@sensitive_variables("login")
def _stored_login(
    secret: Secret,
    *,
    actor: User | None,
    request: HttpRequest | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The Docker config to log in with, in memory: the stored login, or a fresh token
    for a secret that mints them (``minting.secret_login_config``, the one place that
    decides). Raises Undecryptable if the document will not open, MintingError."""
    try:
        login = minting.secret_login_config(
            secret=secret, actor=actor, request=request, now=now
        )
    except DecryptionError as exc:
        raise Undecryptable(exc) from exc
    return login.config


def minting_failed(host: str, error: MintingError) -> VerificationResult:
    """A failed mint as the check result of ``host``: its code (MINT_DENIED, ...) and
    our own reason. Nothing was sent to the registry."""
    return VerificationResult(False, error.code, error.reason, display_host(host))


def _audit(
    secret: Secret,
    *,
    check: str,
    host: str,
    result: VerificationResult,
    actor: User | None,
    request: HttpRequest | None,
    image: str | None = None,
) -> None:
    """The one audit shape of a check that used a stored secret (codes and hosts only)."""
    details: dict[str, Any] = {
        "check": check,
        "host": host,
        "success": result.success,
        "code": result.code,
    }
    if image is not None:
        details["image"] = image
    audit_record(
        action="secret.verified",
        organization=secret.organization,
        actor=actor,
        obj=secret,
        request=request,
        details=details,
    )


def _audit_checks(
    secret: Secret, checks: list[HostCheck], *, actor: User | None, request: HttpRequest | None
) -> None:
    for host_check in checks:
        _audit(
            secret,
            check="credentials",
            host=host_check.host,
            result=host_check.result,
            actor=actor,
            request=request,
        )


@sensitive_variables("config")
def verify_stored_secret(
    *,
    secret: Secret,
    actor: User | None,
    request: HttpRequest | None = None,
    rate_limit: bool,
    deadline: float | None = None,
) -> list[HostCheck]:
    """Do ``secret``'s stored credentials log in to each of its registries?

    ``secret`` comes from the caller's scoping (``get_scoped_or_404`` for a person,
    any row for the system). Raises RateLimited (only with ``rate_limit``), or
    Undecryptable, in which case nothing is checked or audited. ``deadline``
    (``time.monotonic()``) lets a caller bound several secrets together.
    """
    with _verification_request(actor, rate_limit):
        checks = check_stored_secret(secret, actor=actor, request=request, deadline=deadline)
        _audit_checks(secret, checks, actor=actor, request=request)
    return checks


@sensitive_variables("config")
def check_stored_secret(
    secret: Secret,
    *,
    actor: User | None = None,
    request: HttpRequest | None = None,
    deadline: float | None = None,
    now: datetime | None = None,
) -> list[HostCheck]:
    """Log in to each of ``secret``'s hosts with its login (stored or freshly minted).

    No rate budget and no ``secret.verified`` event: ``verify_stored_secret`` adds
    those for people, and the scheduled health checks call this directly. A mint
    that fails is every host's result (its MINT_* code), not an exception. Raises
    Undecryptable. ``now`` is the minting clock (tests freeze it).
    """
    try:
        config = _stored_login(secret, actor=actor, request=request, now=now)
    except MintingError as exc:
        return _counted([HostCheck(host, minting_failed(host, exc)) for host in secret.hosts or []])
    # The clear hosts column names what the credentials were stored for.
    hosts = list(secret.hosts or []) or list(config.get("auths") or {})
    return check_config_hosts(config, hosts, deadline=deadline)


def verify_stored_secrets(
    *, secrets: Sequence[Secret], actor: User | None, request: HttpRequest | None = None
) -> list[SecretVerification]:
    """``verify_stored_secret`` for each of ``secrets``, all bounded by one deadline.

    For operators and the system (no rate budget). A secret that cannot be decrypted
    gets its error in its outcome and the others are still checked. Raises
    InvalidInput for more than MAX_SECRETS_PER_BATCH secrets.
    """
    if len(secrets) > MAX_SECRETS_PER_BATCH:
        raise InvalidInput.on(
            NON_FIELD_ERRORS, f"Select at most {MAX_SECRETS_PER_BATCH} secrets to test at once."
        )
    deadline = client_options().deadline()  # one bound for every secret of the batch
    outcomes = []
    with _verification_request(actor, rate_limit=False):
        for secret in secrets:
            try:
                checks = verify_stored_secret(
                    secret=secret, actor=actor, request=request, rate_limit=False, deadline=deadline
                )
            except Undecryptable as exc:
                outcomes.append(SecretVerification(secret, [], exc))
            else:
                outcomes.append(SecretVerification(secret, checks))
    return outcomes


@sensitive_variables("data", "result")
def verify_new_input(
    *, provider: str, data: Mapping[str, Any], actor: User | None, rate_limit: bool
) -> list[HostCheck]:
    """Do typed credentials for ``provider`` log in to each of their registries?

    Validated like saving (``services.secret_input_validate``); nothing is saved,
    and nothing is audited since no secret exists yet. Raises InvalidInput keyed by
    field, or RateLimited.
    """
    try:
        result = services.secret_input_validate(provider=provider, data=data)
    except ValidationError as exc:
        raise InvalidInput.wrap(exc) from None
    with _verification_request(actor, rate_limit):
        return _check_input(get_provider(provider).key, result)


@sensitive_variables("result", "config")
def _check_input(provider_key: str, result: Any) -> list[HostCheck]:
    """Check typed input's login: its own, or a token minted from the typed key."""
    try:
        config = minting.input_login_config(provider=provider_key, result=result)
    except MintingError as exc:
        return _counted([HostCheck(host, minting_failed(host, exc)) for host in result.hosts])
    return check_config_hosts(config, result.hosts)


@sensitive_variables("data", "result")
def verify_edit_input(
    *,
    secret: Secret,
    data: Mapping[str, Any],
    actor: User | None,
    request: HttpRequest | None = None,
    rate_limit: bool,
) -> list[HostCheck]:
    """Does an edit of ``secret`` (typed input merged over the stored) log in?

    Judged by the same service as saving (``services.secret_edit_validate``), which
    decrypts the stored input once, keeps credentials left empty and refuses to send
    stored credentials to a registry they were not saved for. Nothing is saved; each
    check is audited as a use of the secret. Raises InvalidInput, Undecryptable (a
    test never repairs a damaged secret), or RateLimited.
    """
    try:
        result, _changed = services.secret_edit_validate(
            secret=secret, data=data, allow_repair=False
        )
    except ValidationError as exc:
        raise InvalidInput.wrap(exc) from None
    except DecryptionError as exc:
        raise Undecryptable(exc) from exc
    with _verification_request(actor, rate_limit):
        checks = _check_input(secret.provider, result)
        _audit_checks(secret, checks, actor=actor, request=request)
    return checks


def _valid_image(image: Any, *, malformed_is_result: bool) -> str:
    image = image.strip() if isinstance(image, str) else ""
    if not image:
        raise InvalidInput.on("image", "Enter an image reference.", code="required")
    if len(image) > MAX_IMAGE_LENGTH:
        raise InvalidInput.on("image", f"Use at most {MAX_IMAGE_LENGTH} characters.")
    if not malformed_is_result:
        try:
            parse_image_reference(image)
        except InvalidImageReference as exc:
            raise InvalidInput.on("image", str(exc)) from None
    return image


def _scoped_secret(organization: Organization, secret: Secret | str | UUID) -> Secret:
    pk = secret.pk if isinstance(secret, Secret) else secret
    try:
        return get_scoped_or_404(Secret.objects.all(), organization, pk=pk)
    except Http404:
        raise NotFound("No such registry secret.") from None


@sensitive_variables("config")
def verify_image(
    *,
    organization: Organization,
    image: str,
    secret: Secret | str | UUID | None = None,
    actor: User | None,
    request: HttpRequest | None = None,
    rate_limit: bool,
    malformed_is_result: bool = False,
) -> VerificationResult:
    """Can ``image`` be pulled with ``secret`` (anonymously without one)?

    ``secret`` is a Secret or its id, looked up within ``organization`` (NotFound
    otherwise). An image reference the grammar refuses is InvalidInput, unless
    ``malformed_is_result``: Koyeb's API answers it as a MALFORMED result instead.
    Audited when a secret is used, since that decrypts it. Raises InvalidInput,
    NotFound, RateLimited or Undecryptable.
    """
    image = _valid_image(image, malformed_is_result=malformed_is_result)
    stored = _scoped_secret(organization, secret) if secret else None
    with _verification_request(actor, rate_limit):
        result = _check_image_with(image, stored, actor=actor, request=request)
    metrics.record_verification(check="image", success=result.success, code=result.code)
    if stored is not None:
        _audit(
            stored,
            check="image",
            host=result.registry,
            result=result,
            actor=actor,
            request=request,
            image=image,
        )
    return result


@sensitive_variables("config")
def _check_image_with(
    image: str, secret: Secret | None, *, actor: User | None, request: HttpRequest | None
) -> VerificationResult:
    """``check_image`` with ``secret``'s login. A secret that mints tokens mints only
    when one of its hosts serves the image (otherwise the pull is anonymous, as it
    would be with a stored login that does not match), and a failed mint is the
    result."""
    config = None
    if secret is not None:
        served = _hosts_serving(secret, image)
        if served or not minting.secret_mints_tokens(secret):
            try:
                config = _stored_login(secret, actor=actor, request=request)
            except MintingError as exc:
                return minting_failed(served[0], exc)
    return check_image(image, config, options=client_options())


def _hosts_serving(secret: Secret, image: str) -> list[str]:
    try:
        return hosts_for_image(secret.hosts or [], image)
    except InvalidImageReference:
        return []  # check_image answers MALFORMED without a login
