"""Audit retention: REGSECRETS_AUDIT_RETENTION_DAYS, pruned in batches by a command
and a periodic task; the default keeps every event."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from regsecrets.audit.models import AuditEvent
from regsecrets.audit.services import audit_prune, audit_record
from regsecrets.audit.tasks import prune_audit_events


@pytest.fixture
def events(org, other_org, alice):
    """Five events 400 days old (three in org, two in other_org) and two from today."""
    now = timezone.now()
    old = []
    for n, organization in enumerate([org, org, org, other_org, other_org]):
        event = audit_record(action="secret.created", organization=organization, actor=alice)
        AuditEvent.objects.filter(pk=event.pk).update(created_at=now - datetime.timedelta(days=400, minutes=n))
        old.append(event.pk)
    recent = [
        audit_record(action="secret.revealed", organization=org, actor=alice).pk for _ in range(2)
    ]
    return old, recent


def remaining(ids) -> int:
    return AuditEvent.objects.filter(pk__in=ids).count()


def test_events_are_kept_forever_by_default(events):
    old, recent = events
    assert django_settings.REGSECRETS_AUDIT_RETENTION_DAYS == 0
    assert audit_prune() == 0
    assert (remaining(old), remaining(recent)) == (5, 2)


def test_events_older_than_the_retention_are_deleted_in_batches(settings, events):
    old, recent = events
    settings.REGSECRETS_AUDIT_RETENTION_DAYS = 365
    with CaptureQueriesContext(connection) as queries:
        assert audit_prune(batch_size=2) == 5
    deletes = [q for q in queries.captured_queries if q["sql"].upper().startswith("DELETE")]
    assert len(deletes) == 3  # 2 + 2 + 1 rows, each its own statement
    assert (remaining(old), remaining(recent)) == (0, 2)


def test_events_inside_the_retention_stay(settings, events):
    old, recent = events
    settings.REGSECRETS_AUDIT_RETENTION_DAYS = 500
    assert audit_prune() == 0
    assert (remaining(old), remaining(recent)) == (5, 2)


def test_the_command_prunes_and_reports(settings, events):
    old, recent = events
    settings.REGSECRETS_AUDIT_RETENTION_DAYS = 30
    out = StringIO()
    call_command("prune_audit_events", "--dry-run", stdout=out)
    assert "Would delete 5 audit events" in out.getvalue()
    assert remaining(old) == 5
    out = StringIO()
    call_command("prune_audit_events", "--batch-size", "3", stdout=out)
    assert "Deleted 5 audit events" in out.getvalue()
    assert (remaining(old), remaining(recent)) == (0, 2)


def test_the_command_takes_days_and_says_when_nothing_is_pruned(events):
    old, recent = events
    out = StringIO()
    call_command("prune_audit_events", stdout=out)
    assert "kept forever" in out.getvalue()
    call_command("prune_audit_events", "--days", "399", stdout=StringIO())
    assert (remaining(old), remaining(recent)) == (0, 2)
    with pytest.raises(CommandError):
        call_command("prune_audit_events", "--days", "0")


def test_the_periodic_task_prunes_and_is_on_the_beat_schedule(settings, events):
    settings.REGSECRETS_AUDIT_RETENTION_DAYS = 365
    old, recent = events
    assert prune_audit_events.delay().get() == 5
    assert (remaining(old), remaining(recent)) == (0, 2)
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "regsecrets.audit.tasks.prune_audit_events" in scheduled
