"""The request context: in which organization, with which role, a request is served.

One function, ``attach_context()``, sets ``request.organization``,
``request.membership`` and ``request.api_token``: the site's
``CurrentOrganizationMiddleware`` calls it with the membership chosen in the
session, the API's token authentication with the token's membership. Views are
annotated with ``OrgRequest`` (django-stubs' pattern for attributes a middleware
adds), so the type checker knows the attributes without ignores.
"""

from __future__ import annotations

from typing import cast

from django.contrib.auth.models import User
from django.http import HttpRequest

from regsecrets.accounts.models import ApiToken, Membership, Organization

# The organization chosen in the navigation, validated on every request.
SESSION_KEY = "organization_id"


class ContextRequest(HttpRequest):
    """Any request once the context is attached; signed-in people may have no organization."""

    organization: Organization | None
    membership: Membership | None
    api_token: ApiToken | None


class SignedInRequest(ContextRequest):
    """A request of a signed-in person (views behind ``login_required``)."""

    user: User


class OrgRequest(SignedInRequest):
    """A request served within an organization: views behind ``organization_required``
    and every /v1 handler (token authentication always yields a membership)."""

    organization: Organization
    membership: Membership


def signed_in_user(request: HttpRequest) -> User:
    """The user of a request only signed-in people reach (the admin's views, whose
    signatures Django fixes as HttpRequest): a type, not a check."""
    return cast(SignedInRequest, request).user


def attach_context(
    request: HttpRequest, membership: Membership | None, *, api_token: ApiToken | None = None
) -> None:
    """Attach ``membership`` (None: no organization) and its organization to ``request``."""
    context = cast(ContextRequest, request)
    context.membership = membership
    context.organization = membership.organization if membership is not None else None
    context.api_token = api_token


def current_membership(request: HttpRequest) -> Membership | None:
    """The signed-in user's membership in the organization chosen in the session."""
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("organization").filter(user=user)
    wanted = request.session.get(SESSION_KEY)
    if wanted is not None:
        membership = memberships.filter(organization_id=wanted).first()
        if membership is not None:
            return membership
    membership = memberships.order_by("created_at", "id").first()
    if membership is not None:
        request.session[SESSION_KEY] = membership.organization_id
    return membership
