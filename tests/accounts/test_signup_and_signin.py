from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from regsecrets.accounts.models import Membership, Role

pytestmark = pytest.mark.django_db


def test_signup_creates_user_personal_organization_and_signs_in(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="carol")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert membership.organization.slug == "carol"
    assert client.get(reverse("organization_detail")).status_code == 200


def test_signup_rejects_weak_password_with_field_error_and_keeps_username(client):
    response = client.post(
        reverse("signup"),
        {"username": "dave", "email": "dave@example.com", "password1": "123", "password2": "123"},
    )
    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    assert 'value="dave"' in response.content.decode()
    assert not get_user_model().objects.filter(username="dave").exists()


def test_signup_rejects_duplicate_username(client, alice):
    response = client.post(
        reverse("signup"),
        {
            "username": "alice",
            "email": "other@example.com",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    assert response.status_code == 200
    assert "username" in response.context["form"].errors


def test_signup_can_be_turned_off(client, settings):
    settings.REGSECRETS_SIGNUP_ENABLED = False
    response = client.get(reverse("signup"))
    assert response.status_code == 403
    assert b"Sign-up is closed" in response.content


def test_signin_with_correct_password_then_signout_by_post(client, alice, org):
    response = client.post(
        reverse("login"), {"username": "alice", "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert client.get(reverse("organization_detail")).status_code == 200
    assert client.get(reverse("logout")).status_code == 405  # sign-out is POST only
    assert client.post(reverse("logout")).status_code == 302
    response = client.get(reverse("organization_detail"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_signin_with_wrong_password_shows_error(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_password_change(alice_client, alice):
    response = alice_client.post(
        reverse("password_change"),
        {
            "old_password": "correct horse battery",
            "new_password1": "another-long-passphrase",
            "new_password2": "another-long-passphrase",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("another-long-passphrase")


def test_home_sends_anonymous_visitors_to_a_page_with_sign_up(client):
    response = client.get("/")
    assert response.status_code == 200
    assert reverse("signup").encode() in response.content
