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
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from regsecrets.audit.services import audit_record
from regsecrets.celery import app as celery_app
from regsecrets.core import metrics
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
    "health_check_secret",
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


def _defer(secret_id: Any, when: datetime.datetime) -> None:
    Secret.objects.filter(pk=secret_id).update(next_check_at=when)


# --------------------------------------------------------------------- checking


def health_check_secret(secret_id: Any, *, now: datetime.datetime | None = None) -> CheckOutcome:
    """Check one secret now (the scheduled path): politely, then record the result.

    A host in backoff or at its concurrency cap defers the check (rescheduled, not
    hammered); a 429 sets the host's backoff and defers; a 5xx sets the backoff
    and counts as a failed check. Each outcome is counted in the metrics.
    """
    outcome = _check_secret(secret_id, now=now)
    metrics.record_health_check(state=outcome.state, status=outcome.status)
    return outcome


def _check_secret(secret_id: Any, *, now: datetime.datetime | None) -> CheckOutcome:
    secret = Secret.objects.select_related("organization").filter(pk=secret_id).first()
    if secret is None:
        return CheckOutcome(secret_id, "gone")
    hosts = list(secret.hosts or [])
    resting = hostlimits.backoff_until(hosts)
    if resting is not None:
        when = datetime.datetime.fromtimestamp(resting, tz=datetime.UTC)
        _defer(secret.pk, when + datetime.timedelta(seconds=random.uniform(*_BUSY_RETRY)))
        return CheckOutcome(secret.pk, "deferred")
    with hostlimits.host_slots(hosts) as acquired:
        if not acquired:
            later = timezone.now() + datetime.timedelta(seconds=random.uniform(*_BUSY_RETRY))
            _defer(secret.pk, later)
            return CheckOutcome(secret.pk, "deferred")
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
                for host in hosts or ["-"]
            ]
    for outcome in outcomes:
        if outcome.retry_after is not None:
            hostlimits.back_off(outcome.host, outcome.retry_after)
    if any(o.throttled for o in outcomes):
        until = hostlimits.backoff_until(hosts) or timezone.now().timestamp()
        _defer(secret.pk, datetime.datetime.fromtimestamp(until, tz=datetime.UTC))
        return CheckOutcome(secret.pk, "deferred")
    status, transition = health_record(secret=secret, outcomes=outcomes, now=now)
    return CheckOutcome(secret.pk, "checked", status, transition)


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


def _record_hosts(secret: Secret, outcomes: Sequence[HostOutcome], now: datetime.datetime) -> None:
    existing = {row.host: row for row in SecretHostHealth.objects.filter(secret=secret)}
    for outcome in outcomes:
        row = existing.get(outcome.host) or SecretHostHealth(secret=secret, host=outcome.host)
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
        row.save()
    # Hosts the secret no longer names (after an edit) do not linger.
    gone = set(existing) - {o.host for o in outcomes}
    if gone:
        SecretHostHealth.objects.filter(secret=secret, host__in=gone).delete()


def _services_of(secret: Secret) -> list[str]:
    return [
        f"{s.app.name}/{s.name}"
        for s in secret.services.select_related("app").order_by("app__name", "name")
    ]


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


def health_record(
    *,
    secret: Secret,
    outcomes: Sequence[HostOutcome],
    now: datetime.datetime | None = None,
) -> tuple[str, str]:
    """Record one check of ``secret``: (new status, alert kind sent or "").

    Locks the secret's row before reading it, so two checks recorded at once are
    applied one after the other and a transition is seen (and alerted) once.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    alert: HealthAlert | None = None
    with transaction.atomic():
        # Only the secret's row: a join under FOR UPDATE would lock the organization's
        # row as well, so every check of one organization would wait for the others.
        locked = (
            Secret.objects.select_for_update(of=("self",))
            .select_related("organization")
            .defer("document")
            .get(pk=secret.pk)
        )
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
        _record_hosts(locked, outcomes, now)

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
        locked.save(
            update_fields=[
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
        )
        if kind:
            alert = HealthAlert.objects.create(
                organization=locked.organization,
                secret=locked,
                kind=kind,
                created_at=now,
                details={
                    **details,
                    "status": status,
                    "previous": previous,
                    "code": code,
                    "reason": reason,
                    "hosts": list(locked.hosts or []),
                    "expires_at": locked.expires_at.isoformat() if locked.expires_at else None,
                    "services": _services_of(locked),
                },
            )
            audit_record(
                action="secret.health_changed",
                organization=locked.organization,
                obj=locked,
                details={"from": previous, "to": status, "code": code, "alert": kind},
            )
            alert_id = alert.pk
            transaction.on_commit(lambda: _dispatch(alert_id))
    if alert is not None:
        metrics.record_health_transition(kind=alert.kind)
    # The caller's object reflects what was stored.
    for name in (
        "health_status",
        "health_code",
        "health_reason",
        "checked_at",
        "last_healthy_at",
        "consecutive_failures",
        "next_check_at",
    ):
        setattr(secret, name, getattr(locked, name))
    return status, alert.kind if alert else ""


DELIVER_ALERT_TASK = "regsecrets.registry_secrets.tasks.deliver_alert"


def _dispatch(alert_id: int) -> None:
    # By name through the app's registry: tasks.py imports this module, not back.
    celery_app.tasks[DELIVER_ALERT_TASK].delay(alert_id)


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
