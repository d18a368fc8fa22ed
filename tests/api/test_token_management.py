"""Issuing and revoking tokens: the browser pages and the management command."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from regsecrets.accounts.models import ApiToken
from regsecrets.audit.models import AuditEvent

TOKEN_RE = re.compile(r"rst_[A-Za-z0-9_-]{43}")


def test_token_page_is_in_the_account_menu(alice_client):
    page = alice_client.get("/account/api-tokens/").content.decode()
    assert 'href="/account/api-tokens/"' in page
    assert "No API tokens yet" in page  # an empty state that says what to do


def test_token_page_needs_sign_in(client, db):
    response = client.get("/account/api-tokens/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_creating_a_token_shows_it_once(alice_client, alice, org, client):
    response = alice_client.post("/account/api-tokens/", {"name": "CI deploy", "organization": org.pk})
    assert response.status_code == 200
    page = response.content.decode()
    raw = TOKEN_RE.search(page).group(0)
    assert "will not be shown again" in page
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=alice)
    assert (token.name, token.organization) == ("CI deploy", org)
    assert raw not in alice_client.get("/account/api-tokens/").content.decode()
    assert client.get("/v1/secrets", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    event = AuditEvent.objects.get(action="token.created")
    assert raw not in str(event.details)
    assert event.details["prefix"] == raw[:12]


def test_list_shows_name_organization_created_and_last_used(alice_client, alice, org, issue_token, client):
    raw = issue_token(alice, org, "laptop")
    client.get("/v1/secrets", headers={"Authorization": f"Bearer {raw}"})
    page = alice_client.get("/account/api-tokens/").content.decode()
    assert "laptop" in page
    assert org.name in page
    assert raw[:12] in page
    assert "Never" not in page


def test_cannot_issue_a_token_for_an_organization_one_is_not_in(alice_client, other_org):
    response = alice_client.post("/account/api-tokens/", {"name": "x", "organization": other_org.pk})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_revoking_a_token_from_the_page(alice_client, alice, org, issue_token, client):
    raw = issue_token(alice, org)
    token = ApiToken.objects.get(user=alice)
    response = alice_client.post(f"/account/api-tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/v1/secrets", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert AuditEvent.objects.filter(action="token.revoked", object_id=str(token.pk)).count() == 1
    alice_client.post(f"/account/api-tokens/{token.pk}/revoke/")
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1


def test_cannot_revoke_someone_elses_token(alice_client, bob, other_org, issue_token):
    issue_token(bob, other_org)
    token = ApiToken.objects.get(user=bob)
    assert alice_client.post(f"/account/api-tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_needs_post(alice_client, alice, org, issue_token):
    issue_token(alice, org)
    token = ApiToken.objects.get(user=alice)
    assert alice_client.get(f"/account/api-tokens/{token.pk}/revoke/").status_code == 405


def test_issue_api_token_prints_the_token_last(alice, org, client):
    out = io.StringIO()
    call_command("issue_api_token", "alice", "--org", "acme", "--name", "deploy bot", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert TOKEN_RE.fullmatch(raw)
    assert ApiToken.objects.get(user=alice).name == "deploy bot"
    assert client.get("/v1/secrets", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    assert AuditEvent.objects.filter(action="token.created").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "--org", "acme"], "No user"),
        (["alice", "--org", "nowhere"], "No organization"),
        (["bob", "--org", "acme"], "not a member"),
    ],
)
def test_issue_api_token_refuses_bad_input(alice, bob, org, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("issue_api_token", *args, stdout=io.StringIO())
