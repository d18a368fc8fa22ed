"""Bearer-token authentication and the wrapper every /v1 view goes through.

``endpoint(GET=handler, POST=handler)`` builds one view per URL: it refuses unknown
methods, authenticates the ``Authorization: Bearer rst_…`` header (never the
session cookie, so the API is CSRF-exempt by construction), slows down clients
that keep sending invalid tokens (never a valid one), sets ``request.user``,
``request.organization``, ``request.membership`` and ``request.api_token``, and
turns every expected error into Koyeb's error shape.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import connection
from django.db.models import Field, Model, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from regsecrets.accounts.context import OrgRequest, attach_context
from regsecrets.accounts.models import ApiToken, Membership, Organization
from regsecrets.accounts.tokens import MAX_TOKEN_LENGTH, TOKEN_PREFIX, token_digest
from regsecrets.api import errors
from regsecrets.core.clientip import client_ip
from regsecrets.crypto import DecryptionError
from regsecrets.registry_secrets import selectors
from regsecrets.registry_secrets.errors import InvalidInput, RateLimited, Undecryptable
from regsecrets.registry_secrets.models import SecretCount

logger = logging.getLogger(__name__)

Handler = Callable[..., HttpResponse]
H = TypeVar("H", bound=Handler)
M = TypeVar("M", bound=Model)

FAILURE_WINDOW_SECONDS = 15 * 60
# Where the token lookup leaves the organization's kept secret count, as .annotate()
# would, for the handlers marked with_secret_count.
KEPT_SECRET_COUNT = "kept_secret_count"
LAST_USED_RESOLUTION = timedelta(minutes=1)


# --- invalid-token limiting -----------------------------------------------------


def _failure_key(ip: str) -> str:
    return f"regsecrets:api-token-failures:{ip}"


def failure_count(ip: str) -> int:
    try:
        return int(cache.get(_failure_key(ip), 0))
    except (TypeError, ValueError):
        return 0


def record_failure(ip: str) -> None:
    """Count one invalid token from ``ip``; the window starts at the first failure."""
    key = _failure_key(ip)
    if cache.add(key, 1, timeout=FAILURE_WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=FAILURE_WINDOW_SECONDS)


def _client_key(request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


# --- authentication ---------------------------------------------------------------


def _bearer(request: HttpRequest) -> str | None:
    """The token of the Authorization header; "" when the header is not a Bearer token."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return value.strip()


def _column(field: Field) -> str:
    # Concrete fields always have a column; the stubs allow None for the others.
    if field.column is None:
        raise TypeError(f"{field} has no column")
    return field.column


def _select(model: type[Model], alias: str) -> tuple[list[Field], list[str]]:
    fields = list(model._meta.concrete_fields)
    qn = connection.ops.quote_name
    return fields, [f"{alias}.{qn(_column(f))}" for f in fields]


@functools.cache
def _lookup_sql(with_secret_count: bool) -> tuple[str, list[Field], list[Field], list[Field]]:
    """One query for token, user, organization and membership, built from the models.

    Authentication runs on every API request; composing this through the ORM
    (select_related plus a membership lookup) costs several times more Python than
    the database work, so it is written once by hand and its rows go through the
    same converters the ORM would apply. ``with_secret_count`` adds the
    organization's kept secret count (``SecretCount``, a primary-key read) as a last
    column, for the handlers that answer with it (``with_secret_count``).
    """
    user_model = get_user_model()
    qn = connection.ops.quote_name
    token_fields, token_cols = _select(ApiToken, "t")
    user_fields, user_cols = _select(user_model, "u")
    org_fields, org_cols = _select(Organization, "o")
    extra = [f"m.{qn('id')}", f"m.{qn('role')}"]
    if with_secret_count:
        kept = qn(_column(SecretCount._meta.get_field("secrets")))
        extra.append(
            f"(SELECT c.{kept} FROM {qn(SecretCount._meta.db_table)} c "  # noqa: S608
            f"WHERE c.{qn('organization_id')} = t.{qn('organization_id')})"
        )
    columns = ", ".join([*token_cols, *user_cols, *org_cols, *extra])
    user_pk = qn(_column(user_model._meta.pk))
    user_id, org_id = qn("user_id"), qn("organization_id")
    # Identifiers only, from the models' metadata and quoted; the digest is a parameter.
    sql = (
        f"SELECT {columns} FROM {qn(ApiToken._meta.db_table)} t "  # noqa: S608
        f"INNER JOIN {qn(user_model._meta.db_table)} u ON u.{user_pk} = t.{user_id} "
        f"INNER JOIN {qn(Organization._meta.db_table)} o ON o.{qn('id')} = t.{org_id} "
        f"INNER JOIN {qn(Membership._meta.db_table)} m "
        f"ON m.{user_id} = t.{user_id} AND m.{org_id} = t.{org_id} "
        f"WHERE t.{qn('digest')} = %s AND t.{qn('revoked_at')} IS NULL"
    )
    return sql, token_fields, user_fields, org_fields


def _instance(model: type[M], fields: list[Field], values: tuple[Any, ...]) -> M:
    converted = []
    for field, value in zip(fields, values, strict=True):
        column = field.get_col(model._meta.db_table)
        for converter in connection.ops.get_db_converters(column) + column.get_db_converters(
            connection
        ):
            value = converter(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def _lookup(raw: str, *, with_secret_count: bool = False) -> tuple[ApiToken, Membership] | None:
    """The active token of an active user who is still a member; None otherwise."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > MAX_TOKEN_LENGTH or not raw.isascii():
        return None
    sql, token_fields, user_fields, org_fields = _lookup_sql(with_secret_count)
    with connection.cursor() as cursor:
        cursor.execute(sql, [token_digest(raw)])
        row = cursor.fetchone()
    if row is None:
        return None
    a, b = len(token_fields), len(token_fields) + len(user_fields)
    c = b + len(org_fields)
    token = _instance(ApiToken, token_fields, row[:a])
    user = _instance(get_user_model(), user_fields, row[a:b])
    organization = _instance(Organization, org_fields, row[b:c])
    if not user.is_active:
        return None
    token.user, token.organization = user, organization
    if with_secret_count:
        # As .annotate() would: the count rides on the organization it belongs to.
        setattr(organization, KEPT_SECRET_COUNT, row[c + 2] or 0)
    member = Membership(pk=row[c], user=user, organization=organization, role=row[c + 1])
    member._state.adding = False
    member._state.db = connection.alias
    return token, member


def _touch(token: ApiToken) -> None:
    """Record use at most once a minute per token: no write on most requests."""
    now = timezone.now()
    cutoff = now - LAST_USED_RESOLUTION
    if token.last_used_at is not None and token.last_used_at > cutoff:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff)
    ).update(last_used_at=now)


def authenticate(request: HttpRequest, *, with_secret_count: bool = False) -> HttpResponse | None:
    """Set the request's user, organization, membership and token; or return the refusal.

    The token is checked first: a valid token is always served, so a client that
    trips the invalid-token limit (or shares an address with one that did) never
    locks out the holders of real tokens. Only invalid tokens are counted and
    refused, per client address (``regsecrets.core.clientip``).
    """
    raw = _bearer(request)
    if raw is None:
        return errors.error_response(
            401, errors.UNAUTHENTICATED, "Send an API token: Authorization: Bearer TOKEN."
        )
    # Malformed tokens are refused by _lookup without a query; a well-formed one
    # costs one indexed lookup by digest, the price of never refusing a valid token.
    found = _lookup(raw, with_secret_count=with_secret_count) if raw else None
    if found is None:
        return _refuse_invalid(request)
    token, membership = found
    request.user = token.user
    attach_context(request, membership, api_token=token)
    _touch(token)
    return None


def _refuse_invalid(request: HttpRequest) -> HttpResponse:
    ip = _client_key(request)
    limit = int(getattr(settings, "REGSECRETS_API_TOKEN_FAILURE_LIMIT", 20))
    if failure_count(ip) >= limit:
        response = errors.error_response(
            429,
            errors.RESOURCE_EXHAUSTED,
            "Too many requests with invalid API tokens from this address; try again later.",
        )
        response["Retry-After"] = str(FAILURE_WINDOW_SECONDS)
        return response
    record_failure(ip)
    return errors.error_response(
        401, errors.UNAUTHENTICATED, "The API token is invalid, revoked or no longer usable."
    )


def with_secret_count(handler: H) -> H:
    """Mark a handler that answers with the organization's number of secrets: the
    token lookup reads the kept count (``SecretCount``) in the same query, so the
    handler's first page costs no round trip more than the page itself."""
    handler.reads_secret_count = True  # type: ignore[attr-defined]  # read by endpoint()
    return handler


def secret_count(request: OrgRequest) -> int:
    """The organization's kept secret count: the one read with the token when the
    handler is marked ``with_secret_count``, else its own one-row read."""
    kept = getattr(request.organization, KEPT_SECRET_COUNT, None)
    if kept is not None:
        return int(kept)
    return selectors.secret_count(organization=request.organization)


def require_manager(request: OrgRequest) -> None:
    if not request.membership.can_manage:
        raise errors.ApiError(
            403,
            errors.PERMISSION_DENIED,
            "Only owners and admins of this organization can do that.",
        )


# --- the wrapper ------------------------------------------------------------------


def endpoint(**handlers: Handler) -> Callable[..., HttpResponse]:
    """One view for one URL, dispatching on the method to ``handlers``."""
    allowed = ", ".join(sorted(handlers))

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        handler = handlers.get(request.method or "")
        response: HttpResponse
        if handler is None:
            response = errors.error_response(
                405, errors.METHOD_NOT_ALLOWED, f"Use one of: {allowed}."
            )
            response["Allow"] = allowed
            return response
        refusal = authenticate(
            request, with_secret_count=getattr(handler, "reads_secret_count", False)
        )
        if refusal is not None:
            return refusal
        try:
            response = handler(request, **kwargs)
        except errors.ApiError as exc:
            response = exc.response()
        except Http404:
            response = errors.not_found().response()
        except PermissionDenied:
            response = errors.error_response(
                403, errors.PERMISSION_DENIED, "Your role does not allow that."
            )
        except RequestDataTooBig:
            response = _too_large()
        except InvalidInput as exc:
            response = errors.validation_error(errors.fields_from(exc.message_dict, {})).response()
        except RateLimited as exc:
            response = errors.error_response(429, errors.RESOURCE_EXHAUSTED, exc.message)
        except (DecryptionError, Undecryptable) as exc:
            # The message names the row and key id, never key material; log it for
            # the operator and tell the client what to do.
            error = exc if isinstance(exc, Undecryptable) else Undecryptable(exc)
            logger.error("API: %s", error.error)
            response = errors.error_response(
                errors.DECRYPTION_FAILED_STATUS, errors.DECRYPTION_FAILED, error.message
            )
        return response

    view.__name__ = "api_" + "_".join(h.__name__ for h in handlers.values())
    view.methods = tuple(sorted(handlers))  # type: ignore[attr-defined]  # for api.schema
    return view


def _too_large() -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return errors.error_response(
        413, errors.PAYLOAD_TOO_LARGE, f"The request body is larger than {limit} bytes."
    )

