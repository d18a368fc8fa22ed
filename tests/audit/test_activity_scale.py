"""The Activity page: cursor pages and filter values at a cost that does not grow
with the number of events (no count, no DISTINCT pass over the events)."""

from __future__ import annotations

import itertools
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from regsecrets.audit.selectors import event_filters, event_page


def add_events(org, alice, n: int, action: str = "secret.revealed", start: int = 0) -> None:
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                organization=org, actor=alice, actor_name="alice", action=action,
                object_type="secret", object_name=f"s{start + i:04d}",
            )
            for i in range(n)
        ]
    )


def test_cursor_pages_walk_every_event_once_both_ways(org, alice):
    add_events(org, alice, 23)
    expected = list(
        AuditEvent.objects.filter(organization=org).order_by("-created_at", "-id").values_list("pk", flat=True)
    )
    seen, page = [], event_page(events=AuditEvent.objects.filter(organization=org), size=5)
    pages = [page]
    while True:
        seen.extend(e.pk for e in page.events)
        if page.older is None:
            break
        page = event_page(events=AuditEvent.objects.filter(organization=org), before=page.older, size=5)
        pages.append(page)
    assert seen == expected
    # And back: each page's "newer" cursor leads to the page before it.
    for previous, current in itertools.pairwise(pages):
        back = event_page(events=AuditEvent.objects.filter(organization=org), after=current.newer, size=5)
        assert [e.pk for e in back.events] == [e.pk for e in previous.events]
    assert pages[0].newer is None


def test_filters_list_the_values_in_use_of_this_organization_only(org, other_org, alice, bob):
    add_events(org, alice, 3, action="secret.created")
    add_events(other_org, bob, 2, action="app.deleted")
    object_types, actions = event_filters(organization=org)
    assert "secret.created" in actions
    assert "app.deleted" not in actions
    assert actions == sorted(set(actions))
    assert "" not in object_types


def test_a_foreign_or_garbled_cursor_shows_the_first_page(alice_client, org, alice):
    add_events(org, alice, 3)
    for cursor in ("abc", "1.2.3", "9" * 30 + ".1", "-5.3", ""):
        response = alice_client.get(reverse("audit:activity"), {"before": cursor})
        assert response.status_code == 200


def test_the_page_costs_the_same_queries_with_many_events(alice_client, org, alice):
    def queries(params) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(reverse("audit:activity"), params).status_code == 200
        sql = " ".join(q["sql"].upper() for q in captured.captured_queries)
        assert "COUNT(" not in sql
        assert "DISTINCT" not in sql
        return len(captured.captured_queries)

    add_events(org, alice, 60)
    first = queries({})
    older = re.search(r'before=([0-9.]+)"', alice_client.get(reverse("audit:activity")).content.decode())
    second = queries({"before": older.group(1)})
    add_events(org, alice, 300, action="secret.verified", start=60)
    assert queries({}) == first
    assert queries({"before": older.group(1)}) == second
