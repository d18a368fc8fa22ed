"""A valid API token costs one indexed lookup and no cache round trip; only invalid
tokens touch the failure counter. The secret list's kept count rides on that lookup."""

from __future__ import annotations

from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regsecrets.accounts.models import ApiToken
from regsecrets.accounts.tokens import token_revoke
from regsecrets.registry_secrets import services
from regsecrets.registry_secrets.models import Secret, SecretCount

CALLS: list[str] = []


class CountingCache(LocMemCache):
    """Django's local-memory cache, recording each operation's name."""

    def get(self, *args, **kwargs):
        CALLS.append("get")
        return super().get(*args, **kwargs)

    def add(self, *args, **kwargs):
        CALLS.append("add")
        return super().add(*args, **kwargs)

    def incr(self, *args, **kwargs):
        CALLS.append("incr")
        return super().incr(*args, **kwargs)


def _counting(settings) -> None:
    settings.CACHES = {"default": {"BACKEND": f"{__name__}.CountingCache"}}
    CALLS.clear()


def test_a_valid_token_reads_and_writes_no_cache(
    api, make_secret, settings, django_assert_num_queries
):
    make_secret("ghcr")
    api.get("/v1/secrets")  # last_used_at is written on the first use
    _counting(settings)
    with django_assert_num_queries(2):  # the token lookup with the count row, the page
        assert api.get("/v1/secrets").status_code == 200
    assert CALLS == []


def test_the_count_read_with_the_token_is_the_kept_count(api, make_secret, org):
    for n in range(3):
        make_secret(f"s{n}")
    assert api.get("/v1/secrets", {"limit": "1"}).json()["count"] == 3
    services.secret_delete(secret=Secret.objects.get(name="s0"))
    assert api.get("/v1/secrets", {"limit": "1"}).json()["count"] == 2


def test_an_organization_without_a_count_row_lists_none(api, org):
    assert not SecretCount.objects.filter(organization=org).exists()
    body = api.get("/v1/secrets").json()
    assert (body["count"], body["secrets"]) == (0, [])


def test_only_the_list_reads_the_count_with_the_token(api, make_secret):
    secret = make_secret("one")
    api.get("/v1/secrets")  # last_used_at is written on the first use
    with CaptureQueriesContext(connection) as captured:
        assert api.get(f"/v1/secrets/{secret.pk}").status_code == 200
    assert SecretCount._meta.db_table not in captured.captured_queries[0]["sql"]
    with CaptureQueriesContext(connection) as captured:
        assert api.get("/v1/secrets").status_code == 200
    assert SecretCount._meta.db_table in captured.captured_queries[0]["sql"]


def test_only_invalid_tokens_count_failures(client, db, settings):
    _counting(settings)
    response = client.get("/v1/secrets", headers={"Authorization": "Bearer rst_" + "x" * 43})
    assert response.status_code == 401
    assert "get" in CALLS
    assert "add" in CALLS


def test_a_revoked_token_is_refused_on_its_next_request(api, alice):
    assert api.get("/v1/secrets").status_code == 200
    token_revoke(token=ApiToken.objects.get(user=alice), actor=alice)
    assert api.get("/v1/secrets").status_code == 401
