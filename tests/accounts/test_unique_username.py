"""One account per username regardless of case, enforced by the database.

The concurrent sign-ups are in tests/security/test_races.py.
"""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from regsecrets.accounts.models import Organization
from regsecrets.accounts.services import USERNAME_TAKEN, user_signup
from tests.accounts.test_unique_email import _migrate, migrate_to_latest

migration = importlib.import_module("regsecrets.accounts.migrations.0003_user_username_unique_ci")

PASSWORD = "a-long-unusual-passphrase"


@pytest.mark.django_db
def test_the_sign_up_service_refuses_a_username_in_use_in_another_case(alice):
    with pytest.raises(ValidationError) as refused:
        user_signup(username="ALICE", email="other@example.com", password=PASSWORD)
    assert refused.value.message_dict == {"username": [USERNAME_TAKEN]}
    assert not get_user_model().objects.filter(email="other@example.com").exists()
    assert not Organization.objects.filter(slug="alice-2").exists()


@pytest.mark.django_db
def test_the_sign_up_form_says_so_on_the_username_field(client, alice):
    response = client.post(
        reverse("signup"),
        {
            "username": "Alice",
            "email": "other@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["username"] == [USERNAME_TAKEN]
    assert 'value="other@example.com"' in response.content.decode()


@pytest.mark.django_db
def test_the_database_refuses_a_second_account_with_the_username_in_another_case(alice):
    users = get_user_model().objects
    with pytest.raises(IntegrityError), transaction.atomic():
        users.create_user(username="aLiCe", email="x@example.com", password=PASSWORD)
    assert users.filter(username__iexact="alice").count() == 1


def test_the_migration_reports_clashing_usernames_and_what_to_do():
    message = migration.duplicates_message({"bob": ["bob", "Bob"], "eve": ["eve", "EVE", "Eve"]})
    assert "2 username(s) are used by several accounts" in message
    assert "  bob, Bob\n" in message
    assert "  eve, EVE, Eve\n" in message
    assert "Nothing has been changed" in message


@pytest.mark.django_db(transaction=True)
def test_the_migration_stops_on_clashing_usernames_then_applies_once_renamed():
    users = get_user_model().objects
    _migrate([("accounts", "0002_user_email_unique_ci")])
    try:
        users.create_user(username="bob", email="bob@example.com", password=PASSWORD)
        users.create_user(username="Bob", email="bob2@example.com", password=PASSWORD)
        with pytest.raises(migration.DuplicateUsernames) as stopped:
            _migrate([("accounts", "0003_user_username_unique_ci")])
        assert "  bob, Bob\n" in str(stopped.value)
        users.filter(username="Bob").update(username="bob.two")
        _migrate([("accounts", "0003_user_username_unique_ci")])
        with pytest.raises(IntegrityError), transaction.atomic():
            users.create_user(username="BOB", email="bob3@example.com", password=PASSWORD)
    finally:
        migrate_to_latest()
