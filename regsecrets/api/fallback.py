"""Every /v1 reply speaks the API's JSON error shape, whichever layer failed.

``unknown_path`` answers the paths no route matched; ``ApiErrorMiddleware`` the rest.

The endpoint wrapper answers the errors a view expects. What it cannot see (an
unknown path, a failure in a middleware, a database that does not answer, a crash)
reaches Django's own handlers, which render HTML for browsers. This middleware sits
outermost and rewrites any non-JSON error reply under /v1 into the error shape,
with 503 when the failure was an unavailable database, so API clients can retry
instead of parsing a page. Django still logs the failure (and mails ``ADMINS``)
as for any other request; the cause is remembered from ``got_request_exception``,
which Django sends while it handles the exception.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from regsecrets.api import errors
from regsecrets.core.middleware import is_api_request
from regsecrets.core.querystring import query_refusal

# Connection refused, server gone, timeouts, "database is locked": the request
# was fine and may succeed later. Other database errors are bugs (500).
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)

_REPLIES: dict[int, tuple[str, str]] = {
    400: (errors.INVALID_ARGUMENT, "The request is malformed."),
    401: (errors.UNAUTHENTICATED, "Send an API token: Authorization: Bearer TOKEN."),
    403: (errors.PERMISSION_DENIED, "The request is not allowed."),
    404: (errors.NOT_FOUND, "No such API path."),
    405: (errors.METHOD_NOT_ALLOWED, "This method is not allowed on this path."),
    413: (errors.PAYLOAD_TOO_LARGE, "The request body is too large."),
    429: (errors.RESOURCE_EXHAUSTED, "Too many requests; try again later."),
    500: (errors.INTERNAL, "An internal error occurred; it has been logged."),
    503: (
        errors.UNAVAILABLE,
        "The service is temporarily unavailable (its database cannot be reached); "
        "try again later.",
    ),
}
# Headers of the original reply that still hold for the rewritten one.
_KEPT_HEADERS = ("Allow", "Retry-After")


@receiver(got_request_exception, dispatch_uid="regsecrets.api.remember_exception")
def _remember_exception(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    # Sent inside Django's except block, so sys.exc_info() is the exception.
    if request is not None and is_api_request(request):
        request._api_exception = sys.exc_info()[1]  # type: ignore[attr-defined]


class ApiErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not is_api_request(request)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        return api_error_for(request, response)


class RefuseUnusableApiQueryMiddleware:
    """/v1's answer to a query parameter no lookup can use (``core.querystring``):
    a 400 in the error shape, naming the parameter."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = query_refusal(request) if is_api_request(request) else None
        if refusal is None:
            return self.get_response(request)
        name, reason = refusal
        return errors.field_error(name, reason).response()


def api_error_for(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    status = response.status_code
    if isinstance(getattr(request, "_api_exception", None), UNAVAILABLE_ERRORS):
        status = 503
    code, message = _REPLIES.get(status) or _REPLIES[500 if status >= 500 else 400]
    reply = errors.error_response(status, code, message)
    for header in _KEPT_HEADERS:
        if header in response:
            reply[header] = response[header]
    if status == 503 and "Retry-After" not in reply:
        reply["Retry-After"] = "30"
    return reply


@csrf_exempt
def unknown_path(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """Any /v1 path no route matched, for every method (CSRF-exempt like the API)."""
    return errors.not_found("API path").response()
