"""Checks share TLS contexts and kept-alive connections, and stay guarded doing so.

The fake registries here answer HTTP/1.1 with keep-alive; each recorded request
carries the client's address, so two requests from the same address came over one
connection.
"""

from __future__ import annotations

import base64
import threading
import time

from regsecrets.registries.client import (
    FORBIDDEN_ADDRESS,
    REGISTRY_ERROR,
    TIMEOUT,
    TLS,
    ClientOptions,
    check_credentials,
    check_image,
    transport,
)
from regsecrets.registries.matching import Credential

ALICE_BASIC = "Basic " + base64.b64encode(b"alice:alice-pw").decode()


def alice(server: str) -> Credential:
    return Credential(server=server, username="alice", password="alice-pw")


def basic_registry(handler):
    if handler.headers.get("Authorization") == ALICE_BASIC:
        return 200, {}, b"{}"
    return 401, {"WWW-Authenticate": 'Basic realm="fake"'}, b""


def peers(server) -> list:
    return [request["peer"] for request in server.requests]


def test_checks_against_one_registry_reuse_one_connection(scripted_server, options_for):
    registry = scripted_server(basic_registry, keep_alive=True)
    options = options_for(registry.host)
    for _ in range(3):
        result = check_credentials(registry.host, alice(registry.host), options=options)
        assert result.success, result
    assert len(registry.requests) == 6
    assert len(set(peers(registry))) == 1


def test_each_check_sends_only_its_own_credentials_on_a_shared_connection(
    scripted_server, options_for
):
    registry = scripted_server(basic_registry, keep_alive=True)
    options = options_for(registry.host)
    assert check_credentials(registry.host, alice(registry.host), options=options).success
    anonymous = check_credentials(registry.host, None, options=options)
    assert not anonymous.success
    assert len(set(peers(registry))) == 1
    # The anonymous check's request carried no Authorization from the check before.
    assert "Authorization" not in registry.requests[-1]["headers"]


def test_a_cookie_set_for_one_check_is_not_sent_by_the_next(scripted_server, options_for):
    def respond(handler):
        if handler.headers.get("Authorization") == ALICE_BASIC:
            return 200, {"Set-Cookie": "session=alice-session; Path=/"}, b"{}"
        return 401, {"WWW-Authenticate": 'Basic realm="fake"'}, b""

    registry = scripted_server(respond, keep_alive=True)
    options = options_for(registry.host)
    assert check_credentials(registry.host, alice(registry.host), options=options).success
    check_credentials(registry.host, None, options=options)
    assert "Cookie" not in registry.requests[-1]["headers"]


def test_a_connection_opened_with_private_addresses_allowed_is_not_reused_without(
    scripted_server, options_for
):
    registry = scripted_server(basic_registry, keep_alive=True)
    allowed = options_for(registry.host)
    assert check_credentials(registry.host, alice(registry.host), options=allowed).success
    served = len(registry.requests)

    refused = ClientOptions(insecure_registries=frozenset({registry.host}))
    result = check_credentials(registry.host, alice(registry.host), options=refused)
    assert result.code == FORBIDDEN_ADDRESS
    assert len(registry.requests) == served


def test_a_reply_cut_short_closes_its_connection_and_the_next_check_starts_clean(
    scripted_server, options_for
):
    calls = {"n": 0}
    lock = threading.Lock()

    def respond(handler):
        with lock:
            calls["n"] += 1
            first = calls["n"] == 1
        if first:
            return 200, {}, b"x" * 4096  # over the cap below: read no further
        return basic_registry(handler)

    registry = scripted_server(respond, keep_alive=True)
    small = ClientOptions(
        allow_private=True,
        insecure_registries=frozenset({registry.host}),
        max_response_bytes=1024,
    )
    capped = check_credentials(registry.host, alice(registry.host), options=small)
    assert capped.code == REGISTRY_ERROR
    assert "more than 1024 bytes" in capped.reason

    result = check_credentials(registry.host, alice(registry.host), options=options_for(registry.host))
    assert result.success, result
    assert peers(registry)[0] != peers(registry)[1]


def test_a_reused_connection_obeys_the_deadline_of_the_check_reusing_it(
    scripted_server, options_for
):
    release = threading.Event()

    def respond(handler):
        if handler.path.startswith("/v2/slow/"):
            release.wait(10)
            return 200, {}, b""
        return basic_registry(handler)

    registry = scripted_server(respond, keep_alive=True)
    # The connection is opened by a check with a long deadline...
    assert check_credentials(
        registry.host, alice(registry.host), options=options_for(registry.host, timeout=30)
    ).success
    # ...and reused by one with a short deadline, which stops at its own.
    config = {"auths": {registry.host: {"username": "alice", "password": "alice-pw"}}}
    try:
        result = check_image(
            f"{registry.host}/slow/app:v1", config, options=options_for(registry.host, timeout=1)
        )
    finally:
        release.set()
    assert result.code == TIMEOUT
    assert len(set(peers(registry))) == 1


def test_plain_http_checks_build_no_tls_context(scripted_server, options_for, monkeypatch):
    monkeypatch.setattr(transport, "_SHARED", {})
    transport.tls_context.cache_clear()
    registry = scripted_server(basic_registry, keep_alive=True)
    assert check_credentials(
        registry.host, alice(registry.host), options=options_for(registry.host)
    ).success
    assert transport.tls_context.cache_info().misses == 0


def test_https_checks_share_one_tls_context_per_process(scripted_server, monkeypatch):
    monkeypatch.setattr(transport, "_SHARED", {})
    transport.tls_context.cache_clear()
    registry = scripted_server(basic_registry)  # speaks plain HTTP: the handshake fails
    options = ClientOptions(allow_private=True)
    for _ in range(3):
        result = check_credentials(registry.host, alice(registry.host), options=options)
        assert result.code == TLS
    assert transport.tls_context.cache_info().misses == 1


def test_idle_connections_expire(scripted_server, options_for, monkeypatch):
    monkeypatch.setattr(transport, "_KEEPALIVE_SECONDS", 0.0)
    # A fresh process-wide transport, built with the patched expiry.
    monkeypatch.setattr(transport, "_SHARED", {})
    registry = scripted_server(basic_registry, keep_alive=True)
    options = options_for(registry.host)
    assert check_credentials(registry.host, alice(registry.host), options=options).success
    time.sleep(0.01)
    assert check_credentials(registry.host, alice(registry.host), options=options).success
    # The second check's first request found the first check's connection expired.
    assert peers(registry)[2] != peers(registry)[1]


def test_image_checks_leave_their_connection_reusable_after_a_manifest_head(
    scripted_server, options_for
):
    def respond(handler):
        if handler.headers.get("Authorization") != ALICE_BASIC:
            return 401, {"WWW-Authenticate": 'Basic realm="fake"'}, b""
        # A HEAD reply names the manifest's length but sends no body.
        return 200, {"Docker-Content-Digest": "sha256:" + "0" * 64}, b"{" + b" " * 100 + b"}"

    registry = scripted_server(respond, keep_alive=True)
    config = {"auths": {registry.host: {"username": "alice", "password": "alice-pw"}}}
    options = options_for(registry.host)
    for _ in range(2):
        result = check_image(f"{registry.host}/team/app:v1", config, options=options)
        assert result.success, result
    assert [r["method"] for r in registry.requests] == ["GET", "HEAD"] * 2
    assert len(set(peers(registry))) == 1
