"""Celery tasks for credential health: thin wrappers over the health use case.

Arguments are ids, never credentials; results are small non-secret summaries.
Each task is idempotent: a secret checked twice is recorded twice (a transition
still alerts once, under the row lock), an alert already emailed or delivered is
not sent again, so acks_late redelivery after a worker crash is harmless.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from regsecrets.registry_secrets import alerts, health

logger = logging.getLogger("regsecrets.health")

# Webhook retries: 30 s, 1, 2, 4 ... minutes (Celery's exponential backoff), capped.
WEBHOOK_MAX_RETRIES = 8


@shared_task(name="regsecrets.registry_secrets.tasks.enqueue_due_checks", ignore_result=True)
def enqueue_due_checks() -> int:
    """Beat's tick: claim the due secrets and queue them in batches of
    REGSECRETS_HEALTH_CHECKS_PER_TASK (one task per batch)."""
    ids = [str(secret_id) for secret_id in health.health_claim_due()]
    size = health.checks_per_task()
    for start in range(0, len(ids), size):
        check_secrets.delay(ids[start : start + size])
    if ids:
        logger.info("queued %d credential checks", len(ids))
    return len(ids)


@shared_task(
    name="regsecrets.registry_secrets.tasks.check_secrets",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def check_secrets(secret_ids: list[str]) -> dict[str, int]:
    """Check a batch of secrets (one read, one recording transaction)."""
    outcomes = health.health_check_secrets(secret_ids)
    states = [outcome.state for outcome in outcomes]
    return {state: states.count(state) for state in ("checked", "deferred", "gone")}


@shared_task(
    name="regsecrets.registry_secrets.tasks.check_secret",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def check_secret(secret_id: str) -> dict[str, Any]:
    outcome = health.health_check_secret(secret_id)
    return {"secret": str(outcome.secret_id), "state": outcome.state, "status": outcome.status}


@shared_task(
    name="regsecrets.registry_secrets.tasks.deliver_alert", acks_late=True, ignore_result=True
)
def deliver_alert(alert_id: int) -> dict[str, Any]:
    """Email the alert, then hand it to the webhook task (which retries on its own)."""
    sent = alerts.alert_send_email(alert_id)
    deliver_webhook.delay(alert_id)
    return {"alert": alert_id, "emails": sent}


@shared_task(
    bind=True,
    name="regsecrets.registry_secrets.tasks.deliver_webhook",
    acks_late=True,
    ignore_result=True,
    max_retries=WEBHOOK_MAX_RETRIES,
)
def deliver_webhook(self: Any, alert_id: int) -> dict[str, Any]:
    try:
        delivered = alerts.webhook_deliver(alert_id)
    except alerts.WebhookDeliveryError as exc:
        if self.request.is_eager:
            # In-process mode has no broker to wait on: log and give up for this alert.
            logger.warning("webhook delivery of alert %s failed: %s", alert_id, exc)
            return {"alert": alert_id, "delivered": False}
        countdown = min(30 * 2**self.request.retries, 3600)
        raise self.retry(exc=exc, countdown=countdown)
    return {"alert": alert_id, "delivered": delivered}
