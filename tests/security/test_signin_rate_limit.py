"""Sign-in is rate-limited per user and address (django-axes)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _fail(client, username="alice", n=1):
    response = None
    for _ in range(n):
        response = client.post(reverse("login"), {"username": username, "password": "wrong"})
    return response


def test_lockout_after_repeated_failures_with_clear_message(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    _fail(client, n=2)
    response = _fail(client)
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    # Even the right password is refused while locked out.
    response = client.post(
        reverse("login"), {"username": "alice", "password": "correct horse battery"}
    )
    assert response.status_code == 429


def test_lockout_is_per_user_and_address(client, alice, bob, settings):
    settings.AXES_FAILURE_LIMIT = 3
    _fail(client, "alice", n=3)
    response = client.post(
        reverse("login"), {"username": "bob", "password": "correct horse battery"}
    )
    assert response.status_code == 302


def test_operator_unlocks_with_axes_reset_username(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 2
    _fail(client, n=2)
    call_command("axes_reset_username", "alice")
    response = client.post(
        reverse("login"), {"username": "alice", "password": "correct horse battery"}
    )
    assert response.status_code == 302


def test_admin_sign_in_is_rate_limited_too(client, make_user, settings):
    make_user("operator", is_staff=True, is_superuser=True)
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        response = client.post(
            reverse("admin:login"), {"username": "operator", "password": "wrong"}
        )
    assert response.status_code == 429
