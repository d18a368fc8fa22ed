from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from regsecrets.accounts.context import OrgRequest
from regsecrets.accounts.scoping import organization_required, scoped
from regsecrets.audit.models import AuditEvent

PAGE_SIZE = 50


@organization_required
def activity(request: OrgRequest) -> HttpResponse:
    """The organization's audit trail, filterable by object type and action."""
    events = scoped(AuditEvent.objects.all(), request.organization).select_related(
        "actor", "api_token"
    )
    # A NUL in the query string never gets here (core.querystring answers 400).
    object_type = request.GET.get("object", "").strip()[:64]
    action = request.GET.get("action", "").strip()[:64]
    if object_type:
        events = events.filter(object_type=object_type)
    if action:
        events = events.filter(action=action)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    base = scoped(AuditEvent.objects.all(), request.organization)
    return render(
        request,
        "audit/activity.html",
        {
            "page": page,
            "object_types": base.order_by().values_list("object_type", flat=True).distinct(),
            "actions": base.order_by().values_list("action", flat=True).distinct(),
            "selected_object": object_type,
            "selected_action": action,
        },
    )
