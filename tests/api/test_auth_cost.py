"""A valid API token costs one indexed lookup and no cache round trip; only invalid
tokens touch the failure counter."""

from __future__ import annotations

from django.core.cache.backends.locmem import LocMemCache

from regsecrets.accounts.models import ApiToken
from regsecrets.accounts.tokens import token_revoke

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
    with django_assert_num_queries(3):  # the token lookup, the count row, the page
        assert api.get("/v1/secrets").status_code == 200
    assert CALLS == []


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
