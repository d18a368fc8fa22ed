"""One rule names the client: REGSECRETS_PROXY_COUNT trusted proxies, X-Forwarded-For."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse

from regsecrets.core.clientip import client_ip


def _request(remote: str = "10.0.0.2", forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "203.0.113.5", "10.0.0.2"),  # no proxy trusted: the header is the client's word
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "192.0.2.1, 203.0.113.5", "203.0.113.5"),  # the forged left entry is ignored
        (2, "192.0.2.1, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.2"),  # fewer hops than proxies: the peer
        (1, None, "10.0.0.2"),
        (1, "203.0.113.5:4711", "203.0.113.5"),  # a port some proxies add
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (1, "2001:DB8:0::1", "2001:db8::1"),  # canonical form, one client one key
        (1, "not-an-address", "10.0.0.2"),
    ],
)
def test_the_client_is_the_address_the_outermost_trusted_proxy_saw(
    settings, count, forwarded, expected
):
    settings.REGSECRETS_PROXY_COUNT = count
    assert client_ip(_request(forwarded=forwarded)) == expected


def test_no_usable_address_is_none(settings):
    settings.REGSECRETS_PROXY_COUNT = 0
    assert client_ip(_request(remote="")) is None


def test_the_sign_in_lockout_uses_the_same_rule(settings):
    assert settings.AXES_CLIENT_IP_CALLABLE == "regsecrets.core.clientip.client_ip"


@pytest.mark.django_db
def test_behind_a_proxy_the_sign_in_lockout_keys_on_the_forwarded_client(client, alice, settings):
    settings.REGSECRETS_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 3

    def sign_in(password: str, forwarded: str):
        return client.post(
            reverse("login"),
            {"username": "alice", "password": password},
            headers={"X-Forwarded-For": forwarded},
            REMOTE_ADDR="10.0.0.2",
        )

    for _ in range(3):
        sign_in("wrong", "203.0.113.5")
    assert sign_in("correct horse battery", "203.0.113.5").status_code == 429
    # Alice from another address behind the same proxy is not locked out.
    assert sign_in("correct horse battery", "198.51.100.7").status_code == 302
