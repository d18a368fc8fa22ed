"""What each request leaves for operators: a request id, log context and metrics.

``RequestObservationMiddleware`` is the outermost middleware. It takes the
incoming ``X-Request-ID`` when it is a sane token (letters, digits and ``._:-``, at
most 128 characters; a proxy or load balancer usually sets one) and makes a new
one otherwise, echoes it in the response, keeps the request in a context variable
for the log records made while it runs (``core.logging.RequestContextFilter``)
and counts it in the request metrics by URL pattern, never by path.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from regsecrets.core import metrics
from regsecrets.core.logging import current_request

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED_ROUTE = "unmatched"

def request_id_from(header: str | None) -> str:
    """The incoming id if it is sane, else a new one (32 hex digits)."""
    if header and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def route_of(request: HttpRequest) -> str:
    """The URL pattern the request matched (``/secrets/<uuid:pk>/``), never its path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED_ROUTE
    return "/" + str(match.route)


class RequestObservationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        metrics.record_request(
            method=request.method or "",
            route=route_of(request),
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response
