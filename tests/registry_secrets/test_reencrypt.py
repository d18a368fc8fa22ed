"""secret_reencrypt: reseal under the active key, lock first, audit, never an edit."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError

from regsecrets.audit.models import AuditEvent
from regsecrets.crypto import DecryptionError, get_keyring
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import (
    secret_fields,
    secret_reencrypt,
    secret_update,
    secret_update_prepare,
)
from tests.conftest import CANARY, TEST_KEY_A, TEST_KEY_B
from tests.registry_secrets.conftest import corrupt_ciphertext
from tests.registry_secrets.test_concurrent_edits import _run_together

ROTATED = f"test-b:{TEST_KEY_B},test-a:{TEST_KEY_A}"
ATTEMPTS = 25


@pytest.mark.django_db
def test_reencrypt_moves_the_document_to_the_active_key_and_audits(
    org, alice, make_secret, settings
):
    secret = make_secret(org, "old")
    before = Secret.objects.get(pk=secret.pk)
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED
    assert get_keyring().active_kid == "test-b"

    assert secret_reencrypt(secret=secret, actor=alice) is True

    stored = Secret.objects.get(pk=secret.pk)
    assert stored.key_id == "test-b"
    assert stored.document.startswith("v1:test-b:")
    assert secret_fields(stored)["password"] == CANARY
    # Rotation is not an edit.
    assert (stored.updated_at, stored.updated_by_id) == (before.updated_at, before.updated_by_id)
    event = AuditEvent.objects.get(action="secret.reencrypted")
    assert (event.actor, event.object_id) == (alice, str(secret.pk))
    assert event.details == {"from_kid": "test-a", "to_kid": "test-b"}
    assert CANARY not in str(event.details)


@pytest.mark.django_db
def test_reencrypt_of_a_secret_already_on_the_active_key_changes_nothing(org, make_secret):
    secret = make_secret(org, "current")
    token = Secret.objects.get(pk=secret.pk).document
    assert secret_reencrypt(secret=secret) is False
    assert Secret.objects.get(pk=secret.pk).document == token
    assert not AuditEvent.objects.filter(action="secret.reencrypted").exists()


@pytest.mark.django_db
def test_reencrypt_of_an_undecryptable_secret_raises_and_writes_nothing(org, make_secret, settings):
    secret = make_secret(org, "broken")
    corrupt_ciphertext(secret)
    damaged = Secret.objects.get(pk=secret.pk).document
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED
    with pytest.raises(DecryptionError) as caught:
        secret_reencrypt(secret=secret)
    assert CANARY not in str(caught.value)
    stored = Secret.objects.get(pk=secret.pk)
    assert (stored.document, stored.key_id) == (damaged, "test-a")
    assert not AuditEvent.objects.filter(action="secret.reencrypted").exists()


@pytest.mark.django_db
def test_reencrypt_of_a_deleted_secret_says_it_is_gone(org, make_secret):
    secret = make_secret(org, "gone")
    Secret.objects.filter(pk=secret.pk).delete()
    with pytest.raises(Secret.DoesNotExist):
        secret_reencrypt(secret=secret)


@pytest.mark.django_db(transaction=True)
def test_an_edit_prepared_outside_a_transaction_is_refused(org, make_secret):
    """The row lock would end at once; both databases refuse rather than race."""
    secret = make_secret(org, "unlocked")
    with pytest.raises(TransactionManagementError):
        secret_update_prepare(secret=secret, data={"username": "x"})
    with transaction.atomic():
        prepared = secret_update_prepare(secret=secret, data={"username": "x"})
    assert prepared.changed == ["username"]


@pytest.mark.django_db(transaction=True)
def test_reencrypt_racing_an_edit_loses_neither(org, alice, make_secret, settings):
    """Rotation and a password change at the same moment: the new password stays, on the new key."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks race only on PostgreSQL (SQLite serialises writers)")
    secrets = [make_secret(org, f"race-{i}") for i in range(ATTEMPTS)]
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED
    losses, failures = [], []
    for attempt, secret in enumerate(secrets):
        # Each side starts from its own copy, loaded before either writes.
        mine, theirs = Secret.objects.get(pk=secret.pk), Secret.objects.get(pk=secret.pk)
        password = f"pw-{attempt}"
        results = _run_together(
            lambda: secret_reencrypt(secret=mine, actor=alice),
            lambda: secret_update(secret=theirs, data={"password": password}, actor=alice),
        )
        failures.extend(r for r in results if isinstance(r, Exception))
        stored = Secret.objects.get(pk=secret.pk)
        if secret_fields(stored)["password"] != password or stored.key_id != "test-b":
            losses.append(attempt)
    assert failures == []
    assert losses == [], f"{len(losses)} of {ATTEMPTS} attempts lost an update"
