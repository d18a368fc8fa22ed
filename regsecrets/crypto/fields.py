"""The encrypted model field and the only functions that seal and open it.

The field stores a token and never decrypts on load: querysets, lists and
matching read ciphertext as opaque text, so one damaged row cannot break a
page. Decryption happens only in ``open_document``, called by the few places
that need the credential, and fails loudly for that one row.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, FieldError
from django.db import models
from django.db.models.fields import NOT_PROVIDED

from regsecrets.crypto.aead import is_token, seal, token_kid, unseal
from regsecrets.crypto.errors import DecryptionError
from regsecrets.crypto.keyring import get_keyring

logger = logging.getLogger("regsecrets.crypto")

REDACTED = "<redacted>"


class SecretDocument(dict[str, Any]):
    """A decrypted document whose repr and str never show its contents.

    Tracebacks, debug pages, ``logger.debug("%s", doc)`` and template
    ``{{ doc }}`` all go through repr/str; item access still works for the
    code that needs the values. Nested objects are SecretDocuments too.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"SecretDocument({REDACTED})"

    __str__ = __repr__


def canonical_json(document: dict[str, Any]) -> bytes:
    """One byte string per document: sorted keys, no spaces, ASCII escapes.

    ASCII escapes keep every JSON string representable, lone surrogates
    included, which UTF-8 would refuse; NaN and infinities are not JSON.
    """
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


if TYPE_CHECKING:
    # The stubs' TextField is generic (value set, value read); Django's is not.
    _TextField = models.TextField[str | None, str | None]
else:
    _TextField = models.TextField


class EncryptedTextField(_TextField):
    """Stores an AES-256-GCM token ``v1:KID:BASE64``; never plaintext.

    ``kid_field`` names a clear companion column holding the token's KID, so
    that status and rotation can count and select by key with an index. Only
    ``isnull`` lookups exist: tokens are randomized, so comparing them with a
    value could only ever give wrong answers.
    """

    description = "Encrypted text (AES-256-GCM token)"

    def __init__(self, *args: Any, kid_field: str | None = "key_id", **kwargs: Any) -> None:
        self.kid_field = kid_field
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        if self.kid_field != "key_id":
            kwargs["kid_field"] = self.kid_field
        if kwargs.get("editable") is False:
            del kwargs["editable"]
        return name, path, args, kwargs

    # --- Queries ------------------------------------------------------------
    def _lookup_refused(self, lookup_name: str) -> FieldError:
        return FieldError(
            f"{_field_label(self)} is encrypted: only the 'isnull' lookup is supported, "
            f"not {lookup_name!r}. Ciphertexts are randomized and never equal a value; "
            "filter on the clear metadata columns instead."
        )

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        raise self._lookup_refused(lookup_name)

    def get_transform(self, lookup_name: str) -> Any:
        raise self._lookup_refused(lookup_name)

    # --- Saving -------------------------------------------------------------
    def _refuse_plaintext(self, value: Any) -> None:
        if value and not is_token(value):
            # The last line of defence against storing a credential in clear.
            raise ValueError(
                f"{_field_label(self)} only stores sealed tokens; use seal_document()."
            )

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        self._refuse_plaintext(value)
        return value

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = super().pre_save(model_instance, add)
        self._refuse_plaintext(value)
        if value and self.kid_field:
            # Keep the clear KID column truthful whoever assigned the token.
            kid = token_kid(value)
            if getattr(model_instance, self.kid_field) != kid:
                setattr(model_instance, self.kid_field, kid)
        return value

    # --- System checks --------------------------------------------------------
    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        model = getattr(self, "model", None)
        if model is None or model._meta.abstract:
            return errors
        if self.kid_field:
            try:
                companion = model._meta.get_field(self.kid_field)
            except FieldDoesNotExist:
                companion = None
            if not isinstance(companion, models.CharField):
                errors.append(
                    checks.Error(
                        f"kid_field {self.kid_field!r} is not a CharField of {model._meta.label}.",
                        hint="Add `key_id = models.CharField(max_length=64, db_index=True, "
                        "editable=False)` or pass kid_field=None.",
                        obj=self,
                        id="regsecrets.E003",
                    )
                )
        if model._meta.pk.default is NOT_PROVIDED:
            errors.append(
                checks.Error(
                    f"{model._meta.label} needs a primary key assigned before the first save "
                    "(e.g. UUIDField(default=uuid.uuid4)).",
                    hint="Ciphertexts are bound to their row's primary key when they are sealed.",
                    obj=self,
                    id="regsecrets.E004",
                )
            )
        return errors


def _field_label(field: models.Field[Any, Any]) -> str:
    model = getattr(field, "model", None)
    return f"{model._meta.label}.{field.name}" if model is not None else str(field.name)


def _encrypted_field(instance: models.Model, field_name: str) -> EncryptedTextField:
    field = instance._meta.get_field(field_name)
    if not isinstance(field, EncryptedTextField):
        raise TypeError(f"{instance._meta.label}.{field_name} is not an EncryptedTextField")
    return field


def associated_data(field: EncryptedTextField, pk: Any) -> bytes:
    """Bind a token to model, field and row: a copy elsewhere does not open.

    The field's model (not the instance's) is used so that proxies and
    multi-table children read the same rows as their concrete model.
    """
    if pk is None:
        raise ValueError(
            f"{_field_label(field)}: assign the primary key before sealing or opening; "
            "the ciphertext is bound to it."
        )
    pk = field.model._meta.pk.to_python(pk)
    return f"{field.model._meta.label}\x1f{field.name}\x1f{pk}".encode()


def _failure(
    instance: models.Model, field: EncryptedTextField, exc: DecryptionError
) -> DecryptionError:
    """Place a low-level failure at its row and log it: model, id, KID, never data."""
    kid = exc.kid
    if kid is None:
        # The token may be fine and its payload not (kid unknown to unseal's
        # caller), or the token may be unreadable: fall back to the clear column.
        token = getattr(instance, field.attname)
        try:
            kid = token_kid(token)
        except DecryptionError:
            kid = (getattr(instance, field.kid_field, None) if field.kid_field else None) or None
    error = DecryptionError(
        model=field.model._meta.label,
        row_id=instance.pk,
        kid=kid,
        field=field.name,
        reason=exc.reason,
    )
    logger.warning(
        "Cannot decrypt %s.%s of row %s (key id %s): %s",
        error.model,
        error.field,
        error.row_id,
        error.kid,
        error.reason,
    )
    return error


def seal_document(instance: models.Model, field_name: str, document: dict[str, Any]) -> None:
    """Seal ``document`` as canonical JSON into the field and its KID column."""
    if not isinstance(document, dict):
        raise TypeError("seal_document() takes a dict (a JSON object)")
    field = _encrypted_field(instance, field_name)
    token = seal(canonical_json(document), aad=associated_data(field, instance.pk))
    setattr(instance, field.attname, token)
    if field.kid_field:
        setattr(instance, field.kid_field, token_kid(token))


def open_token(field: EncryptedTextField, pk: Any, token: Any) -> bytes:
    """Decrypt a raw token of ``field`` at row ``pk`` (no logging; for commands)."""
    if not token:
        raise DecryptionError(kid=None, reason="no ciphertext stored")
    return unseal(token, aad=associated_data(field, pk))


def _parse_document(plaintext: bytes) -> SecretDocument:
    try:
        document = json.loads(plaintext, object_hook=SecretDocument)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError; both carry the data
        raise DecryptionError(reason="payload is not a JSON document") from None
    if not isinstance(document, SecretDocument):
        raise DecryptionError(reason="payload is not a JSON object")
    return document


def open_document(instance: models.Model, field_name: str) -> SecretDocument:
    """Decrypt the field; DecryptionError (logged with model, id, KID) on failure."""
    field = _encrypted_field(instance, field_name)
    token = getattr(instance, field.attname)
    try:
        plaintext = open_token(field, instance.pk, token)
        document = _parse_document(plaintext)
    except DecryptionError as exc:
        raise _failure(instance, field, exc) from None
    return document


def reseal_token(field: EncryptedTextField, pk: Any, token: str) -> str:
    """Re-encrypt a raw token of ``field`` at row ``pk`` under the active key.

    The plaintext bytes are carried over as they are (no JSON round trip), so
    rotation never rewrites a document's meaning. Raises DecryptionError
    (unlogged: the callers place and log it).
    """
    aad = associated_data(field, pk)
    return seal(unseal(token, aad=aad), aad=aad)


def reseal(instance: models.Model, field_name: str) -> bool:
    """Re-encrypt under the active key if needed; True when the instance changed.

    For one row (an admin action, a repair); the caller saves. Bulk rotation
    uses ``reseal_token`` on raw rows instead.
    """
    field = _encrypted_field(instance, field_name)
    token = getattr(instance, field.attname)
    if not token:
        return False
    active = get_keyring().active_kid
    changed = False
    try:
        kid = token_kid(token)
        if kid != active:
            setattr(instance, field.attname, reseal_token(field, instance.pk, token))
            kid = active
            changed = True
    except DecryptionError as exc:
        raise _failure(instance, field, exc) from None
    if field.kid_field and getattr(instance, field.kid_field) != kid:
        setattr(instance, field.kid_field, kid)
        changed = True
    return changed


def encrypted_fields() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every (concrete model, field) pair in the project, each column once."""
    found: list[tuple[type[models.Model], EncryptedTextField]] = []
    for model in apps.get_models():
        if model._meta.proxy:
            continue
        for field in model._meta.local_concrete_fields:
            if isinstance(field, EncryptedTextField):
                found.append((model, field))
    return found
