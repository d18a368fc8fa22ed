"""Reading requests defensively: every malformed input becomes a 400, never a 500."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from django.http import HttpRequest

from regsecrets.api import errors
from regsecrets.core.querystring import has_unstorable_text as _unstorable
from regsecrets.registries import has_control_characters

MAX_QUERY_TEXT = 256


def read_json(request: HttpRequest, *, allow_empty: bool = False) -> dict[str, Any]:
    """The request body as a JSON object (``{}`` for an empty body when allowed)."""
    body = request.body  # RequestDataTooBig above DATA_UPLOAD_MAX_MEMORY_SIZE
    if not body.strip():
        if allow_empty:
            return {}
        raise errors.validation_error([], "Send a JSON object as the request body.")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError
        raise errors.validation_error([], "The request body is not valid JSON.")
    if not isinstance(data, dict):
        raise errors.validation_error([], "The request body must be a JSON object.")
    try:
        bad = _bad_string_path(data, "")
    except RecursionError:
        raise errors.validation_error([], "The request body is nested too deeply.")
    if bad is not None:
        raise errors.field_error(
            bad or "body", "Text cannot contain NUL characters or unpaired surrogates."
        )
    return data


def _bad_string_path(value: Any, path: str) -> str | None:
    """The path of the first string no database can store (NUL, lone surrogate)."""
    if isinstance(value, str):
        return path if _unstorable(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _unstorable(key):
                return path
            found = _bad_string_path(item, f"{path}.{key}" if path else key)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _bad_string_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def text(value: Any, path: str, *, required: bool = False) -> str | None:
    """A JSON string (or null/absent); refuse other JSON types by field path."""
    if value is None:
        if required:
            raise errors.field_error(path, "This field is required.")
        return None
    if not isinstance(value, str):
        raise errors.field_error(path, "Must be a string.")
    if required and not value.strip():
        raise errors.field_error(path, "This field is required.")
    return value


def date(value: Any, path: str) -> datetime.date | None:
    """A "YYYY-MM-DD" string (an RFC 3339 timestamp's date part is accepted), or null."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise errors.field_error(path, "Must be a date such as 2027-03-31.")
    try:
        return datetime.date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise errors.field_error(path, "Must be a date such as 2027-03-31.")


def obj(value: Any, path: str) -> dict[str, Any] | None:
    """A JSON object (or null/absent)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise errors.field_error(path, "Must be a JSON object.")
    return value


def query_text(request: HttpRequest, name: str) -> str:
    value = request.GET.get(name, "")
    if len(value) > MAX_QUERY_TEXT or has_control_characters(value):
        raise errors.field_error(
            name, f"Use at most {MAX_QUERY_TEXT} characters, without control characters."
        )
    return value


def query_list(request: HttpRequest, name: str) -> list[str]:
    """A repeated parameter (``types=A&types=B``); comma-separated values are split too.

    An empty value (``types=``, ``types=A,``) names nothing and is refused.
    """
    values: list[str] = []
    for item in request.GET.getlist(name):
        if len(item) > MAX_QUERY_TEXT or has_control_characters(item):
            raise errors.field_error(name, "Unexpected characters in a value.")
        parts = [part.strip() for part in item.split(",")]
        if not all(parts):
            raise errors.field_error(name, "Empty value.")
        values.extend(parts)
    return values


def query_int(request: HttpRequest, name: str, *, default: int, maximum: int) -> int:
    """Koyeb sends limit and offset as strings; accept only plain non-negative integers
    (an empty value is the default)."""
    raw = request.GET.get(name, "")
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise errors.field_error(name, "Must be a non-negative integer.")
    value = int(raw)
    if value > maximum:
        raise errors.field_error(name, f"Must be at most {maximum}.")
    return value


def query_uuids(request: HttpRequest, name: str) -> list[uuid.UUID]:
    ids = []
    for item in query_list(request, name):
        try:
            ids.append(uuid.UUID(item))
        except ValueError:
            raise errors.field_error(name, "Must be an id returned by this API.")
    return ids


def update_mask(request: HttpRequest) -> list[str] | None:
    """The ``update_mask`` parameter's paths (comma-separated), or None when absent or
    empty (as grpc-gateway, which serves Koyeb's API, takes an empty mask)."""
    raw = request.GET.get("update_mask")
    if raw is None:
        return None
    if len(raw) > 1000 or has_control_characters(raw):
        raise errors.field_error("update_mask", "Unexpected characters.")
    return [path.strip() for path in raw.split(",") if path.strip()] or None


def query_choices(request: HttpRequest, name: str, choices: tuple[str, ...]) -> list[str]:
    """A repeated enum parameter; an unknown value is a 400, as Koyeb answers it."""
    values = query_list(request, name)
    for value in values:
        if value not in choices:
            raise errors.field_error(
                name, f"Unknown value {value[:40]!r}; use one of {', '.join(choices)}."
            )
    return values


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return None
