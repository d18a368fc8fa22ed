from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from regsecrets.accounts.context import OrgRequest
from regsecrets.accounts.scoping import organization_required, scoped
from regsecrets.audit import selectors
from regsecrets.audit.models import AuditEvent

PAGE_SIZE = 50


@organization_required
def activity(request: OrgRequest) -> HttpResponse:
    """The organization's audit trail, filterable by object type and action, paged
    by cursors (Newer / Older): the same few queries at any number of events."""
    # A NUL in the query string never gets here (core.querystring answers 400).
    object_type = request.GET.get("object", "").strip()[:64]
    action = request.GET.get("action", "").strip()[:64]
    page = selectors.event_page(
        events=scoped(AuditEvent.objects.all(), request.organization),
        object_type=object_type,
        action=action,
        before=request.GET.get("before", "")[:40],
        after=request.GET.get("after", "")[:40],
        size=PAGE_SIZE,
    )
    object_types, actions = selectors.event_filters(organization=request.organization)
    return render(
        request,
        "audit/activity.html",
        {
            "page": page,
            "object_types": object_types,
            "actions": actions,
            "selected_object": object_type,
            "selected_action": action,
        },
    )
