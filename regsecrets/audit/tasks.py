"""Celery task for audit retention: a thin wrapper over the use case."""

from __future__ import annotations

import logging

from celery import shared_task

from regsecrets.audit.services import audit_prune

logger = logging.getLogger("regsecrets.audit")


@shared_task(name="regsecrets.audit.tasks.prune_audit_events", ignore_result=True)
def prune_audit_events() -> int:
    """Beat's hourly tick: delete what REGSECRETS_AUDIT_RETENTION_DAYS no longer keeps."""
    deleted = audit_prune()
    if deleted:
        logger.info("pruned %d audit events", deleted)
    return deleted
