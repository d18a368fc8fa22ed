"""The "Test credentials" and "Re-encrypt with the active key" actions."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from regsecrets.crypto import get_keyring
from regsecrets.registry_secrets.errors import undecryptable_operator_message
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_fields
from tests.admin.conftest import assert_no_secret
from tests.conftest import CANARY, TEST_KEY_A, TEST_KEY_B
from tests.registry_secrets.conftest import corrupt_ciphertext

pytestmark = pytest.mark.django_db

URL = "admin:registry_secrets_secret_changelist"
LOOPBACK = {"url": "127.0.0.1:5999", "username": "deploy", "password": CANARY}


def _run(admin, action: str, *secrets):
    response = admin.post(
        reverse(URL), {"action": action, "_selected_action": [s.pk for s in secrets]}, follow=True
    )
    assert response.status_code == 200
    assert_no_secret(response.content)
    return [str(m) for m in get_messages(response.wsgi_request)] or [
        str(m) for m in response.context["messages"]
    ]


def test_test_credentials_reports_a_code_per_secret_without_network(
    admin, org, make_secret, settings
):
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = False
    settings.REGSECRETS_VERIFY_TIMEOUT = 2.0
    local = make_secret(org, "local", data=LOOPBACK)
    messages = _run(admin, "test_credentials", local)
    assert len(messages) == 1
    assert "local" in messages[0]
    assert "FORBIDDEN_ADDRESS" in messages[0]
    event = AuditEvent.objects.get(action="secret.verified")
    assert event.object_id == str(local.pk)
    assert event.details == {
        "check": "credentials",
        "host": "127.0.0.1:5999",
        "success": False,
        "code": "FORBIDDEN_ADDRESS",
    }
    assert CANARY not in str(event.details)


def test_test_credentials_on_a_closed_loopback_port_is_a_registry_error(
    admin, org, make_secret, settings
):
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    settings.REGSECRETS_VERIFY_TIMEOUT = 2.0
    settings.REGSECRETS_INSECURE_REGISTRIES = frozenset({"127.0.0.1:9"})
    local = make_secret(org, "local", data={**LOOPBACK, "url": "127.0.0.1:9"})
    messages = _run(admin, "test_credentials", local)
    assert "REGISTRY_ERROR" in messages[0] or "TIMEOUT" in messages[0]


def test_an_undecryptable_secret_gets_its_own_error_and_the_others_are_tested(
    admin, org, make_secret
):
    broken, fine = (
        make_secret(org, "broken", data=LOOPBACK),
        make_secret(org, "fine", data=LOOPBACK),
    )
    corrupt_ciphertext(broken)
    messages = _run(admin, "test_credentials", broken, fine)
    assert len(messages) == 2
    assert any("broken" in m and "cannot be decrypted" in m for m in messages)
    # The site's and the API's words, named for the secret they concern.
    assert f"Secret “broken”: {undecryptable_operator_message(broken.key_id)}" in messages
    assert any("fine" in m and "FORBIDDEN_ADDRESS" in m for m in messages)
    assert list(
        AuditEvent.objects.filter(action="secret.verified").values_list("object_name", flat=True)
    ) == ["fine"]


def test_test_credentials_refuses_too_many_at_once(admin, org, make_secret):
    from regsecrets.registry_secrets.verification import MAX_SECRETS_PER_BATCH

    secrets = [
        make_secret(org, f"s{i:02d}", data=LOOPBACK) for i in range(MAX_SECRETS_PER_BATCH + 1)
    ]
    messages = _run(admin, "test_credentials", *secrets)
    assert messages == [f"Select at most {MAX_SECRETS_PER_BATCH} secrets to test at once."]


def test_reencrypt_moves_secrets_to_the_active_key(admin, org, make_secret, settings):
    old = make_secret(org, "old")
    settings.REGSECRETS_ENCRYPTION_KEYS = f"test-b:{TEST_KEY_B},test-a:{TEST_KEY_A}"
    assert get_keyring().active_kid == "test-b"
    new = make_secret(org, "new")
    updated_at = Secret.objects.get(pk=old.pk).updated_at

    messages = _run(admin, "reencrypt", old, new)

    assert messages == ["Re-encrypted 1 secret(s) with key “test-b”; 1 already used it."]
    old.refresh_from_db()
    assert old.key_id == "test-b"
    assert old.document.startswith("v1:test-b:")
    assert secret_fields(old)["password"] == CANARY
    assert old.updated_at == updated_at  # rotation is not an edit
    event = AuditEvent.objects.get(action="secret.reencrypted")
    assert event.details == {"from_kid": "test-a", "to_kid": "test-b"}


def test_reencrypt_reports_an_undecryptable_secret_and_carries_on(
    admin, org, make_secret, settings
):
    broken, fine = make_secret(org, "broken"), make_secret(org, "fine")
    corrupt_ciphertext(broken)
    settings.REGSECRETS_ENCRYPTION_KEYS = f"test-b:{TEST_KEY_B},test-a:{TEST_KEY_A}"
    messages = _run(admin, "reencrypt", broken, fine)
    assert any("broken" in m and "cannot be decrypted" in m and "test-a" in m for m in messages)
    assert (
        "Re-encrypted 1 secret(s) with key “test-b”; 0 already used it; 1 could not be decrypted."
        in messages
    )
    assert Secret.objects.get(pk=fine.pk).key_id == "test-b"
    assert Secret.objects.get(pk=broken.pk).key_id == "test-a"
