"""The service layer every face goes through: merge rules, repair, audit."""

from __future__ import annotations

import pytest

from regsecrets.audit.models import AuditEvent
from regsecrets.crypto import DecryptionError
from regsecrets.registry_secrets.services import secret_config, secret_fields, secret_update
from tests.conftest import CANARY
from tests.registry_secrets.conftest import corrupt_ciphertext

pytestmark = pytest.mark.django_db


def test_digital_ocean_username_defaults_to_token_but_is_not_displayed(org, make_secret):
    secret = make_secret(org, "do", "digital_ocean_registry", {"password": CANARY})
    assert secret.username == ""
    assert secret_config(secret)["auths"]["registry.digitalocean.com"]["username"] == CANARY


def test_replacing_digital_ocean_token_does_not_keep_old_token_as_username(org, make_secret):
    secret = make_secret(org, "do", "digital_ocean_registry", {"password": "dop_v1_old"})
    secret = secret_update(secret=secret, data={"password": "dop_v1_new"})
    entry = secret_config(secret)["auths"]["registry.digitalocean.com"]
    assert entry["username"] == "dop_v1_new"
    assert "dop_v1_old" not in str(secret_fields(secret))


def test_api_can_update_an_extra_field_the_form_does_not_show(org, make_secret):
    secret = make_secret(org, "do", "digital_ocean_registry", {"password": "dop_v1_tok"})
    secret = secret_update(secret=secret, data={"username": "robot"})
    assert secret.username == "robot"
    assert secret_fields(secret)["password"] == "dop_v1_tok"
    event = AuditEvent.objects.filter(action="secret.updated").latest("id")
    assert event.details["changed_fields"] == ["username"]
    assert "dop_v1_tok" not in str(event.details)


def test_damaged_secret_is_repaired_by_submitting_every_credential(org, make_secret):
    secret = make_secret(org, "priv")
    corrupt_ciphertext(secret)
    secret.refresh_from_db()
    with pytest.raises(DecryptionError):
        secret_update(secret=secret, data={"username": "deploy"})
    repaired = secret_update(
        secret=secret,
        data={"url": "registry.example.com", "username": "deploy", "password": "fresh-password"},
    )
    assert secret_fields(repaired)["password"] == "fresh-password"


def test_decryption_error_message_names_row_but_not_data(org, make_secret):
    secret = make_secret(org, "priv")
    corrupt_ciphertext(secret)
    secret.refresh_from_db()
    with pytest.raises(DecryptionError) as excinfo:
        secret_config(secret)
    message = str(excinfo.value)
    assert str(secret.pk) in message
    assert CANARY not in message


def test_decrypted_values_have_a_redacted_repr(org, make_secret):
    from regsecrets.registry_secrets.services import secret_config, secret_fields

    secret = make_secret(org, "priv")
    assert CANARY not in repr(secret_fields(secret))
    assert CANARY not in str(secret_config(secret))
    assert CANARY not in repr(secret_config(secret)["auths"])
    assert secret_fields(secret)["password"] == CANARY
