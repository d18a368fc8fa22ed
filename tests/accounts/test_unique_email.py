"""One account per email address, compared case-insensitively, enforced by the database.

The concurrent sign-ups are in tests/security/test_races.py; here: the sequential
rule on every path, the index itself, and the migration that adds it.
"""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from regsecrets.accounts.models import Organization
from regsecrets.accounts.services import EMAIL_TAKEN, user_signup

migration = importlib.import_module("regsecrets.accounts.migrations.0002_user_email_unique_ci")

PASSWORD = "a-long-unusual-passphrase"
BEFORE = [("accounts", "0001_initial")]
AFTER = [("accounts", "0002_user_email_unique_ci")]


@pytest.mark.django_db
def test_sign_up_with_an_email_in_use_in_another_case_is_an_email_field_error(client, alice):
    response = client.post(
        reverse("signup"),
        {
            "username": "alias",
            "email": " ALICE@Example.COM ",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [EMAIL_TAKEN]
    assert 'value="alias"' in response.content.decode()
    assert not get_user_model().objects.filter(username="alias").exists()


@pytest.mark.django_db
def test_the_sign_up_service_refuses_a_taken_email_and_writes_nothing(alice):
    with pytest.raises(ValidationError) as refused:
        user_signup(username="alias", email="Alice@example.com", password=PASSWORD)
    assert refused.value.message_dict == {"email": [EMAIL_TAKEN]}
    assert not get_user_model().objects.filter(username="alias").exists()
    assert not Organization.objects.filter(slug="alias").exists()


@pytest.mark.django_db
def test_the_database_refuses_a_second_account_with_the_same_email_in_another_case(alice):
    users = get_user_model().objects
    with pytest.raises(IntegrityError), transaction.atomic():
        users.create_user(username="alias", email="ALICE@example.com", password=PASSWORD)
    assert users.filter(email__iexact="alice@example.com").count() == 1


@pytest.mark.django_db
def test_accounts_without_an_email_do_not_clash():
    # createsuperuser may leave the address empty; the index only covers real addresses.
    users = get_user_model().objects
    users.create_user(username="ops1", email="", password=PASSWORD)
    users.create_user(username="ops2", email="", password=PASSWORD)
    assert users.filter(email="").count() == 2


def test_duplicate_report_lists_each_shared_address_with_its_accounts_and_what_to_do():
    message = migration.duplicates_message(
        {"ann@example.com": ["ann", "Ann2"], "bo@example.com": ["bo", "bob", "bobby"]}
    )
    assert "2 address(es) are shared" in message
    assert "  ann@example.com: ann, Ann2\n" in message
    assert "  bo@example.com: bo, bob, bobby\n" in message
    assert "then run `manage.py migrate` again" in message
    assert "Nothing has been changed" in message


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def migrate_to_latest() -> None:
    """Leave the schema as every other test expects it: every app's last migration."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_migration_stops_with_the_list_of_existing_duplicates_then_applies_once_resolved():
    users = get_user_model().objects
    _migrate(BEFORE)
    try:
        users.create_user(username="ann", email="ann@example.com", password=PASSWORD)
        users.create_user(username="ann2", email="Ann@Example.com", password=PASSWORD)
        users.create_user(username="solo", email="solo@example.com", password=PASSWORD)
        users.create_user(username="ops1", email="", password=PASSWORD)
        users.create_user(username="ops2", email="", password=PASSWORD)

        with pytest.raises(migration.DuplicateEmails) as stopped:
            _migrate(AFTER)
        message = str(stopped.value)
        assert "1 address(es) are shared" in message
        assert "ann@example.com: ann, ann2" in message
        assert "solo@example.com" not in message
        # Nothing was changed: no index, so the duplicates can still be told apart and fixed.
        users.filter(username="ann2").update(email="ann.two@example.com")

        _migrate(AFTER)
        with pytest.raises(IntegrityError), transaction.atomic():
            users.create_user(username="ann3", email="ANN@example.com", password=PASSWORD)
    finally:
        migrate_to_latest()


@pytest.mark.django_db(transaction=True)
def test_migration_backwards_drops_the_index():
    users = get_user_model().objects
    try:
        _migrate(BEFORE)
        users.create_user(username="ann", email="ann@example.com", password=PASSWORD)
        users.create_user(username="ann2", email="ANN@example.com", password=PASSWORD)
        assert users.filter(email__iexact="ann@example.com").count() == 2
    finally:
        users.filter(username="ann2").delete()
        migrate_to_latest()
