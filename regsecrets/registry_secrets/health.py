"""Credential health: the use case every check goes through, scheduled or manual.

A check logs in to each registry host of a secret (decrypting it in memory, through
the verification use case), then ``health_record`` updates the secret's health and
its per-host rows under a row lock taken before anything is read, computes the
transition, and writes at most one alert per transition in the same transaction.
Alerts are delivered after commit by tasks that take the alert's id.

Status rules (one place):

* past its "expires on" date a secret is FAILING (code EXPIRED), whatever the check;
* after REGSECRETS_HEALTH_ALERT_AFTER consecutive failed checks it is FAILING;
* a failure below that count keeps the previous status (a blip is not an outage),
  the code and reason of the failure are shown beside it;
* within 14 days of its expiry date it is EXPIRING, otherwise HEALTHY.
"""

from __future__ import annotations

import datetime
import logging
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet, prefetch_related_objects
from django.http import HttpRequest
from django.utils import timezone

from regsecrets.audit.services import audit_event, audit_record_many
from regsecrets.celery import app as celery_app
from regsecrets.core import metrics
from regsecrets.core.bulk import update_rows
from regsecrets.registry_secrets import hostlimits, verification
from regsecrets.registry_secrets.errors import Undecryptable
from regsecrets.registry_secrets.models import (
    HealthAlert,
    HealthStatus,
    Secret,
    SecretHostHealth,
)

logger = logging.getLogger("regsecrets.health")

__all__ = [
    "EXPIRING_DAYS",
    "EXPIRY_ALERT_DAYS",
    "CheckOutcome",
    "HostOutcome",
    "checks_per_task",
    "health_check_secret",
    "health_check_secrets",
    "health_claim_due",
    "health_due_queryset",
    "health_record",
    "health_test_credentials",
    "secrets_needing_attention",
]

EXPIRING_DAYS = 14
# "Expires in N days" alerts, each sent once per expiry date.
EXPIRY_ALERT_DAYS = (14, 3, 1)
EXPIRED = "EXPIRED"
UNDECRYPTABLE = "UNDECRYPTABLE"
THROTTLED_STATUS = 429
# A claimed secret whose worker died is due again after this long.
_CLAIM_LEASE = datetime.timedelta(minutes=15)
# A check deferred because its host is busy is retried within this window.
_BUSY_RETRY = (15.0, 60.0)
# A batch reads its hosts' backoffs again after this many seconds of checking.
_REST_REFRESH = 1.0


@dataclass(frozen=True)
class HostOutcome:
    """One host's answer, reduced to what health keeps (no credential in it)."""

    host: str
    success: bool
    code: str
    reason: str
    retry_after: float | None = None
    status: int | None = None

    @property
    def throttled(self) -> bool:
        # 429 says nothing about the credentials: retry later, record nothing.
        return self.status == THROTTLED_STATUS


@dataclass(frozen=True)
class CheckOutcome:
    """What one call of ``health_check_secret`` did: checked, deferred or gone."""

    secret_id: Any
    state: str  # "checked" | "deferred" | "gone"
    status: str = ""
    transition: str = ""


# ---------------------------------------------------------------- the one adapter


def _verify(
    secret: Secret,
    *,
    manual: bool = False,
    actor: User | None = None,
    request: HttpRequest | None = None,
    rate_limit: bool = False,
    now: datetime.datetime | None = None,
) -> tuple[list[Any], list[HostOutcome]]:
    """Run the verification use case on ``secret``: (its HostChecks, our outcomes).

    The only place this module reaches verification, so that restructuring it
    rewires health here and nowhere else. Manual checks are the use case's
    ``verify_stored_secret`` (audited per check, the actor's rate budget spent when
    ``rate_limit``); scheduled ones are the same checks (``check_stored_secret``:
    decrypted in memory, a fresh token for ECR and GCP secrets) without an audit
    event per check (four a day per secret would drown the activity log); their
    transitions and alerts are audited, and so is each mint. Raises Undecryptable
    when the document cannot be opened, RateLimited when the budget is spent.
    """
    if manual:
        checks = verification.verify_stored_secret(
            secret=secret, actor=actor, request=request, rate_limit=rate_limit
        )
    else:
        # The same login as the manual check (a fresh token for ECR and GCP secrets;
        # a failed mint is a failed check), without the per-check audit event.
        checks = verification.check_stored_secret(secret, now=now)
    return checks, outcomes_of(checks)


def outcomes_of(checks: Iterable[Any]) -> list[HostOutcome]:
    """HostOutcomes from the verification use case's HostChecks."""
    return [
        HostOutcome(
            host=c.host,
            success=c.result.success,
            code=c.result.code,
            reason=c.result.reason,
            retry_after=c.result.retry_after,
            status=c.result.status,
        )
        for c in checks
    ]


# ------------------------------------------------------------------ scheduling


def _interval() -> datetime.timedelta:
    return datetime.timedelta(seconds=float(settings.REGSECRETS_HEALTH_INTERVAL))


def next_check_time(now: datetime.datetime) -> datetime.datetime:
    """``now`` plus the interval, spread by the jitter fraction so checks do not stampede."""
    jitter = max(0.0, min(float(getattr(settings, "REGSECRETS_HEALTH_JITTER", 0.1)), 0.5))
    factor = 1.0 + random.uniform(-jitter, jitter)
    return now + _interval() * factor


def health_due_queryset(now: datetime.datetime | None = None) -> QuerySet[Secret]:
    """Secrets whose next check is due, oldest first (reads the next_check_at index)."""
    now = now or timezone.now()
    return Secret.objects.filter(next_check_at__lte=now).order_by("next_check_at")


def health_claim_due(
    *, now: datetime.datetime | None = None, limit: int | None = None
) -> list[Any]:
    """Claim up to ``limit`` due secrets for checking and return their ids.

    Claiming moves next_check_at a lease ahead in the same transaction, so a second
    beat (or a beat that runs again before the workers catch up) does not enqueue
    the same secret twice; a worker that dies leaves it due again after the lease.
    SKIP LOCKED lets concurrent claimers share the work on PostgreSQL.
    """
    now = now or timezone.now()
    limit = limit or int(getattr(settings, "REGSECRETS_HEALTH_BATCH", 1000))
    with transaction.atomic():
        ids = list(
            health_due_queryset(now)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Secret.objects.filter(pk__in=ids).update(next_check_at=now + _CLAIM_LEASE)
    return ids


def checks_per_task() -> int:
    """How many claimed secrets one worker task checks (REGSECRETS_HEALTH_CHECKS_PER_TASK)."""
    return max(1, int(getattr(settings, "REGSECRETS_HEALTH_CHECKS_PER_TASK", 25)))


# --------------------------------------------------------------------- checking


def health_check_secret(secret_id: Any, *, now: datetime.datetime | None = None) -> CheckOutcome:
    """Check one secret now (the scheduled path): a batch of one."""
    return health_check_secrets([secret_id], now=now)[0]


def health_check_secrets(
    secret_ids: Sequence[Any], *, now: datetime.datetime | None = None
) -> list[CheckOutcome]:
    """Check several secrets now (the scheduled path), politely, then record them all.

    One outcome per distinct id, in the order given. A host in backoff or at its
    concurrency cap defers the checks that need it (rescheduled, not hammered); a 429
    sets the host's backoff and defers; a 5xx sets the backoff and counts as a failed
    check, and the batch's later checks of that host are deferred. The secrets are
    read in one query, checked one after the other (so the batch holds one slot per
    host), and recorded in one transaction (``_record_many``, the one writer).
    Each outcome is counted in the metrics.
    """
    outcomes = _check_secrets(list(dict.fromkeys(secret_ids)), now=now)
    for outcome in outcomes:
        metrics.record_health_check(state=outcome.state, status=outcome.status)
    return outcomes


class _Rest:
    """The backoff deadlines of a batch's hosts: read once from the cache, kept up to
    date with the backoffs this batch sets, and read again after ``_REST_REFRESH``
    seconds, so a long batch sees what other workers set meanwhile."""

    def __init__(self, hosts: Iterable[str]) -> None:
        self.hosts = list(hosts)
        self._refresh()

    def _refresh(self) -> None:
        self.until = hostlimits.backoff_deadlines(self.hosts)
        self.read_at = time.monotonic()

    def resting_until(self, hosts: Iterable[str]) -> float | None:
        if time.monotonic() - self.read_at > _REST_REFRESH:
            self._refresh()
        now = time.time()
        pending = [self.until[h] for h in hosts if self.until.get(h, 0.0) > now]
        return max(pending) if pending else None

    def back_off(self, host: str, retry_after: float | None) -> None:
        until = hostlimits.back_off(host, retry_after)
        self.until[host] = max(until, self.until.get(host, 0.0))


def _check_secrets(secret_ids: list[Any], *, now: datetime.datetime | None) -> list[CheckOutcome]:
    valid = [pk for pk in (parse_secret_id(i) for i in secret_ids) if pk is not None]
    order = {str(pk): n for n, pk in enumerate(valid)}
    secrets = sorted(
        Secret.objects.select_related("organization").filter(pk__in=valid),
        key=lambda secret: order[str(secret.pk)],
    )  # checked in the order given (the claim's: oldest due first)
    results: dict[str, CheckOutcome] = {}
    deferred: dict[Any, datetime.datetime] = {}
    checked: list[tuple[Secret, list[HostOutcome]]] = []
    hosts = sorted({h for s in secrets for h in (s.hosts or [])})
    rest = _Rest(hosts)
    # One slot per host for the whole batch (its checks run one after the other),
    # leased for as long as all of them may take.
    lease = 120.0 + len(secrets) * float(settings.REGSECRETS_VERIFY_TIMEOUT)
    with hostlimits.slots_for(hosts, lease=lease) as held:
        for secret in secrets:
            names = list(secret.hosts or [])
            resting = rest.resting_until(names)
            if resting is not None:
                when = datetime.datetime.fromtimestamp(resting, tz=datetime.UTC)
                deferred[secret.pk] = when + _busy_retry()
                continue
            if not held.issuperset(names):
                deferred[secret.pk] = timezone.now() + _busy_retry()
                continue
            try:
                outcomes = _scheduled_outcomes(secret, now)
            except Exception:
                # A defect, not a registry's answer (those are results): the others
                # are still recorded; this one stays claimed, due after the lease.
                logger.exception("the scheduled check of secret %s raised", secret.pk)
                results[str(secret.pk)] = CheckOutcome(secret.pk, "deferred")
                continue
            for outcome in outcomes:
                if outcome.retry_after is not None:
                    rest.back_off(outcome.host, outcome.retry_after)
            if any(o.throttled for o in outcomes):
                until = rest.resting_until(names) or timezone.now().timestamp()
                deferred[secret.pk] = datetime.datetime.fromtimestamp(until, tz=datetime.UTC)
                continue
            checked.append((secret, outcomes))
    if deferred:
        update_rows(
            Secret,
            [Secret(pk=pk, next_check_at=when) for pk, when in deferred.items()],
            ["next_check_at"],
        )
        for pk in deferred:
            results[str(pk)] = CheckOutcome(pk, "deferred")
    recorded = _record_many(checked, now=now)
    for secret, _ in checked:
        if secret.pk in recorded:
            stored, kind = recorded[secret.pk]
            results[str(secret.pk)] = CheckOutcome(secret.pk, "checked", stored.health_status, kind)
    # Deleted before it was read, or before its result was recorded: gone.
    answers = []
    for given in secret_ids:
        pk = parse_secret_id(given)
        answers.append(results.get(str(pk)) or CheckOutcome(pk or given, "gone"))
    return answers


def _busy_retry() -> datetime.timedelta:
    return datetime.timedelta(seconds=random.uniform(*_BUSY_RETRY))


def _scheduled_outcomes(secret: Secret, now: datetime.datetime | None) -> list[HostOutcome]:
    """The scheduled check of one secret; an undecryptable one fails on every host."""
    try:
        _, outcomes = _verify(secret, now=now)
    except Undecryptable as exc:
        outcomes = [
            HostOutcome(
                host=host,
                success=False,
                code=UNDECRYPTABLE,
                reason=(
                    "The stored credentials cannot be decrypted (key id "
                    f"{exc.kid or 'unknown'}); restore that key or edit the secret "
                    "with fresh credentials."
                ),
            )
            for host in secret.hosts or ["-"]
        ]
    return outcomes


def health_test_credentials(
    *,
    secret: Secret,
    actor: User | None = None,
    request: HttpRequest | None = None,
    rate_limit: bool = False,
) -> list[Any]:
    """The manual "Test credentials": the audited checks, recorded like scheduled ones.

    Returns the verification use case's HostChecks for the face to show. Raises
    Undecryptable when the document cannot be opened (nothing is checked or
    recorded), RateLimited when ``rate_limit`` and the actor's budget is spent.
    """
    checks, outcomes = _verify(
        secret, manual=True, actor=actor, request=request, rate_limit=rate_limit
    )
    if outcomes:
        health_record(secret=secret, outcomes=outcomes)
    return checks


def health_record_checks(*, secret: Secret, checks: Iterable[Any]) -> None:
    """Record checks a face ran through the verification use case itself (the admin's
    batch action, which bounds several secrets with one deadline)."""
    outcomes = outcomes_of(checks)
    if outcomes:
        health_record(secret=secret, outcomes=outcomes)


# -------------------------------------------------------------------- recording


def _days_left(expires_at: datetime.date | None, today: datetime.date) -> int | None:
    return None if expires_at is None else (expires_at - today).days


def _evaluate(
    secret: Secret, previous: str, failure: HostOutcome | None, today: datetime.date
) -> tuple[str, str, str]:
    """(status, code, reason) by the rules in the module docstring."""
    days = _days_left(secret.expires_at, today)
    alert_after = int(settings.REGSECRETS_HEALTH_ALERT_AFTER)
    if days is not None and days <= 0:
        return (
            HealthStatus.FAILING,
            EXPIRED,
            f"The credentials expired on {secret.expires_at:%Y-%m-%d}; replace them "
            "and set the new expiry date.",
        )
    if failure is not None:
        if secret.consecutive_failures >= alert_after:
            return HealthStatus.FAILING, failure.code, failure.reason
        kept = previous if previous != HealthStatus.FAILING else HealthStatus.FAILING
        return kept, failure.code, failure.reason
    if days is not None and days <= EXPIRING_DAYS:
        plural = "day" if days == 1 else "days"
        return (
            HealthStatus.EXPIRING,
            "EXPIRING",
            f"The credentials log in, but expire on {secret.expires_at:%Y-%m-%d} "
            f"(in {days} {plural}).",
        )
    return HealthStatus.HEALTHY, "", "The credentials log in to every registry."


def _expiry_alert_due(secret: Secret, days: int | None) -> int | None:
    """The threshold (14, 3, 1) to announce now, or None if already announced."""
    if days is None or days <= 0:
        return None
    crossed = [t for t in EXPIRY_ALERT_DAYS if days <= t]
    if not crossed:
        return None
    threshold = min(crossed)
    announced = (
        secret.expiry_alerted_days if secret.expiry_alerted_for == secret.expires_at else None
    )
    if announced is not None and announced <= threshold:
        return None
    return threshold


_RECORDED_FIELDS = [
    "health_status",
    "health_code",
    "health_reason",
    "checked_at",
    "last_healthy_at",
    "consecutive_failures",
    "next_check_at",
    "expiry_alerted_for",
    "expiry_alerted_days",
]
_HOST_FIELDS = ["status", "code", "reason", "checked_at", "last_healthy_at", "consecutive_failures"]


@dataclass
class _Transition:
    """What recording one check changed that the owners hear of (kind "" for none)."""

    previous: str
    status: str
    code: str
    reason: str
    kind: str
    details: dict[str, Any]


def _apply(
    locked: Secret,
    outcomes: Sequence[HostOutcome],
    hosts: dict[str, SecretHostHealth],
    now: datetime.datetime,
    today: datetime.date,
) -> _Transition:
    """Apply one check to a locked secret and its host rows, in memory: the one rule
    for counting failures, the status, the next check and the transition, shared by
    every writer (one secret or a batch). ``hosts`` maps host to its row (a new row
    has no pk); rows for hosts the secret no longer names are left for the caller."""
    previous = locked.health_status
    failures = [o for o in outcomes if not o.success]
    failure = failures[0] if failures else None
    if failure is None:
        locked.consecutive_failures = 0
        locked.last_healthy_at = now
    else:
        locked.consecutive_failures += 1
    status, code, reason = _evaluate(locked, previous, failure, today)
    locked.health_status = status
    locked.health_code = code
    locked.health_reason = reason
    locked.checked_at = now
    locked.next_check_at = next_check_time(now)
    for outcome in outcomes:
        row = hosts.get(outcome.host)
        if row is None:
            row = hosts[outcome.host] = SecretHostHealth(secret=locked, host=outcome.host)
        row.checked_at = now
        row.code = outcome.code
        row.reason = outcome.reason
        if outcome.success:
            row.status = HealthStatus.HEALTHY
            row.last_healthy_at = now
            row.consecutive_failures = 0
        else:
            row.status = HealthStatus.FAILING
            row.consecutive_failures += 1

    kind = ""
    details: dict[str, Any] = {}
    if status == HealthStatus.FAILING and previous != HealthStatus.FAILING:
        kind = HealthAlert.Kind.FAILING
        details = {
            "host": failure.host if failure else "",
            "failures": locked.consecutive_failures,
        }
    elif previous == HealthStatus.FAILING and status != HealthStatus.FAILING:
        kind = HealthAlert.Kind.RECOVERED
    if status == HealthStatus.EXPIRING:
        threshold = _expiry_alert_due(locked, _days_left(locked.expires_at, today))
        if threshold is not None:
            locked.expiry_alerted_for = locked.expires_at
            locked.expiry_alerted_days = threshold
            if not kind:
                kind = HealthAlert.Kind.EXPIRING
            details["days_left"] = _days_left(locked.expires_at, today)
    return _Transition(previous, status, code, reason, kind, details)


def _record_many(
    checks: Sequence[tuple[Secret, Sequence[HostOutcome]]],
    *,
    now: datetime.datetime | None = None,
) -> dict[Any, tuple[Secret, str]]:
    """Record checks of several secrets in one transaction: {pk: (the secret as
    stored, the alert kind written or "")}.

    Locks the secrets' rows, and only those (``of=("self",)``: a join under FOR UPDATE
    would lock the organization's row as well, so every check of one organization
    would wait for the others), in primary-key order (two batches never deadlock),
    before reading them; then reads their host rows, applies each check
    (``_apply``) and writes with a fixed number of statements whatever the batch's
    size: one UPDATE of the secrets, one of the host rows, one INSERT of new host
    rows, one DELETE of rows for hosts no longer named, and for the transitions one
    INSERT of alerts, one of audit events and the services' names. A secret deleted
    meanwhile is left out. Alerts are dispatched after commit.
    """
    if not checks:
        return {}
    now = now or timezone.now()
    today = timezone.localdate(now)
    given = {secret.pk: outcomes for secret, outcomes in checks}
    recorded: dict[Any, tuple[Secret, str]] = {}
    alerts: list[HealthAlert] = []
    with transaction.atomic():
        locked = list(
            Secret.objects.select_for_update(of=("self",))
            .select_related("organization")
            .defer("document")
            .filter(pk__in=list(given))
            .order_by("pk")
        )
        if not locked:
            return {}
        rows: dict[Any, dict[str, SecretHostHealth]] = {s.pk: {} for s in locked}
        for row in SecretHostHealth.objects.filter(secret_id__in=list(rows)):
            rows[row.secret_id][row.host] = row
        transitions: list[tuple[Secret, _Transition]] = []
        changed: list[SecretHostHealth] = []
        added: list[SecretHostHealth] = []
        gone: list[int] = []
        for secret in locked:
            outcomes = given[secret.pk]
            transition = _apply(secret, outcomes, rows[secret.pk], now, today)
            recorded[secret.pk] = (secret, transition.kind)
            if transition.kind:
                transitions.append((secret, transition))
            named = {o.host for o in outcomes}
            for host, row in rows[secret.pk].items():
                if host not in named:
                    # Hosts the secret no longer names (after an edit) do not linger.
                    gone.append(row.pk)
                elif row.pk is None:
                    added.append(row)
                else:
                    changed.append(row)
        update_rows(Secret, locked, _RECORDED_FIELDS)
        update_rows(SecretHostHealth, changed, _HOST_FIELDS)
        if added:
            SecretHostHealth.objects.bulk_create(added)
        if gone:
            SecretHostHealth.objects.filter(pk__in=gone).delete()
        if transitions:
            alerts = _write_alerts(transitions, now)
    for alert in alerts:
        metrics.record_health_transition(kind=alert.kind)
    return recorded


def _services_by_secret(secrets: list[Secret]) -> dict[Any, list[str]]:
    """The "app/service" names of the services using each secret (alert messages)."""
    prefetch_related_objects(secrets, "services__app")
    names: dict[Any, list[str]] = {}
    for secret in secrets:
        using = sorted((svc.app.name, svc.name) for svc in secret.services.all())
        names[secret.pk] = [f"{app}/{service}" for app, service in using]
    return names


def _write_alerts(
    transitions: list[tuple[Secret, _Transition]], now: datetime.datetime
) -> list[HealthAlert]:
    """One alert and one audit event per transition, in bulk, dispatched after commit."""
    services = _services_by_secret([secret for secret, _ in transitions])
    alerts = HealthAlert.objects.bulk_create(
        [
            HealthAlert(
                organization=secret.organization,
                secret=secret,
                kind=t.kind,
                created_at=now,
                details={
                    **t.details,
                    "status": t.status,
                    "previous": t.previous,
                    "code": t.code,
                    "reason": t.reason,
                    "hosts": list(secret.hosts or []),
                    "expires_at": secret.expires_at.isoformat() if secret.expires_at else None,
                    "services": services[secret.pk],
                },
            )
            for secret, t in transitions
        ]
    )
    audit_record_many(
        [
            audit_event(
                action="secret.health_changed",
                organization=secret.organization,
                obj=secret,
                details={"from": t.previous, "to": t.status, "code": t.code, "alert": t.kind},
            )
            for secret, t in transitions
        ]
    )
    alert_ids = [alert.pk for alert in alerts]
    transaction.on_commit(lambda: _dispatch_all(alert_ids))
    return alerts


def health_record(
    *,
    secret: Secret,
    outcomes: Sequence[HostOutcome],
    now: datetime.datetime | None = None,
) -> tuple[str, str]:
    """Record one check of ``secret``: (new status, alert kind sent or "").

    The batch writer with one secret: its row is locked before it is read, so two
    checks recorded at once are applied one after the other and a transition is
    seen (and alerted) once. Raises Secret.DoesNotExist if the secret is gone.
    """
    recorded = _record_many([(secret, outcomes)], now=now)
    if secret.pk not in recorded:
        raise Secret.DoesNotExist(f"secret {secret.pk} no longer exists")
    stored, kind = recorded[secret.pk]
    # The caller's object reflects what was stored.
    for name in _RECORDED_FIELDS:
        setattr(secret, name, getattr(stored, name))
    return stored.health_status, kind


DELIVER_ALERT_TASK = "regsecrets.registry_secrets.tasks.deliver_alert"


def _dispatch_all(alert_ids: list[int]) -> None:
    # By name through the app's registry: tasks.py imports this module, not back.
    task = celery_app.tasks[DELIVER_ALERT_TASK]
    for alert_id in alert_ids:
        task.delay(alert_id)


# ------------------------------------------------------------------------ reads


def parse_secret_id(value: str) -> Any:
    """A secret id from user input, or None when it is not one (no query error)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def secrets_needing_attention(organization: Any) -> QuerySet[Secret]:
    """The organization's FAILING and EXPIRING secrets (never decrypts)."""
    return Secret.objects.filter(
        Q(health_status=HealthStatus.FAILING) | Q(health_status=HealthStatus.EXPIRING),
        organization=organization,
    ).defer("document")
