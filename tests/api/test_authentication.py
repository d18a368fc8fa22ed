"""Bearer tokens: who may call the API, the invalid-token limit, last use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from regsecrets.accounts.models import ApiToken, Membership
from regsecrets.accounts.tokens import token_digest, token_revoke
from regsecrets.audit.models import AuditEvent


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_missing_token_is_401_in_koyeb_shape(make_api, db):
    response = make_api().get("/v1/secrets")
    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "code": "unauthenticated",
        "message": "Send an API token: Authorization: Bearer TOKEN.",
        "fields": [],
    }


@pytest.mark.parametrize(
    "header",
    ["Bearer rst_" + "a" * 43, "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-ours", "Bearer rst_" + "é" * 10, "Bearer rst_" + "a" * 500],
)
def test_invalid_tokens_are_401(client, db, header):
    response = client.get("/v1/secrets", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_token_is_stored_as_a_digest_only(api, alice):
    token = ApiToken.objects.get(user=alice)
    assert token.digest == token_digest(api.token)
    assert api.token.startswith("rst_")
    assert len(api.token) == 47
    assert token.prefix == api.token[:12]
    assert api.token not in str(ApiToken.objects.filter(user=alice).values())


def test_valid_token_acts_for_its_organization_only(api, make_secret, other_org):
    make_secret("mine")
    make_secret("theirs", organization=other_org)
    names = [s["name"] for s in api.get("/v1/secrets").json()["secrets"]]
    assert names == ["mine"]


def test_revoked_token_is_refused(api, alice):
    token_revoke(token=ApiToken.objects.get(user=alice), actor=alice)
    assert api.get("/v1/secrets").status_code == 401


def test_token_stops_working_when_the_membership_is_removed(member_api, member, org):
    assert member_api.get("/v1/secrets").status_code == 200
    Membership.objects.filter(user=member, organization=org).delete()
    assert member_api.get("/v1/secrets").status_code == 401


def test_token_of_a_deactivated_user_is_refused(api, alice):
    alice.is_active = False
    alice.save()
    assert api.get("/v1/secrets").status_code == 401


def test_the_role_follows_the_membership(member_api, member, org, make_secret):
    secret = make_secret()
    assert member_api.post(f"/v1/secrets/{secret.pk}/reveal", {}).status_code == 403
    Membership.objects.filter(user=member, organization=org).update(role="admin")
    assert member_api.post(f"/v1/secrets/{secret.pk}/reveal", {}).status_code == 200


def test_session_cookie_does_not_authenticate_the_api(alice_client):
    response = alice_client.get("/v1/secrets")
    assert response.status_code == 401


def test_api_needs_no_csrf_token(api, settings):
    from django.test import Client

    api.client = Client(enforce_csrf_checks=True)
    response = api.post("/v1/apps", {"name": "web"})
    assert response.status_code == 200


def _bad(client, *, forwarded: str | None = None, remote: str = "127.0.0.1"):
    headers = {"Authorization": "Bearer rst_wrong-token-x"}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    return client.get("/v1/secrets", headers=headers, REMOTE_ADDR=remote)


def test_repeated_invalid_tokens_from_one_address_get_429(client, db, settings):
    settings.REGSECRETS_API_TOKEN_FAILURE_LIMIT = 3
    for _ in range(3):
        assert _bad(client).status_code == 401
    refused = _bad(client)
    assert refused.status_code == 429
    assert refused.json()["code"] == "resource_exhausted"
    assert refused["Retry-After"] == "900"
    # Other addresses are not affected.
    assert _bad(client, remote="198.51.100.7").status_code == 401


def test_a_valid_token_is_served_after_its_address_tripped_the_limit(client, api, settings):
    settings.REGSECRETS_API_TOKEN_FAILURE_LIMIT = 3
    for _ in range(4):
        _bad(client)
    assert _bad(client).status_code == 429
    # Same address, valid token: served, and the limit still holds for invalid ones.
    assert api.get("/v1/secrets").status_code == 200
    assert api.post("/v1/apps", {"name": "web"}).status_code == 200
    assert _bad(client).status_code == 429


PROXY = "10.0.0.2"  # the one trusted proxy every request below comes through


def test_behind_a_proxy_one_clients_invalid_tokens_do_not_lock_out_another(
    client, make_api, alice, org, settings
):
    settings.REGSECRETS_PROXY_COUNT = 1
    settings.REGSECRETS_API_TOKEN_FAILURE_LIMIT = 3
    for _ in range(3):
        assert _bad(client, forwarded="203.0.113.5", remote=PROXY).status_code == 401
    assert _bad(client, forwarded="203.0.113.5", remote=PROXY).status_code == 429
    # Another client behind the same proxy: its own invalid token is merely invalid,
    # and its valid token is served.
    assert _bad(client, forwarded="198.51.100.7", remote=PROXY).status_code == 401
    api = make_api(alice, org)
    served = api.get("/v1/secrets", headers={"X-Forwarded-For": "198.51.100.7"}, REMOTE_ADDR=PROXY)
    assert served.status_code == 200
    # So is the locked-out client's own valid token.
    served = api.get("/v1/secrets", headers={"X-Forwarded-For": "203.0.113.5"}, REMOTE_ADDR=PROXY)
    assert served.status_code == 200


def test_behind_a_proxy_a_forged_forwarded_entry_does_not_escape_the_limit(client, db, settings):
    settings.REGSECRETS_PROXY_COUNT = 1
    settings.REGSECRETS_API_TOKEN_FAILURE_LIMIT = 3
    # The client writes whatever it likes first; the proxy appends what it saw.
    for n in range(3):
        assert _bad(client, forwarded=f"192.0.2.{n}, 203.0.113.5", remote=PROXY).status_code == 401
    assert _bad(client, forwarded="192.0.2.99, 203.0.113.5", remote=PROXY).status_code == 429


def test_without_a_proxy_count_x_forwarded_for_is_ignored(client, db, settings):
    settings.REGSECRETS_PROXY_COUNT = 0
    settings.REGSECRETS_API_TOKEN_FAILURE_LIMIT = 3
    for n in range(3):
        assert _bad(client, forwarded=f"192.0.2.{n}").status_code == 401
    assert _bad(client, forwarded="192.0.2.99").status_code == 429


def test_audit_events_record_the_forwarded_client_address_behind_a_proxy(api, settings):
    settings.REGSECRETS_PROXY_COUNT = 1
    response = api.post(
        "/v1/apps", {"name": "web"}, headers={"X-Forwarded-For": "203.0.113.9"}, REMOTE_ADDR=PROXY
    )
    assert response.status_code == 200
    assert AuditEvent.objects.get(action="app.created").ip_address == "203.0.113.9"


def test_missing_tokens_do_not_count_as_failures(client, db, settings):
    settings.REGSECRETS_API_TOKEN_FAILURE_LIMIT = 2
    for _ in range(5):
        assert client.get("/v1/secrets").status_code == 401


def test_last_used_is_written_at_most_once_a_minute(api, alice, django_assert_num_queries):
    api.get("/v1/secrets")
    token = ApiToken.objects.get(user=alice)
    first = token.last_used_at
    assert first is not None
    api.get("/v1/secrets")
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    api.get("/v1/secrets")
    token.refresh_from_db()
    assert token.last_used_at > first


def test_an_authenticated_list_costs_two_queries(api, make_secret, django_assert_num_queries):
    make_secret()
    api.get("/v1/secrets")  # sets last_used_at
    with django_assert_num_queries(2):  # token + membership + the kept count, page
        assert api.get("/v1/secrets").status_code == 200


def test_unknown_method_is_405_before_authentication(client, db):
    response = client.generic("TRACE", "/v1/secrets")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, POST"


def test_api_replies_are_not_cached(api):
    assert "no-store" in api.get("/v1/secrets")["Cache-Control"]


def test_audit_events_record_the_token_used(api, alice):
    api.post("/v1/apps", {"name": "web"})
    event = AuditEvent.objects.get(action="app.created")
    assert event.api_token == ApiToken.objects.get(user=alice)
    assert event.actor == alice
