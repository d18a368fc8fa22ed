"""The field layer without a database: binding, redaction, refused lookups."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from django.core.exceptions import FieldError
from django.db import models
from django.test.utils import isolate_apps
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from regsecrets.crypto import DecryptionError
from regsecrets.crypto.fields import (
    EncryptedTextField,
    SecretDocument,
    encrypted_fields,
    open_document,
    reseal,
    seal_document,
)
from regsecrets.registry_secrets.models import Secret
from tests.conftest import CANARY
from tests.crypto.conftest import NEW_ONLY_RING, ROTATED_RING, docker_config


def _secret(**fields) -> Secret:
    secret = Secret(name="ghcr", provider="github_registry", **fields)
    seal_document(secret, "document", docker_config())
    return secret


def test_round_trip_sets_token_and_kid_column():
    secret = _secret()
    assert secret.document.startswith("v1:test-a:")
    assert secret.key_id == "test-a"
    assert CANARY not in secret.document
    assert open_document(secret, "document") == docker_config()


def test_payload_is_canonical_json():
    secret = Secret(name="x")
    seal_document(secret, "document", {"b": 1, "a": [1, "é"]})
    from regsecrets.crypto.fields import associated_data, open_token

    field = Secret._meta.get_field("document")
    assert open_token(field, secret.pk, secret.document) == b'{"a":[1,"\\u00e9"],"b":1}'
    assert (
        associated_data(field, secret.pk)
        == f"registry_secrets.Secret\x1fdocument\x1f{secret.pk}".encode()
    )


def test_ciphertext_copied_to_another_row_does_not_decrypt(caplog):
    original, other = _secret(), _secret()
    other.document = original.document
    with (
        caplog.at_level(logging.WARNING, logger="regsecrets.crypto"),
        pytest.raises(DecryptionError) as excinfo,
    ):
        open_document(other, "document")
    error = excinfo.value
    assert (error.model, error.row_id, error.kid) == ("registry_secrets.Secret", other.pk, "test-a")
    assert str(other.pk) in str(error)
    assert "registry_secrets.Secret" in str(error)
    assert "test-a" in str(error)
    # Logged once with model, id and KID; never data.
    assert str(other.pk) in caplog.text
    assert CANARY not in caplog.text
    assert original.document not in caplog.text
    assert CANARY not in str(error)


@isolate_apps("regsecrets.crypto")
def test_ciphertext_copied_to_another_field_or_model_does_not_decrypt():
    class TwoSecrets(models.Model):  # noqa: DJ008
        id = models.UUIDField(primary_key=True, default=uuid.uuid4)
        first = EncryptedTextField(kid_field="first_kid")
        first_kid = models.CharField(max_length=64)
        second = EncryptedTextField(kid_field="second_kid")
        second_kid = models.CharField(max_length=64)

        class Meta:
            app_label = "crypto"

    class Lookalike(models.Model):  # noqa: DJ008
        id = models.UUIDField(primary_key=True, default=uuid.uuid4)
        document = EncryptedTextField()
        key_id = models.CharField(max_length=64)

        class Meta:
            app_label = "crypto"

    row = TwoSecrets()
    seal_document(row, "first", {"password": CANARY})
    assert open_document(row, "first") == {"password": CANARY}
    row.second = row.first
    with pytest.raises(DecryptionError, match=r"TwoSecrets\.second"):
        open_document(row, "second")

    secret = _secret()
    lookalike = Lookalike(id=secret.pk, document=secret.document)  # same pk, same field name
    with pytest.raises(DecryptionError):
        open_document(lookalike, "document")


def test_unknown_kid_fails_with_a_typed_error(settings):
    secret = _secret()
    settings.REGSECRETS_ENCRYPTION_KEYS = NEW_ONLY_RING
    with pytest.raises(DecryptionError) as excinfo:
        open_document(secret, "document")
    assert excinfo.value.kid == "test-a"
    assert "not in the key ring" in str(excinfo.value)


def test_there_is_no_plaintext_fallback():
    secret = Secret(name="x", document=json.dumps(docker_config()))
    with pytest.raises(DecryptionError) as excinfo:
        open_document(secret, "document")
    assert CANARY not in str(excinfo.value)


def test_empty_column_is_a_decryption_error_not_an_empty_document():
    with pytest.raises(DecryptionError, match="no ciphertext"):
        open_document(Secret(name="x"), "document")


def test_decrypted_documents_have_redacted_repr_and_str_all_the_way_down():
    document = open_document(_secret(), "document")
    assert isinstance(document, SecretDocument)
    assert isinstance(document["auths"]["ghcr.io"], SecretDocument)
    for rendering in (repr(document), str(document), f"{document}", repr([document["auths"]])):
        assert CANARY not in rendering
        assert "redacted" in rendering
    assert json.loads(json.dumps(document)) == docker_config()


def test_reseal_moves_to_the_active_key_only_when_needed(settings):
    secret = _secret()
    assert reseal(secret, "document") is False
    before = secret.document
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED_RING
    assert reseal(secret, "document") is True
    assert secret.document != before
    assert secret.key_id == "test-b"
    assert reseal(secret, "document") is False
    assert open_document(secret, "document") == docker_config()


def test_sealing_needs_a_primary_key():
    secret = Secret(name="x")
    secret.pk = None
    with pytest.raises(ValueError, match="primary key"):
        seal_document(secret, "document", {})


def test_plaintext_is_refused_at_save_time():
    field = Secret._meta.get_field("document")
    with pytest.raises(ValueError, match="only stores sealed tokens") as excinfo:
        field.get_prep_value(CANARY)
    assert CANARY not in str(excinfo.value)
    assert field.get_prep_value("") == ""
    token = _secret().document
    assert field.get_prep_value(token) == token


@pytest.mark.parametrize(
    "lookup",
    [
        {"document": "x"},
        {"document__icontains": CANARY},
        {"document__in": ["a"]},
        {"document__startswith": "v1"},
        {"document__lower": "x"},
    ],
)
def test_only_isnull_lookups_exist_on_the_encrypted_column(lookup):
    with pytest.raises(FieldError, match="only the 'isnull' lookup") as excinfo:
        Secret.objects.filter(**lookup)
    assert CANARY not in str(excinfo.value)


def test_isnull_lookup_builds():
    assert "IS NULL" in str(Secret.objects.filter(document__isnull=True).query)


def test_deconstruct_carries_nothing_but_the_companion_column():
    assert EncryptedTextField().deconstruct()[3] == {}
    assert EncryptedTextField(kid_field="kid").deconstruct()[3] == {"kid_field": "kid"}
    assert EncryptedTextField(null=True).deconstruct()[3] == {"null": True}


def test_encrypted_fields_finds_the_secret_document():
    assert (Secret, Secret._meta.get_field("document")) in encrypted_fields()


# --- Property tests --------------------------------------------------------
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=25,
)
json_documents = st.dictionaries(st.text(), json_values, max_size=6)


@hsettings(max_examples=150, deadline=None)
@given(document=json_documents)
def test_property_any_json_document_round_trips(document):
    secret = Secret(name="x")
    seal_document(secret, "document", document)
    assert open_document(secret, "document") == document


@hsettings(max_examples=100, deadline=None)
@given(document=json_documents, text=st.text(min_size=1))
def test_property_unicode_and_surrogates_survive(document, text):
    document = {**document, "lone": "\ud800" + text, text: "\U0001f512"}
    secret = Secret(name="x")
    seal_document(secret, "document", document)
    assert open_document(secret, "document") == document
