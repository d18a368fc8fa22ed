"""Stored bytes on SQLite and PostgreSQL: only tokens, bound to their rows."""

from __future__ import annotations

import base64

import pytest
from django.db import connection, transaction

from regsecrets.crypto import DecryptionError
from regsecrets.crypto.fields import open_document
from regsecrets.registry_secrets.models import Secret
from tests.conftest import CANARY
from tests.crypto.conftest import docker_config

pytestmark = pytest.mark.django_db

CANARY_FORMS = [
    CANARY.encode(),
    base64.b64encode(f"octocat:{CANARY}".encode()),
    base64.b64encode(CANARY.encode())[:16],
]


def _raw_documents() -> list[tuple[str, str]]:
    table = Secret._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT document, key_id FROM {connection.ops.quote_name(table)}")
        return list(cursor.fetchall())


def test_saved_secret_reloads_and_opens(make_secret):
    secret = make_secret()
    stored = Secret.objects.get(pk=secret.pk)
    assert stored.key_id == "test-a"
    assert open_document(stored, "document") == docker_config()


def test_raw_column_holds_only_tokens(make_secret):
    make_secret()
    make_secret(docker_config(username="someone"))
    rows = _raw_documents()
    assert len(rows) == 2
    for document, key_id in rows:
        assert document.startswith(f"v1:{key_id}:")
        for canary in CANARY_FORMS:
            assert canary.decode() not in document


@pytest.mark.django_db(transaction=True)
def test_database_bytes_hold_no_canary(make_secret):
    """Scan the storage itself, not what the ORM returns."""
    for n in range(3):
        make_secret(name=f"scan-marker-{n}")
    if connection.vendor == "sqlite":
        data = _sqlite_bytes()
    elif connection.vendor == "postgresql":
        data = _postgresql_heap_bytes()
    else:  # pragma: no cover
        pytest.skip(f"no byte scan for {connection.vendor}")
    # Control: the scan sees these rows' clear columns and tokens.
    assert b"scan-marker-2" in data
    assert b"v1:test-a:" in data
    for canary in CANARY_FORMS:
        assert canary not in data


def _sqlite_bytes() -> bytes:
    connection.ensure_connection()
    name = connection.settings_dict["NAME"]
    if connection.is_in_memory_db():
        # The test database lives in memory: serialize() is its exact file image.
        return connection.connection.serialize()
    data = b""
    for suffix in ("", "-wal", "-journal"):
        try:
            with open(f"{name}{suffix}", "rb") as handle:
                data += handle.read()
        except FileNotFoundError:
            pass
    return data


def _postgresql_heap_bytes() -> bytes:
    table = Secret._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            pytest.skip("reading relation files needs a superuser")
        cursor.execute("CHECKPOINT")  # write the pages out to the relation file
        cursor.execute("SELECT pg_relation_filepath(%s)", [table])
        (path,) = cursor.fetchone()
        cursor.execute("SELECT pg_read_binary_file(%s)", [path])
        heap = bytes(cursor.fetchone()[0])
        cursor.execute(f"SELECT t::text FROM {connection.ops.quote_name(table)} t")
        rows = "\n".join(row[0] for row in cursor.fetchall()).encode()
    return heap + rows


def test_ciphertext_moved_to_another_row_does_not_decrypt_and_lists_still_work(make_secret):
    source, target, bystander = make_secret(), make_secret(), make_secret()
    table = connection.ops.quote_name(Secret._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET document = %s WHERE id = %s",
            [source.document, Secret._meta.pk.get_db_prep_value(target.pk, connection)],
        )
    # Lists and metadata never decrypt: the damaged row does not break them.
    assert sorted(Secret.objects.values_list("name", flat=True)) == sorted(
        [source.name, target.name, bystander.name]
    )
    damaged = Secret.objects.get(pk=target.pk)
    with pytest.raises(DecryptionError) as excinfo:
        open_document(damaged, "document")
    assert excinfo.value.row_id == target.pk
    assert open_document(Secret.objects.get(pk=bystander.pk), "document") == docker_config()


def test_isnull_is_the_only_query_on_the_column(make_secret):
    make_secret()
    assert Secret.objects.filter(document__isnull=False).count() == 1
    assert not Secret.objects.filter(document__isnull=True).exists()


def test_saving_plaintext_is_refused(organization):
    secret = Secret(
        organization=organization, name="x", provider="github_registry", document=CANARY
    )
    with pytest.raises(ValueError, match="sealed tokens") as excinfo, transaction.atomic():
        secret.save()
    assert CANARY not in str(excinfo.value)
    assert not Secret.objects.exists()


def test_kid_column_follows_the_token_on_save(make_secret):
    secret = make_secret()
    secret.key_id = "wrong"
    secret.save()
    assert Secret.objects.get(pk=secret.pk).key_id == "test-a"
