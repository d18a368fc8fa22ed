"""The site's JSON endpoints answer the use cases' typed errors one way.

The forms' buttons ("Test credentials", "Verify image") post to small JSON views;
``json_endpoint`` turns what the use cases raise into the answers their scripts
read, as the API's endpoint wrapper does for /v1:

* InvalidInput: 400 ``{"errors": {field: [message, ...]}}``
* NotFound: 404, RateLimited: 429, Undecryptable: 409, each ``{"error": message}``
* the services' UnknownProvider (a secret whose provider left the catalogue cannot
  be edited, so neither can an edit be tested): 409 ``{"error": message}``
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from regsecrets.registry_secrets.errors import InvalidInput, NotFound, RateLimited, Undecryptable
from regsecrets.registry_secrets.services import UnknownProvider

__all__ = ["json_endpoint"]


def json_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except InvalidInput as exc:
            return JsonResponse({"errors": exc.message_dict}, status=400)
        except NotFound as exc:
            return JsonResponse({"error": exc.message}, status=404)
        except RateLimited as exc:
            return JsonResponse({"error": exc.message}, status=429)
        except Undecryptable as exc:
            return JsonResponse({"error": exc.message}, status=409)
        except UnknownProvider as exc:
            return JsonResponse({"error": str(exc)}, status=409)

    return wrapper
