"""Recording audit events. Callers pass names of changed fields, never values."""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from regsecrets.accounts.models import ApiToken, Organization
from regsecrets.audit.models import AuditEvent
from regsecrets.core.clientip import client_ip

# Keys whose values are never stored in details, whoever passes them.
_FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "password",
        "token",
        "auth",
        "identitytoken",
        "registrytoken",
        "keyfile_content",
        "config",
        "secret_access_key",
    }
)


def _storable(value: Any) -> Any:
    """Drop NUL characters, which PostgreSQL cannot store in text or jsonb.

    Details may quote user input (an image reference, a name); a hostile NUL
    there must not turn an audited action into a database error.
    """
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


def audit_record(
    *,
    action: str,
    organization: Organization | None = None,
    actor: User | AnonymousUser | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_name: str = "",
    request: HttpRequest | None = None,
    api_token: ApiToken | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event (see ``audit_event``). ``details`` must hold no secret values."""
    event = audit_event(
        action=action,
        organization=organization,
        actor=actor,
        obj=obj,
        object_type=object_type,
        object_name=object_name,
        request=request,
        api_token=api_token,
        details=details,
    )
    event.save(force_insert=True)
    return event


def audit_record_many(events: list[AuditEvent]) -> list[AuditEvent]:
    """Write the events ``audit_event`` built, in one INSERT (a batch of health
    transitions)."""
    return AuditEvent.objects.bulk_create(events) if events else []


def audit_event(
    *,
    action: str,
    organization: Organization | None = None,
    actor: User | AnonymousUser | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_name: str = "",
    request: HttpRequest | None = None,
    api_token: ApiToken | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """One audit event, not saved yet. ``details`` must hold no secret values.

    The actor defaults to the request's signed-in user, the token to its API token;
    an anonymous actor is recorded as none.
    """
    details = _storable(dict(details or {}))
    leaked = _FORBIDDEN_DETAIL_KEYS.intersection(details)
    if leaked:
        raise ValueError(f"audit details must not carry values for {sorted(leaked)}")
    if request is not None:
        if actor is None and getattr(request, "user", None) is not None:
            actor = request.user if request.user.is_authenticated else None
        if api_token is None:
            api_token = getattr(request, "api_token", None)
    if isinstance(actor, AnonymousUser):
        actor = None
    if obj is not None:
        object_type = object_type or obj._meta.model_name or ""
        object_name = object_name or str(getattr(obj, "name", "") or obj)
    return AuditEvent(
        organization=organization,
        actor=actor,
        actor_name=actor.get_username() if actor is not None else "",
        api_token=api_token,
        action=action,
        object_type=object_type,
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_name=_storable(object_name)[:200],
        ip_address=client_ip(request) if request is not None else None,
        # NUL is not storable in PostgreSQL text; a hostile client may send one.
        user_agent=(
            _storable(request.META.get("HTTP_USER_AGENT", ""))[:300] if request is not None else ""
        ),
        details=details,
    )


def audit_retention_cutoff(
    *, days: int | None = None, now: datetime.datetime | None = None
) -> datetime.datetime | None:
    """The instant before which events are pruned; None when they are kept forever.

    ``days`` defaults to ``REGSECRETS_AUDIT_RETENTION_DAYS`` (0: keep forever).
    """
    keep = settings.REGSECRETS_AUDIT_RETENTION_DAYS if days is None else days
    if not keep or keep <= 0:
        return None
    return (now or timezone.now()) - datetime.timedelta(days=keep)


def audit_prune(
    *,
    days: int | None = None,
    batch_size: int | None = None,
    now: datetime.datetime | None = None,
    dry_run: bool = False,
) -> int:
    """Delete the events older than the retention period; return how many.

    In batches of ``batch_size`` (``REGSECRETS_AUDIT_PRUNE_BATCH``) rows, each its own
    short statement, oldest first through the ``created_at`` index, so pruning a
    large backlog never holds a long lock or a long transaction, and an interrupted
    run resumes where it stopped. ``dry_run`` counts instead.
    """
    cutoff = audit_retention_cutoff(days=days, now=now)
    if cutoff is None:
        return 0
    old = AuditEvent.objects.filter(created_at__lt=cutoff)
    if dry_run:
        return old.count()
    size = batch_size or settings.REGSECRETS_AUDIT_PRUNE_BATCH
    deleted = 0
    while True:
        ids = list(old.order_by("created_at", "id").values_list("id", flat=True)[:size])
        if not ids:
            return deleted
        deleted += AuditEvent.objects.filter(id__in=ids).delete()[0]
