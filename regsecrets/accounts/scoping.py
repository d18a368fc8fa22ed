"""The one place that scopes objects to the current organization.

Every view that serves a user goes through ``scoped()`` or ``get_scoped_or_404()``.
Another organization's object is a 404, never a 403: we do not confirm it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect

from regsecrets.accounts.context import ContextRequest, OrgRequest
from regsecrets.accounts.models import Organization

M = TypeVar("M", bound=Model)


def scoped(
    queryset: QuerySet[M], organization: Organization, *, via: str = "organization"
) -> QuerySet[M]:
    """Limit ``queryset`` to ``organization`` (``via`` is the lookup path to it)."""
    return queryset.filter(**{via: organization})


def get_scoped_or_404(
    queryset: QuerySet[M], organization: Organization, *, via: str = "organization", **lookup: Any
) -> M:
    try:
        obj = scoped(queryset, organization, via=via).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError, ValidationError) as exc:
        # A malformed id (not a UUID, not an integer) is just "not found".
        raise Http404("No such object in this organization.") from exc
    if via == "organization":
        # Scoped by it, so it is this organization: spare callers a query for it.
        obj.organization = organization  # type: ignore[attr-defined]
    return obj


def organization_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in plus a current organization; people without one are sent to create one.

    The view then receives an ``OrgRequest``: organization and membership are set.
    """

    @login_required
    @wraps(view)
    def wrapper(request: ContextRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.organization is None:
            return redirect("organization_create")
        return view(request, *args, **kwargs)

    return wrapper


def require_manager(request: OrgRequest) -> None:
    """Owners and admins only; members get a 403 for actions on their own organization."""
    if not request.membership.can_manage:
        raise PermissionDenied("Only owners and admins of this organization can do that.")
