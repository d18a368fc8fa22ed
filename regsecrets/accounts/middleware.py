from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from regsecrets.accounts.context import attach_context, current_membership

# Paths that never need an organization. The API attaches its own context after
# authenticating the token; the probes must answer without the session (a probe
# sent with a session cookie during a database outage would otherwise get a 500
# from reading it, where /readyz owes a 503).
_WITHOUT_ORGANIZATION = ("/static/", "/v1/", "/healthz", "/readyz")


class CurrentOrganizationMiddleware:
    """Attach the request context (``regsecrets.accounts.context``) for the site.

    One query per signed-in request, from the organization chosen in the navigation.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = None
        if not request.path.startswith(_WITHOUT_ORGANIZATION):
            membership = current_membership(request)
        attach_context(request, membership)
        return self.get_response(request)
