"""Probes and metrics answer before Django checks the Host header.

A kubelet probe, Docker's HEALTHCHECK and a Prometheus scrape reach the app by
its address (``10.0.3.7:8000``, ``127.0.0.1:8000``), not by a name in
DJANGO_ALLOWED_HOSTS, so CommonMiddleware would answer them 400. They reveal
nothing host-specific and build no absolute URL, so this middleware, placed
before CommonMiddleware and SecurityMiddleware (no HTTPS redirect either: they
are plain HTTP from inside), resolves exactly these paths and calls their views.
Every other path goes on through the whole stack.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in PROBE_PATHS:
            return self.get_response(request)
        try:
            match = resolve(request.path_info)
        except Resolver404:  # a URLconf without the probes (a test's, a bench's)
            return self.get_response(request)
        request.resolver_match = match
        response: HttpResponse = match.func(request, *match.args, **match.kwargs)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response
