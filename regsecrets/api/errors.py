"""Errors in Koyeb's shape: ``{status, code, message, fields: [{field, description}]}``.

Views raise :class:`ApiError`; the endpoint wrapper turns it (and the few Django and
crypto exceptions that can reach it) into a JSON reply, and ``api.middleware`` gives
every other /v1 error (unknown paths, server errors, an unavailable database) the
same shape. Messages are built from our
own words and field names, never from submitted values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.http import JsonResponse

# gRPC-style codes, as Koyeb spells them, plus DECRYPTION_FAILED and UNKNOWN_PROVIDER.
INVALID_ARGUMENT = "invalid_argument"
UNAUTHENTICATED = "unauthenticated"
PERMISSION_DENIED = "permission_denied"
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
ALREADY_EXISTS = "already_exists"
FAILED_PRECONDITION = "failed_precondition"
PAYLOAD_TOO_LARGE = "payload_too_large"
RESOURCE_EXHAUSTED = "resource_exhausted"
INTERNAL = "internal"
UNAVAILABLE = "unavailable"
DECRYPTION_FAILED = "DECRYPTION_FAILED"
# A secret stored for a provider the catalogue dropped: a state of the resource too.
UNKNOWN_PROVIDER = "UNKNOWN_PROVIDER"
# Every code a reply may carry (the OpenAPI document's enum).
CODES = (
    INVALID_ARGUMENT,
    UNAUTHENTICATED,
    PERMISSION_DENIED,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    ALREADY_EXISTS,
    FAILED_PRECONDITION,
    PAYLOAD_TOO_LARGE,
    RESOURCE_EXHAUSTED,
    INTERNAL,
    UNAVAILABLE,
    DECRYPTION_FAILED,
    UNKNOWN_PROVIDER,
)

# A stored ciphertext that cannot be opened is a state of the resource, not a fault
# of the request (422 would tell clients to change their input) nor a server crash
# (500): 409 says "this object, as it is now, cannot serve the request".
DECRYPTION_FAILED_STATUS = 409

FieldErrors = Iterable[tuple[str, str]]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: FieldErrors = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = list(fields)

    def response(self) -> JsonResponse:
        return error_response(self.status, self.code, self.message, self.fields)


def error_response(status: int, code: str, message: str, fields: FieldErrors = ()) -> JsonResponse:
    body = {
        "status": status,
        "code": code,
        "message": message,
        "fields": [{"field": f, "description": d} for f, d in fields],
    }
    return JsonResponse(body, status=status)


def validation_error(fields: FieldErrors, message: str = "Validation error") -> ApiError:
    return ApiError(400, INVALID_ARGUMENT, message, fields)


def field_error(field: str, description: str) -> ApiError:
    return validation_error([(field, description)])


def not_found(what: str = "object") -> ApiError:
    return ApiError(404, NOT_FOUND, f"No such {what}.")


def fields_from(
    message_dict: Mapping[str, Iterable[str]], mapping: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Flatten a ValidationError's message_dict into (Koyeb field path, message) pairs.

    ``mapping`` renames our field names to the request's paths; unmapped names are
    kept as they are.
    """
    return [
        (mapping.get(name, name), message)
        for name, messages in message_dict.items()
        for message in messages
    ]
