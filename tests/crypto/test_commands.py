"""generate_encryption_key, encryption_status, rotate_encryption_keys; system checks."""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, models
from django.test.utils import CaptureQueriesContext, isolate_apps

from regsecrets.audit.models import AuditEvent
from regsecrets.crypto import parse_keyring, token_kid
from regsecrets.crypto.checks import check_encryption_keys
from regsecrets.crypto.fields import EncryptedTextField, open_document
from regsecrets.registry_secrets.models import Secret
from tests.conftest import CANARY, TEST_KEY_A
from tests.crypto.conftest import NEW_ONLY_RING, ROTATED_RING, docker_config


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def run_failing(*args: str) -> tuple[CommandError, str]:
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(*args, stdout=out, stderr=StringIO())
    return excinfo.value, out.getvalue()


def _kids() -> list[str]:
    return [
        token_kid(doc) for doc in Secret.objects.order_by("pk").values_list("document", flat=True)
    ]


def _damage(secret: Secret, other: Secret) -> None:
    """Copy another row's ciphertext in with raw SQL, as a bad restore would."""
    table = connection.ops.quote_name(Secret._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET document = %s WHERE id = %s",
            [other.document, Secret._meta.pk.get_db_prep_value(secret.pk, connection)],
        )


# --- generate_encryption_key -------------------------------------------------
def test_generate_encryption_key_prints_an_entry_the_ring_accepts():
    entry = run("generate_encryption_key", "--kid", "prod-2").strip()
    assert parse_keyring(entry).kids == ("prod-2",)
    assert parse_keyring(run("generate_encryption_key").strip()).active_kid


def test_generate_encryption_key_refuses_a_bad_kid():
    error, _ = run_failing("generate_encryption_key", "--kid", "a:b")
    assert "KID" in str(error)


# --- encryption_status -------------------------------------------------------
@pytest.mark.django_db
def test_status_counts_ciphertexts_per_kid(make_secret, settings):
    make_secret()
    make_secret()
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED_RING
    make_secret()
    out = run("encryption_status")
    assert "test-b (active): 1 ciphertexts, 0 undecryptable" in out
    assert "test-a: 2 ciphertexts, 0 undecryptable" in out
    assert "Every ciphertext decrypts." in out


@pytest.mark.django_db
def test_status_exits_1_and_names_the_undecryptable_row_without_data(make_secret):
    good, bad = make_secret(), make_secret()
    _damage(bad, good)
    error, out = run_failing("encryption_status")
    assert error.returncode == 1
    assert "test-a (active): 2 ciphertexts, 1 undecryptable" in out
    assert str(bad.pk) in out
    assert str(good.pk) not in out
    assert CANARY not in out
    assert good.document not in out


@pytest.mark.django_db
def test_status_says_when_an_old_key_can_be_removed(make_secret, settings):
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED_RING
    make_secret()
    out = run("encryption_status")
    assert "No ciphertext uses test-a: safe to remove" in out


@pytest.mark.django_db
def test_status_flags_ciphertexts_under_a_key_no_longer_in_the_ring(make_secret, settings):
    make_secret()
    settings.REGSECRETS_ENCRYPTION_KEYS = NEW_ONLY_RING
    error, out = run_failing("encryption_status")
    assert error.returncode == 1
    assert "test-a (not in the key ring): 1 ciphertexts, 1 undecryptable" in out


# --- rotate_encryption_keys --------------------------------------------------
@pytest.mark.django_db
def test_rotation_rewrites_everything_under_the_active_key_and_is_idempotent(make_secret, settings):
    documents = {
        make_secret(docker_config(username=f"user{n}")).pk: docker_config(username=f"user{n}")
        for n in range(7)
    }
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED_RING

    out = run("rotate_encryption_keys", "--batch-size", "3")
    assert "re-encrypted 7 under test-b (from test-a: 7), 0 failed" in out
    assert _kids() == ["test-b"] * 7
    assert set(Secret.objects.values_list("key_id", flat=True)) == {"test-b"}
    tokens = dict(Secret.objects.values_list("pk", "document"))

    out = run("rotate_encryption_keys", "--batch-size", "3")
    assert "re-encrypted 0 under test-b" in out
    assert dict(Secret.objects.values_list("pk", "document")) == tokens  # nothing rewritten

    events = AuditEvent.objects.filter(action="keys.rotated").order_by("id")
    assert [e.details["rotated"] for e in events] == [7, 0]
    assert events[0].details["from_kids"] == {"test-a": 7}
    assert events[0].organization is None

    # The old key can go: everything opens with the new key alone.
    settings.REGSECRETS_ENCRYPTION_KEYS = NEW_ONLY_RING
    for secret in Secret.objects.all():
        assert open_document(secret, "document") == documents[secret.pk]
    assert "Every ciphertext decrypts." in run("encryption_status")


@pytest.mark.django_db
def test_dry_run_counts_but_writes_nothing(make_secret, settings):
    make_secret()
    make_secret()
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED_RING
    out = run("rotate_encryption_keys", "--dry-run")
    assert "would re-encrypt 2 under test-b" in out
    assert _kids() == ["test-a", "test-a"]
    assert not AuditEvent.objects.filter(action="keys.rotated").exists()


@pytest.mark.django_db
def test_rotation_reads_in_keyset_batches(make_secret, settings):
    for _ in range(7):
        make_secret()
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED_RING
    with CaptureQueriesContext(connection) as queries:
        run("rotate_encryption_keys", "--batch-size", "3")
    table = Secret._meta.db_table
    selects = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and table in q["sql"]]
    # One COUNT for the progress line's total, then the batches.
    assert sum("COUNT(*)" in sql for sql in selects) == 1
    selects = [sql for sql in selects if "COUNT(*)" not in sql]
    assert len(selects) == 3  # 3 + 3 + 1 rows: never the whole table at once
    assert all("LIMIT 3" in sql for sql in selects)
    if connection.features.has_select_for_update:
        assert all("FOR UPDATE" in sql for sql in selects)


@pytest.mark.django_db
def test_rotation_leaves_an_undecryptable_row_and_exits_1(make_secret, settings):
    good, bad, other = make_secret(), make_secret(), make_secret()
    _damage(bad, good)
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED_RING
    error, out = run_failing("rotate_encryption_keys")
    assert error.returncode == 1
    assert "re-encrypted 2 under test-b" in out
    assert "1 failed" in out
    assert Secret.objects.get(pk=bad.pk).key_id == "test-a"
    event = AuditEvent.objects.get(action="keys.rotated")
    assert (event.details["rotated"], event.details["failed"]) == (2, 1)
    assert open_document(Secret.objects.get(pk=other.pk), "document") == docker_config()


class Interrupted(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_rotation_interrupted_midway_resumes_with_no_row_lost(make_secret, settings, monkeypatch):
    from regsecrets.crypto import rotation

    documents = {}
    for n in range(10):
        secret = make_secret(docker_config(username=f"user{n}"))
        documents[secret.pk] = docker_config(username=f"user{n}")
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED_RING

    real_reseal = rotation.reseal_token
    calls = {"n": 0}

    def crash_on_the_seventh_row(field, pk, token):
        calls["n"] += 1
        if calls["n"] == 7:  # in the middle of the third batch of three
            raise Interrupted
        return real_reseal(field, pk, token)

    monkeypatch.setattr(rotation, "reseal_token", crash_on_the_seventh_row)
    with pytest.raises(Interrupted):
        run("rotate_encryption_keys", "--batch-size", "3")
    kids = _kids()
    assert kids.count("test-b") == 6  # two committed batches; the third rolled back
    assert kids.count("test-a") == 4
    assert Secret.objects.count() == 10
    for secret in Secret.objects.all():  # every row opens mid-rotation
        assert open_document(secret, "document") == documents[secret.pk]

    monkeypatch.setattr(rotation, "reseal_token", real_reseal)
    out = run("rotate_encryption_keys", "--batch-size", "3")
    assert "re-encrypted 4 under test-b" in out
    settings.REGSECRETS_ENCRYPTION_KEYS = NEW_ONLY_RING
    assert Secret.objects.count() == 10
    for secret in Secret.objects.all():
        assert secret.key_id == "test-b"
        assert open_document(secret, "document") == documents[secret.pk]


# --- System checks -------------------------------------------------------------
def test_check_refuses_a_missing_key_without_debug(settings):
    settings.DEBUG = False
    settings.REGSECRETS_ENCRYPTION_KEYS = ""
    assert [e.id for e in check_encryption_keys()] == ["regsecrets.E001"]


def test_check_is_registered_so_startup_stops(settings):
    from django.core.checks import run_checks

    settings.DEBUG = False
    settings.REGSECRETS_ENCRYPTION_KEYS = ""
    assert "regsecrets.E001" in {e.id for e in run_checks(include_deployment_checks=False)}


def test_check_reports_a_malformed_dev_key_file(settings, tmp_path):
    settings.DEBUG = True
    settings.REGSECRETS_ENCRYPTION_KEYS = ""
    settings.REGSECRETS_DEV_KEY_FILE = tmp_path / "dev.keys"
    settings.REGSECRETS_DEV_KEY_FILE.write_text("dev:tooshort\n")
    (error,) = check_encryption_keys()
    assert error.id == "regsecrets.E002"
    assert "entry 1" in error.msg


def test_check_allows_a_missing_key_in_debug(settings):
    settings.DEBUG = True
    settings.REGSECRETS_ENCRYPTION_KEYS = ""
    assert check_encryption_keys() == []


def test_check_reports_a_malformed_ring_by_position(settings):
    settings.REGSECRETS_ENCRYPTION_KEYS = f"a:{TEST_KEY_A},a:{TEST_KEY_A}"
    (error,) = check_encryption_keys()
    assert error.id == "regsecrets.E002"
    assert "entry 2" in error.msg
    assert TEST_KEY_A not in error.msg + (error.hint or "")


def test_check_passes_a_valid_ring():
    assert check_encryption_keys() == []


@isolate_apps("regsecrets.crypto")
def test_field_checks_need_a_companion_column_and_an_early_primary_key():
    class Broken(models.Model):  # noqa: DJ008
        document = EncryptedTextField(kid_field="missing")

        class Meta:
            app_label = "crypto"

    class Fine(models.Model):  # noqa: DJ008
        id = models.UUIDField(primary_key=True, default=uuid.uuid4)
        document = EncryptedTextField()
        key_id = models.CharField(max_length=64)

        class Meta:
            app_label = "crypto"

    ids = {e.id for e in Broken._meta.get_field("document").check()}
    assert ids == {"regsecrets.E003", "regsecrets.E004"}
    assert Fine._meta.get_field("document").check() == []
