"""Responses meant for one person are never kept by a browser or a shared cache."""

from __future__ import annotations

from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

API_PREFIX = "/v1/"


def is_api_request(request: HttpRequest) -> bool:
    path = request.path_info
    return path == API_PREFIX.rstrip("/") or path.startswith(API_PREFIX)


class NoStoreMiddleware:
    """``Cache-Control: no-store, private`` on signed-in pages and every API reply.

    A page listing secrets, the admin, or an API reply (errors included: a 404
    names what does not exist) must not stay in a shared browser's cache or a
    proxy. Anonymous pages and static files, which WhiteNoise answers before
    authentication runs, keep their own caching.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if _personal(request):
            add_never_cache_headers(response)
        return response


def _personal(request: HttpRequest) -> bool:
    if is_api_request(request) or getattr(request, "api_token", None) is not None:
        return True
    user = getattr(request, "user", None)
    if user is None:
        return False
    try:
        return bool(user.is_authenticated)
    except DatabaseError:
        # The session could not be read (database down): it may be someone's.
        return True
