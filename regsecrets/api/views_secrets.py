"""/v1/secrets: registry secrets, Koyeb-compatible."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.views.decorators.debug import sensitive_variables

from regsecrets.accounts.context import OrgRequest
from regsecrets.accounts.scoping import get_scoped_or_404, scoped
from regsecrets.api import errors, parsing
from regsecrets.api.auth import endpoint, require_manager, secret_count, with_secret_count
from regsecrets.api.paging import list_reply
from regsecrets.api.representations import REGISTRY, secret_json
from regsecrets.registries import PROVIDERS, Provider, get_provider
from regsecrets.registry_secrets import services
from regsecrets.registry_secrets.models import Secret

PROVIDER_KEYS: tuple[str, ...] = tuple(p.key for p in PROVIDERS)
SECRET_TYPES = ("SIMPLE", "REGISTRY", "MANAGED")
UNSUPPORTED_TYPE = (
    "Only registry secrets (type REGISTRY) are supported; SIMPLE and MANAGED secrets are not."
)


def _provider_inputs(provider: Provider) -> dict[str, Any]:
    return {spec.name: spec for spec in (*provider.fields, *provider.extra_fields)}


@sensitive_variables("sub", "data")
def _provider_data(provider: Provider, sub: Mapping[str, Any]) -> dict[str, str]:
    """Check a provider sub-object's keys and JSON types; the provider checks values."""
    inputs = _provider_inputs(provider)
    problems = []
    data: dict[str, str] = {}
    for key, value in sub.items():
        if key not in inputs:
            problems.append((f"{provider.key}.{key}", "Unknown field for this registry."))
        elif value is not None and not isinstance(value, str):
            problems.append((f"{provider.key}.{key}", "Must be a string."))
        elif value is not None:
            data[key] = value
    if problems:
        raise errors.validation_error(problems)
    return data


def _raise_validation(exc: ValidationError, provider_key: str, *, name_taken: bool) -> None:
    message_dict = exc.message_dict
    mapping = {"__all__": provider_key}
    for name in message_dict:
        if name not in ("name", "__all__"):
            mapping[name] = f"{provider_key}.{name}"
    fields = errors.fields_from(message_dict, mapping)
    if name_taken and set(message_dict) == {"name"}:
        raise errors.ApiError(
            409, errors.ALREADY_EXISTS, "A secret with this name already exists.", fields
        )
    raise errors.validation_error(fields)


def _check_type(value: Any) -> None:
    if value is None or value == REGISTRY:
        return
    if value in ("SIMPLE", "MANAGED"):
        raise errors.field_error("type", UNSUPPORTED_TYPE)
    raise errors.field_error("type", "Unknown type; use REGISTRY.")


def _sdk_default_type(kind: Any, body: Mapping[str, Any], present: list[str]) -> bool:
    """koyeb-sdk's CreateSecret sends ``type: SIMPLE`` unless told otherwise: a body
    with exactly one registry object and no plain ``value`` is a registry secret."""
    return kind == "SIMPLE" and len(present) == 1 and body.get("value") is None


# --- list and create --------------------------------------------------------------


@with_secret_count
def secret_list(request: OrgRequest) -> JsonResponse:
    types = parsing.query_list(request, "types")
    unknown = [t for t in types if t not in SECRET_TYPES]
    if unknown:
        raise errors.field_error("types", f"Unknown type {unknown[0][:40]!r}; use REGISTRY.")
    secrets = scoped(Secret.objects.all(), request.organization).defer("document")
    if types and REGISTRY not in types:
        # Every secret here is a registry secret: SIMPLE or MANAGED alone match none.
        return list_reply(
            request, secrets.none(), key="secrets", serialize=secret_json, order_by=("name",)
        )
    # Names are unique in an organization: "name" alone is a total order, and the
    # (organization, name) unique index serves the keyset pages.
    return list_reply(
        request,
        secrets,
        key="secrets",
        serialize=secret_json,
        order_by=("name",),
        total=lambda: secret_count(request),
    )


@sensitive_variables("body", "sub", "data")
def secret_create(request: OrgRequest) -> JsonResponse:
    body = parsing.read_json(request)
    kind = parsing.text(body.get("type"), "type")
    parsing.text(body.get("value"), "value")  # a SIMPLE secret's; never stored here
    present = [key for key in PROVIDER_KEYS if body.get(key) is not None]
    if not _sdk_default_type(kind, body, present):
        _check_type(kind)
    name = parsing.text(body.get("name"), "name", required=True)
    if len(present) != 1:
        what = "none" if not present else ", ".join(present)
        raise errors.field_error(
            "type",
            f"Send exactly one registry object ({', '.join(PROVIDER_KEYS)}); got {what}.",
        )
    provider = get_provider(present[0])
    sub = parsing.obj(body[provider.key], provider.key) or {}
    data = _provider_data(provider, sub)
    try:
        secret = services.secret_create(
            organization=request.organization,
            name=name or "",
            provider=provider.key,
            data=data,
            actor=request.user,
            request=request,
            expires_at=parsing.date(body.get("expires_at"), "expires_at"),
        )
    except ValidationError as exc:
        taken = (
            scoped(Secret.objects.all(), request.organization)
            .filter(name=(name or "").strip())
            .exists()
        )
        _raise_validation(exc, provider.key, name_taken=taken)
    return JsonResponse({"secret": secret_json(secret)})


# --- one secret -------------------------------------------------------------------


def _stored_provider(secret: Secret) -> Provider:
    """The secret's provider; 409 (like DECRYPTION_FAILED) when the catalogue dropped it."""
    try:
        return services.stored_provider(secret)
    except services.UnknownProvider as exc:
        raise errors.ApiError(409, errors.UNKNOWN_PROVIDER, str(exc))


def _get(request: OrgRequest, secret_id: str, *, document: bool = False) -> Secret:
    secrets = Secret.objects.all() if document else Secret.objects.defer("document")
    return get_scoped_or_404(secrets, request.organization, pk=secret_id)


def secret_get(request: OrgRequest, secret_id: str) -> JsonResponse:
    return JsonResponse({"secret": secret_json(_get(request, secret_id))})


@sensitive_variables("body", "sub", "data", "given")
def _update_data(
    secret: Secret, body: dict[str, Any], mask: list[str] | None, *, partial: bool
) -> dict[str, str]:
    """What to hand to secret_update, following PUT / PATCH / update_mask semantics.

    Absent or empty credential fields keep the stored value (write-only fields are
    never required again); absent optional non-secret fields are cleared by PUT and
    by a mask naming them, kept by PATCH.
    """
    provider = _stored_provider(secret)
    for key in PROVIDER_KEYS:
        if key != secret.provider and body.get(key) is not None:
            raise errors.field_error(
                key, f"A secret's registry cannot be changed; this one is {secret.provider}."
            )
    kind = parsing.text(body.get("type"), "type")  # the SDK's default: checked when named
    if mask is not None and "type" in mask:
        _check_type(kind)
    name = parsing.text(body.get("name"), "name")
    if (mask is None or "name" in mask) and name is not None and name != secret.name:
        raise errors.field_error(
            "name", "A secret cannot be renamed: services refer to it by name."
        )
    raw_sub = parsing.obj(body.get(provider.key), provider.key)
    given = _provider_data(provider, raw_sub or {})
    inputs = list(_provider_inputs(provider))
    if mask is None:
        if partial:
            return given
        if raw_sub is None:
            raise errors.field_error(provider.key, f"Send the {provider.key} object to replace.")
        return {field: given.get(field, "") for field in inputs}
    data: dict[str, str] = {}
    for path in mask:
        if path in ("name", "type"):
            continue
        if path == provider.key:
            data.update({field: given.get(field, "") for field in inputs})
            continue
        head, _, field = path.partition(".")
        if head == provider.key and field in inputs:
            data[field] = given.get(field, "")
            continue
        raise errors.field_error("update_mask", f"Unknown path {path[:80]!r} for this secret.")
    return data


def _update(request: OrgRequest, secret_id: str, *, partial: bool) -> JsonResponse:
    secret = _get(request, secret_id, document=True)
    mask = parsing.update_mask(request)
    body = parsing.read_json(request)
    if mask is not None and "expires_at" in mask:
        mask = [path for path in mask if path != "expires_at"]
        expires_at: Any = parsing.date(body.get("expires_at"), "expires_at")
    elif "expires_at" in body:
        expires_at = parsing.date(body.get("expires_at"), "expires_at")
    else:
        expires_at = services.KEEP  # an extension the SDK never sends: absent keeps it
    data = _update_data(secret, body, mask, partial=partial)
    try:
        secret = services.secret_update(
            secret=secret, data=data, actor=request.user, request=request, expires_at=expires_at
        )
    except ValidationError as exc:
        _raise_validation(exc, secret.provider, name_taken=False)
    return JsonResponse({"secret": secret_json(secret)})


def secret_put(request: OrgRequest, secret_id: str) -> JsonResponse:
    return _update(request, secret_id, partial=False)


def secret_patch(request: OrgRequest, secret_id: str) -> JsonResponse:
    return _update(request, secret_id, partial=True)


def secret_delete(request: OrgRequest, secret_id: str) -> JsonResponse:
    secret = _get(request, secret_id)
    require_manager(request)
    try:
        services.secret_delete(secret=secret, actor=request.user, request=request)
    except services.SecretInUse as exc:
        raise errors.ApiError(409, errors.FAILED_PRECONDITION, str(exc))
    return JsonResponse({})


def secret_reveal(request: OrgRequest, secret_id: str) -> JsonResponse:
    secret = _get(request, secret_id, document=True)
    require_manager(request)
    parsing.read_json(request, allow_empty=True)
    value = services.secret_reveal(secret=secret, actor=request.user, request=request)
    return JsonResponse({"value": value})


secrets_collection = endpoint(GET=secret_list, POST=secret_create)
secret_detail = endpoint(GET=secret_get, PUT=secret_put, PATCH=secret_patch, DELETE=secret_delete)
secret_reveal_view = endpoint(POST=secret_reveal)
