"""Writes and decrypting reads of registry secrets: the one path every face uses.

Web forms, the admin, the API and management commands hand the user's input to
these functions; the provider catalogue validates it, the crypto layer seals it,
and an audit event is written in the same transaction.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from regsecrets.accounts.models import Organization
from regsecrets.audit.services import audit_record
from regsecrets.core.names import validate_name
from regsecrets.crypto import DecryptionError
from regsecrets.crypto.fields import SecretDocument, open_document, reseal, seal_document
from regsecrets.registries import (
    Provider,
    ProviderResult,
    ProviderValidationError,
    credential_values,
    get_provider,
    index_host,
)
from regsecrets.registry_secrets.models import Secret, SecretCount, SecretHost

# What an edit form or API sends for "keep the stored value" of a credential field.
_EMPTY = (None, "", b"")


class _Keep(enum.Enum):
    KEEP = "keep"


# secret_update's "leave the expiry date as it is" (None clears it).
KEEP = _Keep.KEEP


class SecretInUse(Exception):
    """The secret is referenced by services and cannot be deleted."""

    def __init__(self, secret: Secret, services: list[Any]) -> None:
        self.secret = secret
        self.services = services
        names = ", ".join(str(s) for s in services)
        super().__init__(f"Secret {secret.name!r} is used by {len(services)} service(s): {names}.")


class UnknownProvider(Exception):
    """The secret was stored for a provider the catalogue no longer has.

    Its row and credentials are intact (lists, detail, reveal, verification and
    delete read the stored metadata and document), but there is no form or rule
    left to validate an edit with. Faces answer 409 with this message, which
    names the stored provider key and nothing else of the secret.
    """

    def __init__(self, secret: Secret) -> None:
        self.provider_key = secret.provider
        super().__init__(
            f"This secret was stored for the registry type “{secret.provider}”, which is "
            "no longer supported, so it cannot be edited. Its credentials are kept: "
            "create a new secret with a supported registry type, move the services "
            "to it, then delete this one."
        )


def stored_provider(secret: Secret) -> Provider:
    """The catalogue entry of a stored secret; raises UnknownProvider if it left."""
    try:
        return get_provider(secret.provider)
    except KeyError:
        raise UnknownProvider(secret) from None


def _validation_error(errors: dict[str, list[str]]) -> ValidationError:
    return ValidationError(
        {field: [ValidationError(m) for m in msgs] for field, msgs in errors.items()}
    )


def _check_name(organization: Organization, name: str, *, exclude_pk: Any = None) -> None:
    try:
        validate_name(name)
    except ValidationError as exc:
        raise ValidationError({"name": exc.error_list})
    clash = Secret.objects.filter(organization=organization, name=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        message = f"A secret named “{name}” already exists in this organization."
        raise ValidationError({"name": [ValidationError(message, code="unique")]})


@sensitive_variables("data", "result", "document")
def _validate(provider_key: str, data: Mapping[str, Any]):
    provider = get_provider(provider_key)
    try:
        return provider, provider.validate(data)
    except ProviderValidationError as exc:
        raise _validation_error(exc.errors)


@sensitive_variables("data")
def secret_input_validate(*, provider: str, data: Mapping[str, Any]) -> ProviderResult:
    """Validate provider input without saving: for "Test credentials" before saving.

    Raises ValidationError keyed by field, like ``secret_create``.
    """
    return _validate(provider, data)[1]


@sensitive_variables("result", "credentials")
def _display_username(provider_key: str, result: Any) -> str:
    """The username for the clear column, or "" when it is also a credential.

    Providers already leave such a username out (a DigitalOcean token used as the
    username, a config.json written by ``doctl registry docker-config``); this is the
    backstop for every provider, present and future, since the clear column is shown
    on lists, pages, the admin and the API.
    """
    username = result.username or ""
    if not username:
        return ""
    credentials = _credentials_of(provider_key, result.config, result.fields)
    return "" if username in credentials else username[:255]


@sensitive_variables("config", "fields", "credentials")
def _credentials_of(
    provider_key: str, config: Mapping[str, Any], fields: Mapping[str, Any]
) -> set[str]:
    """Every credential of a secret: its config document's and its provider's secret
    fields' (the one rule for "is this value a credential?")."""
    credentials = credential_values(config)
    try:
        secret_fields = get_provider(provider_key).secret_fields
    except KeyError:  # a stored document of a provider no longer offered
        secret_fields = ()
    credentials.update(
        value for name in secret_fields if isinstance(value := fields.get(name), str) and value
    )
    return credentials


def _index_hosts(secret: Secret, *, replace: bool) -> None:
    """Write the secret's host index rows (``SecretHost``) from ``secret.hosts``."""
    if replace:
        SecretHost.objects.filter(secret=secret).delete()
    wanted = {host for key in secret.hosts or [] if (host := index_host(key)) is not None}
    SecretHost.objects.bulk_create(
        [
            SecretHost(organization_id=secret.organization_id, secret=secret, host=host)
            for host in sorted(wanted)
        ]
    )


def _count(organization_id: Any, delta: int) -> None:
    """Add ``delta`` to the organization's secret count, in the caller's transaction.

    One statement, an upsert (PostgreSQL and SQLite both have ON CONFLICT), so the
    first secret of an organization needs no prior row and two concurrent writers
    serialise on the row instead of losing an update.
    """
    table = connection.ops.quote_name(SecretCount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (organization_id, secrets) VALUES (%s, %s) "  # noqa: S608
            "ON CONFLICT (organization_id) DO UPDATE "
            f"SET secrets = {table}.secrets + excluded.secrets",
            [organization_id, delta],
        )


def _locked_with_organization(secret: Secret) -> Secret:
    """``secret``'s row read under its lock (only its own row: FOR UPDATE OF), with
    its organization for the audit event; inside the caller's transaction."""
    return (
        Secret.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=secret.pk)
    )


def secret_scrub_username(*, secret: Secret, dry_run: bool = False) -> bool:
    """Clear the display username of a row stored before the rule of ``_display_username``
    when it is one of the row's own credentials; True when it is (or would be) cleared.

    Rows saved since then never hold one; older rows (a token typed as the username)
    may, and the clear column is shown on lists, pages, the admin and the API. Locks
    the row before reading it; audited, without the value. Raises DecryptionError
    (nothing written) or Secret.DoesNotExist when the row was deleted meanwhile.
    """
    with transaction.atomic():
        locked = _locked_with_organization(secret)
        if not locked.username:
            return False
        document = open_document(locked, "document")
        stored = _credentials_of(
            str(document.get("provider") or ""),
            document.get("config") or {},
            document.get("fields") or {},
        )
        if locked.username not in stored:
            return False
        if dry_run:
            return True
        locked.username = ""
        locked.save(update_fields=["username"])
        audit_record(
            action="secret.username_cleared",
            organization=locked.organization,
            obj=locked,
            details={"reason": "the username was one of the secret's credentials"},
        )
    secret.username = ""
    return True


def _apply(secret: Secret, provider_key: str, result: Any) -> None:
    secret.provider = provider_key
    secret.hosts = list(result.hosts)
    secret.username = _display_username(provider_key, result)
    seal_document(
        secret,
        "document",
        {"provider": provider_key, "fields": result.fields, "config": result.config},
    )


@dataclass(frozen=True)
class PreparedCreate:
    """A new secret judged and sealed, not yet saved: what ``secret_create_apply`` writes.

    Holds the sealed row only, never the plaintext input.
    """

    secret: Secret
    hosts: list[str]


@sensitive_variables("data", "result")
def secret_create_prepare(
    *,
    organization: Organization,
    name: str,
    provider: str,
    data: Mapping[str, Any],
    expires_at: datetime.date | None = None,
) -> PreparedCreate:
    """Validate the name and the provider input and seal the document, without saving.

    Raises ValidationError keyed by field (every field's errors at once). A face that
    shows its errors on a form before it saves (the admin) calls this from the form's
    validation and ``secret_create_apply`` to save; everyone else calls ``secret_create``.
    """
    name = (name or "").strip()
    errors: dict[str, list] = {}
    try:
        _check_name(organization, name)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        provider_obj, result = _validate(provider, data)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    secret = Secret(organization=organization, name=name, expires_at=expires_at)
    _apply(secret, provider_obj.key, result)
    return PreparedCreate(secret=secret, hosts=list(result.hosts))


def secret_create_apply(
    *, prepared: PreparedCreate, actor: User | None = None, request: HttpRequest | None = None
) -> Secret:
    """Save a prepared secret and audit it; a name taken meanwhile is a "name" ValidationError."""
    secret = prepared.secret
    secret.created_by = secret.updated_by = actor
    try:
        with transaction.atomic():
            secret.save(force_insert=True)
            _index_hosts(secret, replace=False)
            _count(secret.organization_id, 1)
            audit_record(
                action="secret.created",
                organization=secret.organization,
                actor=actor,
                obj=secret,
                request=request,
                details={"provider": secret.provider, "hosts": list(prepared.hosts)},
            )
    except IntegrityError:
        # Two requests raced for the same name; the unique constraint decided.
        raise ValidationError(
            {"name": [f"A secret named “{secret.name}” already exists in this organization."]}
        )
    return secret


@sensitive_variables("data")
def secret_create(
    *,
    organization: Organization,
    name: str,
    provider: str,
    data: Mapping[str, Any],
    actor: User | None = None,
    request: HttpRequest | None = None,
    expires_at: datetime.date | None = None,
) -> Secret:
    """Validate, seal and save a new secret; raises ValidationError keyed by field."""
    prepared = secret_create_prepare(
        organization=organization, name=name, provider=provider, data=data, expires_at=expires_at
    )
    return secret_create_apply(prepared=prepared, actor=actor, request=request)


def secret_fields(secret: Secret) -> dict[str, str]:
    """The stored provider input (decrypts; callers are reveal and edit-merge only)."""
    # Kept as the crypto layer's SecretDocument: its repr never shows values.
    return open_document(secret, "document").get("fields") or SecretDocument()


def secret_config(secret: Secret) -> dict[str, Any]:
    """The stored Docker config document (decrypts)."""
    return open_document(secret, "document").get("config") or SecretDocument()


@sensitive_variables("stored", "credentials", "value")
def secret_edit_initial(secret: Secret) -> dict[str, str]:
    """The non-secret provider inputs an edit form starts with (decrypts).

    Credentials are left out: edit forms start them empty, and empty keeps them.
    Raises DecryptionError when the stored document cannot be opened, and
    UnknownProvider when the secret's provider left the catalogue.
    """
    provider = stored_provider(secret)
    stored = secret_fields(secret)
    # A text input whose value is also a credential (a username typed the same as
    # the password) starts empty too: an edit page is a page a member can see.
    credentials = {
        stored[spec.name] for spec in provider.fields if spec.secret and stored.get(spec.name)
    }
    initial = {}
    for spec in provider.fields:
        if not spec.secret:
            value = stored.get(spec.name, "")
            initial[spec.name] = "" if value in credentials else value
    return initial


@sensitive_variables("data", "merged", "stored", "stored_secrets", "given", "value")
def merge_edit_input(
    *, provider: Any, stored: Mapping[str, Any], data: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Merge an edit form's input over the stored fields: (merged input, changed names).

    An empty credential field keeps the stored value; an emptied text field is
    cleared. Shared by ``secret_update`` and the edit form's "Test credentials",
    so both judge the same document.
    """
    secret_names = {f.name for f in provider.fields if f.secret}
    merged: dict[str, Any] = {}
    changed: list[str] = []
    for field in provider.fields:
        given = data.get(field.name)
        value = given
        if value in (None, "", b""):
            # Empty keeps a stored credential; an emptied text field is cleared.
            keep = field.secret or field.name not in data
            value = stored.get(field.name, "") if keep else ""
        merged[field.name] = value
        # Judge "changed" on what was given: a kept (empty) credential is not a change.
        if given not in (None, "", b"") and (
            field.secret or str(given).strip() != str(stored.get(field.name, "")).strip()
        ):
            changed.append(field.name)
    # Extra, non-form keys the provider stored (e.g. a DigitalOcean username) survive,
    # except those derived from a credential: DigitalOcean stores the token as the
    # username when none is given, and carrying that over would keep the old token
    # as the (clear, displayed) username after the token is replaced.
    stored_secrets = {stored[name] for name in secret_names if stored.get(name)}
    # Optional fields the forms do not show (the API sends them): given -> used,
    # absent -> kept, sent empty -> cleared.
    for field in getattr(provider, "extra_fields", ()):
        if field.name in data:
            given = data.get(field.name)
            merged[field.name] = "" if given in (None, b"") else given
            if str(given or "").strip() != str(stored.get(field.name, "")).strip():
                changed.append(field.name)
    for key, value in stored.items():
        if key not in merged and value not in stored_secrets:
            merged[key] = value
    return merged, changed


def _host_binding_message(spec: Any) -> str:
    return (
        f"The registry changed: enter the {spec.label.lower()} again; stored credentials "
        "are only sent to the registry they were saved for."
    )


@sensitive_variables("data")
def _check_host_binding(
    *, provider: Any, stored_hosts: Any, result: ProviderResult, data: Mapping[str, Any]
) -> None:
    """Refuse an edit that moves stored credentials to a registry they were not saved for.

    Stored credentials are only ever sent to the hosts they were stored for: an edit
    whose result names a host (an auths key) the secret did not have must carry every
    credential field again, or a member who may not reveal them could point the
    secret at a server they control and have "Test credentials" send them there.
    The error sits on each credential field left empty.
    """
    new_hosts = set(result.hosts) - set(stored_hosts or ())
    if not new_hosts:
        return
    missing = [spec for spec in provider.fields if spec.secret and data.get(spec.name) in _EMPTY]
    if missing:
        raise ValidationError(
            {
                spec.name: [ValidationError(_host_binding_message(spec), code="host_changed")]
                for spec in missing
            }
        )


@sensitive_variables("data", "merged", "stored", "result")
def secret_edit_validate(
    *, secret: Secret, data: Mapping[str, Any], allow_repair: bool = True
) -> tuple[ProviderResult, list[str]]:
    """Judge an edit of ``secret`` without saving: (provider result, changed field names).

    Decrypts the stored input, merges ``data`` over it (an empty credential keeps the
    stored one), validates with the provider, and holds the host binding (see
    ``_check_host_binding``). ``secret_update`` and the edit form's "Test credentials"
    both call this, so a test never sends what saving would refuse. Raises
    ValidationError keyed by field, or DecryptionError when the stored document
    cannot be opened and ``data`` does not replace all of it (or ``allow_repair``
    is false: a test of a damaged secret says that it is damaged).
    """
    provider = stored_provider(secret)
    try:
        stored = secret_fields(secret)
    except DecryptionError:
        # A damaged ciphertext can be repaired by submitting every required field
        # and credential afresh; anything less would need the unreadable values.
        required = [f.name for f in provider.fields if f.required or f.secret]
        if not allow_repair or not all(data.get(name) not in _EMPTY for name in required):
            raise
        stored = {}
    merged, changed = merge_edit_input(provider=provider, stored=stored, data=data)
    _, result = _validate(secret.provider, merged)
    _check_host_binding(provider=provider, stored_hosts=secret.hosts, result=result, data=data)
    return result, changed


@dataclass(frozen=True)
class PreparedUpdate:
    """An edit judged under the row lock and sealed, not yet saved (``secret_update_apply``).

    ``secret`` is the locked row carrying the new sealed document; ``changed`` names
    the inputs the edit changed. Never the plaintext input.
    """

    secret: Secret
    changed: list[str]


def _require_transaction(what: str) -> None:
    # The row lock lasts until the transaction ends; outside one it would end at
    # once (PostgreSQL refuses; SQLite would silently not hold it).
    if not transaction.get_connection().in_atomic_block:
        raise TransactionManagementError(f"{what} must run inside transaction.atomic().")


@sensitive_variables("data", "result")
def secret_update_prepare(
    *,
    secret: Secret,
    data: Mapping[str, Any],
    allow_repair: bool = True,
    expires_at: datetime.date | _Keep | None = KEEP,
) -> PreparedUpdate:
    """Lock the row, then judge the edit and seal the result, without saving.

    The row is locked before the stored document is read, so two concurrent edits
    (one setting the password, the other the username) each merge over the other's
    result instead of both merging over the same old document and one change being
    lost. Call inside ``transaction.atomic()`` and save with ``secret_update_apply``
    in the same transaction. Raises ValidationError keyed by field, DecryptionError
    (see ``secret_edit_validate``), or Http404 when the row was deleted meanwhile.
    ``expires_at`` (a date, or None to clear) is left as it is unless given.
    """
    _require_transaction("secret_update_prepare")
    locked = Secret.objects.select_for_update().filter(pk=secret.pk).first()
    if locked is None:  # deleted since the caller loaded it: as if never found
        raise Http404("No such secret.")
    result, changed = secret_edit_validate(secret=locked, data=data, allow_repair=allow_repair)
    _apply(locked, locked.provider, result)
    if not isinstance(expires_at, _Keep) and expires_at != locked.expires_at:
        locked.expires_at = expires_at
        # A new date is judged at once, not at the next scheduled check.
        locked.next_check_at = timezone.now()
        changed.append("expires_at")
    return PreparedUpdate(secret=locked, changed=sorted(set(changed)))


def secret_update_apply(
    *, prepared: PreparedUpdate, actor: User | None = None, request: HttpRequest | None = None
) -> Secret:
    """Save a prepared edit and audit it, in the transaction that prepared it."""
    _require_transaction("secret_update_apply")
    secret = prepared.secret
    secret_names = {f.name for f in stored_provider(secret).fields if f.secret}
    secret.updated_by = actor if getattr(actor, "is_authenticated", False) else None
    secret.save()
    _index_hosts(secret, replace=True)
    audit_record(
        action="secret.updated",
        organization=secret.organization,
        actor=actor,
        obj=secret,
        request=request,
        details={
            "changed_fields": prepared.changed,
            "secret_fields_replaced": sorted(set(prepared.changed) & secret_names),
        },
    )
    return secret


@sensitive_variables("data")
def secret_update(
    *,
    secret: Secret,
    data: Mapping[str, Any],
    actor: User | None = None,
    request: HttpRequest | None = None,
    expires_at: datetime.date | _Keep | None = KEEP,
) -> Secret:
    """Apply new provider input; an empty credential field keeps the stored value.

    Provider and name are fixed: services and the API refer to the name. Locks the
    row before reading it (see ``secret_update_prepare``). ``expires_at`` (a date,
    or None to clear) is left as it is unless given.
    """
    with transaction.atomic():
        prepared = secret_update_prepare(secret=secret, data=data, expires_at=expires_at)
        return secret_update_apply(prepared=prepared, actor=actor, request=request)


def secret_delete(
    *, secret: Secret, actor: User | None = None, request: HttpRequest | None = None
) -> None:
    """Delete the secret unless a service references it (refused with SecretInUse).

    Lock, then look: the row lock (taken before any service is read, the order
    deploy.services uses too) makes a service being created with this secret
    either commit first, and be found here, or wait and find the secret gone.
    """
    with transaction.atomic():
        if not Secret.objects.select_for_update().filter(pk=secret.pk).exists():
            return  # deleted by a concurrent request: what the caller wanted holds
        services = list(secret.services.select_related("app").order_by("app__name", "name"))
        if services:
            raise SecretInUse(secret, services)
        audit_record(
            action="secret.deleted",
            organization=secret.organization,
            actor=actor,
            obj=secret,
            request=request,
            details={"provider": secret.provider},
        )
        secret.delete()
        _count(secret.organization_id, -1)


def secret_reveal(
    *, secret: Secret, actor: User | None = None, request: HttpRequest | None = None
) -> dict[str, str]:
    """Decrypt the provider fields for an owner or admin, and audit it."""
    fields = secret_fields(secret)
    audit_record(
        action="secret.revealed",
        organization=secret.organization,
        actor=actor,
        obj=secret,
        request=request,
    )
    return fields


def secret_reencrypt(
    *, secret: Secret, actor: User | None = None, request: HttpRequest | None = None
) -> bool:
    """Seal the stored document again under the active key; False when it already uses it.

    Locks the row before reading its ciphertext, so a concurrent edit is neither
    overwritten by the older document nor lost. Rotation is not an edit:
    ``updated_at`` and ``updated_by`` stay as they were. Raises DecryptionError
    (nothing written) or Secret.DoesNotExist when the row was deleted meanwhile.
    """
    with transaction.atomic():
        locked = _locked_with_organization(secret)
        old_kid = locked.key_id
        if not reseal(locked, "document"):
            return False
        locked.save(update_fields=["document", "key_id"])
        audit_record(
            action="secret.reencrypted",
            organization=locked.organization,
            actor=actor,
            obj=locked,
            request=request,
            details={"from_kid": old_kid, "to_kid": locked.key_id},
        )
    return True
