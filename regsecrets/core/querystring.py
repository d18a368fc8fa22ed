"""Refuse query parameters no lookup can use, with a 400, before any view reads them.

Query parameters reach database lookups on many paths the project does not write
itself: every admin changelist filter (``provider__exact``, ``key_id__exact``,
``action__exact``, ``organization__id__exact`` …), its search box and date
hierarchy, the admin autocomplete's ``term`` and forwarded fields, and every
page's own filters. Guarding each lookup would mean one guard per filter, and a
filter added tomorrow (or one a third-party admin such as django-axes registers)
would be unguarded; checking the request once covers them all. Two kinds of value
are refused:

- **NUL** in a parameter name or value. PostgreSQL cannot
  hold NUL in text, so a lookup with one fails in the driver (``ValueError`` /
  ``DataError``): a 500. Nothing is lost by refusing: no stored value holds a NUL,
  so such a parameter could only ever match nothing, and no page of ours builds one.
- **A date-hierarchy part** (``<field>__year``, ``__month``, ``__day``, the admin's
  own convention) longer than 4 characters. Django's ChangeList builds
  ``datetime(year, month, day)`` from them and catches ``ValueError`` but not the
  ``OverflowError`` of a number past a C long (Django 5.2), so
  ``?created_at__year=99999999999999999999`` is a 500 on every changelist with a
  date hierarchy. No year, month or day has more than 4 digits.

The answer is a plain 400 rather than a ``SuspiciousOperation``: Django logs those
with a traceback at ERROR, and a probe is not a fault to page anyone about. /v1
answers in the API's own error shape, naming the parameter.

Only the query string is checked. Ids in the path go through URL converters and
the scoping helper, which answer a malformed id (NUL included) with the same 404
as an unknown one, and that is kept. Form bodies keep reaching their
forms, which answer a NUL with a field-level error beside the other inputs
(Django's ``ProhibitNullCharactersValidator``; the API's JSON reader does the same
for its bodies with :func:`has_unstorable_text`), and that is the better answer
for a form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from regsecrets.core.middleware import is_api_request

logger = logging.getLogger("regsecrets.security")

UNSTORABLE = "Text cannot contain NUL characters or unpaired surrogates."
DATE_PART_SUFFIXES = ("__year", "__month", "__day")
DATE_PART_MAX = 4
DATE_PART_TOO_LONG = "A year, month or day has at most 4 digits."


def has_unstorable_text(text: str) -> bool:
    """True for text no database column can store: a NUL, or a lone surrogate.

    (Query strings are decoded with replacement characters, so of the two only
    NUL can occur in them; JSON bodies can carry both.)
    """
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def query_refusal(request: HttpRequest) -> tuple[str, str] | None:
    """(parameter name, reason) for the first unusable parameter, or None.

    A refusal is logged here, once, whichever face answers it.
    """
    refusal = _first_refusal(request)
    if refusal is not None:
        name, reason = refusal
        # The parameter's name only: its value is hostile, or may be a credential.
        logger.warning(
            "Refused query parameter %r of %s %r: %s",
            name[:100],
            request.method,
            request.path[:200],
            reason,
        )
        return name[:100], reason
    return None


def _first_refusal(request: HttpRequest) -> tuple[str, str] | None:
    for key, values in request.GET.lists():
        if has_unstorable_text(key):
            # Never echo a hostile name; a NUL in a name is reported without it.
            return "query", UNSTORABLE
        if any(has_unstorable_text(value) for value in values):
            return key, UNSTORABLE
        if key.endswith(DATE_PART_SUFFIXES) and any(len(v) > DATE_PART_MAX for v in values):
            return key, DATE_PART_TOO_LONG
    return None


class RefuseUnusableQueryMiddleware:
    """The site's answer: the 400 page. /v1 requests are answered in the API's own
    error shape by ``regsecrets.api.fallback.RefuseUnusableApiQueryMiddleware``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = None if is_api_request(request) else query_refusal(request)
        if refusal is None:
            return self.get_response(request)
        name, reason = refusal
        return render(
            request, "400.html", {"reason": f"The parameter “{name}”: {reason}"}, status=400
        )
