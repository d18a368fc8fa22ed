"""Alerts about a secret's health: email to owners and admins, a signed webhook.

Each alert is one HealthAlert row written with the transition it announces; the
functions here deliver it once (email) or until the endpoint accepts it (webhook),
and audit each delivery. Messages carry names, hosts, codes and our own reasons,
never a credential; the webhook's signing secret is sealed at rest and shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets as pysecrets
import time
import urllib.parse
from typing import Any

import httpcore
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from regsecrets.accounts.models import MANAGER_ROLES, Membership
from regsecrets.audit.services import audit_record
from regsecrets.core import metrics
from regsecrets.crypto.fields import open_document, seal_document
from regsecrets.registries.client.transport import tls_context
from regsecrets.registries.netguard import GuardedBackend
from regsecrets.registry_secrets.models import HealthAlert, HealthWebhook

__all__ = [
    "SIGNATURE_HEADER",
    "WebhookDeliveryError",
    "alert_recipients",
    "alert_send_email",
    "webhook_configure",
    "webhook_deliver",
    "webhook_payload",
    "webhook_remove",
    "webhook_signature",
]

SIGNATURE_HEADER = "X-Regsecrets-Signature"
_WEBHOOK_TIMEOUT = 10.0
_EVENT_TYPES = {
    HealthAlert.Kind.FAILING: "secret.health.failing",
    HealthAlert.Kind.EXPIRING: "secret.health.expiring",
    HealthAlert.Kind.RECOVERED: "secret.health.recovered",
}


class WebhookDeliveryError(Exception):
    """The endpoint did not accept the event; the task retries with backoff."""


def secret_url(secret_id: Any) -> str:
    """The absolute link to a secret's page (REGSECRETS_BASE_URL + its path)."""
    base = str(getattr(settings, "REGSECRETS_BASE_URL", "")).rstrip("/")
    return base + reverse("registry_secrets:detail", args=[secret_id])


def alert_recipients(organization: Any) -> list[str]:
    """Email addresses of the organization's active owners and admins."""
    emails = (
        Membership.objects.filter(
            organization=organization, role__in=MANAGER_ROLES, user__is_active=True
        )
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys(emails))


def _message(alert: HealthAlert) -> tuple[str, str]:
    secret = alert.secret
    d = alert.details
    hosts = ", ".join(d.get("hosts") or []) or "(none)"
    services = d.get("services") or []
    if alert.kind == HealthAlert.Kind.FAILING:
        subject = f"[regsecrets] {secret.name} is failing: {d.get('code') or 'error'}"
        opening = (
            f"The registry secret “{secret.name}” in {alert.organization.name} is failing "
            f"after {d.get('failures') or 1} check(s)."
        )
        impact = "These services will fail to pull their images:"
    elif alert.kind == HealthAlert.Kind.EXPIRING:
        days = d.get("days_left")
        subject = f"[regsecrets] {secret.name} expires in {days} day{'s' if days != 1 else ''}"
        opening = (
            f"The registry secret “{secret.name}” in {alert.organization.name} expires on "
            f"{d.get('expires_at')}."
        )
        impact = "These services will fail to pull their images once it expires:"
    else:
        subject = f"[regsecrets] {secret.name} has recovered"
        opening = f"The registry secret “{secret.name}” in {alert.organization.name} works again."
        impact = "These services can pull their images again:"
    lines = [
        opening,
        "",
        f"Registry: {d.get('failing_host') or d.get('host') or hosts}",
        f"Status: {d.get('status')}",
        f"Reason: {d.get('reason')}",
        "",
        impact if services else "No service uses this secret yet.",
        *[f"  - {name}" for name in services],
        "",
        f"Open the secret: {secret_url(secret.pk)}",
    ]
    return subject, "\n".join(lines) + "\n"


def alert_send_email(alert_id: int) -> int:
    """Email one alert to the owners and admins, once; returns how many were sent.

    The alert row is locked while sending, so a retried or duplicated task finds
    ``emailed_at`` set and sends nothing.
    """
    with transaction.atomic():
        alert = (
            # Only the alert's row: a join under FOR UPDATE would lock the secret and
            # the organization too, stalling their checks and edits while mail is sent.
            HealthAlert.objects.select_for_update(of=("self",))
            .select_related("secret", "organization")
            .filter(pk=alert_id)
            .first()
        )
        if alert is None or alert.emailed_at is not None:
            return 0
        recipients = alert_recipients(alert.organization)
        if recipients:
            subject, body = _message(alert)
            send_mail(subject, body, None, recipients)
        alert.emailed_at = timezone.now()
        alert.save(update_fields=["emailed_at"])
        audit_record(
            action="secret.alert_sent",
            organization=alert.organization,
            obj=alert.secret,
            details={
                "channel": "email",
                "alert": alert.kind,
                "recipients": len(recipients),
            },
        )
    if recipients:
        metrics.record_alert_sent(channel="email", kind=alert.kind)
    return len(recipients)


# ----------------------------------------------------------------------- webhook


def _webhook_url_allowed(url: str) -> bool:
    if url.startswith("https://"):
        return True
    return url.startswith("http://") and bool(
        getattr(settings, "REGSECRETS_WEBHOOK_ALLOW_HTTP", False)
    )


@sensitive_variables("signing_secret")
def webhook_configure(
    *, organization: Any, url: str, actor: Any = None, request: HttpRequest | None = None
) -> str:
    """Set the organization's webhook URL with a new signing secret, returned once."""
    url = (url or "").strip()
    if len(url) > 500 or not _webhook_url_allowed(url) or not urllib.parse.urlsplit(url).hostname:
        raise ValidationError({"url": ["The webhook URL must start with https://."]})
    host = urllib.parse.urlsplit(url).hostname or ""
    signing_secret = "whsec_" + pysecrets.token_urlsafe(32)
    with transaction.atomic():
        hook = HealthWebhook.objects.select_for_update().filter(organization=organization).first()
        hook = hook or HealthWebhook(organization=organization)
        hook.url = url
        seal_document(hook, "signing_secret", {"secret": signing_secret})
        hook.save()
        audit_record(
            action="organization.webhook_set",
            organization=organization,
            actor=actor,
            obj=hook,
            # A hook URL may carry a token in its path (chat services do): host only.
            object_name=host,
            request=request,
            details={"host": host},
        )
    return signing_secret


def webhook_remove(
    *, organization: Any, actor: Any = None, request: HttpRequest | None = None
) -> None:
    with transaction.atomic():
        deleted, _ = HealthWebhook.objects.filter(organization=organization).delete()
        if deleted:
            audit_record(
                action="organization.webhook_removed",
                organization=organization,
                actor=actor,
                object_type="healthwebhook",
                request=request,
            )


def webhook_signature(signing_secret: str, body: bytes) -> str:
    """``sha256=HEX``: HMAC-SHA256 of the exact body with the signing secret."""
    digest = hmac.new(signing_secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_payload(alert: HealthAlert) -> bytes:
    """The JSON event for one alert (non-secret facts only), as sent and signed."""
    d = alert.details
    event = {
        "id": f"alert_{alert.pk}",
        "type": _EVENT_TYPES[HealthAlert.Kind(alert.kind)],
        "created_at": alert.created_at.isoformat(),
        "organization": {"id": alert.organization_id, "slug": alert.organization.slug},
        "secret": {
            "id": str(alert.secret_id),
            "name": alert.secret.name,
            "hosts": d.get("hosts") or [],
            "status": d.get("status"),
            "previous_status": d.get("previous"),
            "code": d.get("code"),
            "reason": d.get("reason"),
            "expires_at": d.get("expires_at"),
            "days_left": d.get("days_left"),
            "url": secret_url(alert.secret_id),
        },
        "services": d.get("services") or [],
    }
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST through the verification's outbound guard: bounded, no private targets."""
    backend = GuardedBackend(
        deadline=time.monotonic() + _WEBHOOK_TIMEOUT,
        allow_private=bool(getattr(settings, "REGSECRETS_ALLOW_PRIVATE_REGISTRIES", False)),
    )
    with httpcore.ConnectionPool(ssl_context=tls_context(), network_backend=backend) as pool:
        response = pool.request(
            "POST",
            url,
            headers=[(k.encode(), v.encode()) for k, v in headers.items()],
            content=body,
            extensions={
                "timeout": {
                    "connect": _WEBHOOK_TIMEOUT,
                    "read": _WEBHOOK_TIMEOUT,
                    "write": _WEBHOOK_TIMEOUT,
                    "pool": _WEBHOOK_TIMEOUT,
                }
            },
        )
        return response.status


@sensitive_variables("signing_secret")
def webhook_deliver(alert_id: int) -> bool:
    """POST one alert to the organization's webhook; True when delivered now.

    False when there is nothing to do (no webhook, already delivered, alert gone).
    Raises WebhookDeliveryError when the endpoint refuses or cannot be reached, for
    the task to retry. The URL is re-read on each attempt, so a fixed URL helps.
    """
    alert = HealthAlert.objects.select_related("secret", "organization").filter(pk=alert_id).first()
    if alert is None or alert.webhook_delivered_at is not None:
        return False
    hook = HealthWebhook.objects.filter(organization_id=alert.organization_id).first()
    if hook is None:
        return False
    if not _webhook_url_allowed(hook.url):
        return False
    body = webhook_payload(alert)
    signing_secret = open_document(hook, "signing_secret")["secret"]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "regsecrets-webhook/1",
        SIGNATURE_HEADER: webhook_signature(signing_secret, body),
    }
    HealthAlert.objects.filter(pk=alert.pk).update(webhook_attempts=alert.webhook_attempts + 1)
    try:
        status = _post(hook.url, body, headers)
    except Exception as exc:  # any transport failure is retried; the type says enough
        raise WebhookDeliveryError(f"{type(exc).__name__} delivering to the webhook") from None
    if not 200 <= status < 300:
        raise WebhookDeliveryError(f"the webhook answered HTTP {status}")
    with transaction.atomic():
        updated = HealthAlert.objects.filter(pk=alert.pk, webhook_delivered_at=None).update(
            webhook_delivered_at=timezone.now()
        )
        if updated:
            audit_record(
                action="secret.alert_sent",
                organization=alert.organization,
                obj=alert.secret,
                details={"channel": "webhook", "alert": alert.kind, "status": status},
            )
    if updated:
        metrics.record_alert_sent(channel="webhook", kind=alert.kind)
    return bool(updated)
