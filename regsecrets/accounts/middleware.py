from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from regsecrets.accounts.scoping import current_membership


class CurrentOrganizationMiddleware:
    """Attach ``request.membership`` and ``request.organization``.

    One query per signed-in request. API requests authenticated by token set
    both themselves (regsecrets.api.auth); this covers session users, from the
    organization chosen in the navigation.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        request.organization = None  # type: ignore[attr-defined]
        if not request.path.startswith(("/static/", "/v1/", "/healthz")):
            membership = current_membership(request)
            request.membership = membership  # type: ignore[attr-defined]
            request.organization = membership.organization if membership else None  # type: ignore[attr-defined]
        return self.get_response(request)
