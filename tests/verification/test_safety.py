"""Failure modes and the safety rules, against small fake servers on loopback.

127.0.0.2 is a different host from 127.0.0.1 (all of 127/8 is loopback on Linux), which
is how these tests put a token realm or a redirect target "on another host".
"""

from __future__ import annotations

import base64
import os
import runpy
import socket
import threading
import time
from pathlib import Path

import pytest

import regsecrets.settings as django_settings_module
from regsecrets.registries.client import (
    AUTH_ACCESS_DENIED,
    DNS,
    FORBIDDEN_ADDRESS,
    INVALID_SCHEME,
    MALFORMED,
    REGISTRY_ERROR,
    TIMEOUT,
    TLS,
    ClientOptions,
    check_credentials,
    check_image,
)
from regsecrets.registries.client.session import registry_for
from regsecrets.registries.matching import Credential
from regsecrets.registries.netguard import is_forbidden_address
from regsecrets.registry_secrets.client_options import client_options

try:
    from .conftest import free_port
except ImportError:
    from conftest import free_port

ALICE_BASIC = "Basic " + base64.b64encode(b"alice:alice-pw").decode()


def alice(server: str) -> Credential:
    return Credential(server=server, username="alice", password="alice-pw")


def basic_registry(on_authorized):
    """A registry that challenges with Basic and calls on_authorized for alice."""

    def respond(handler):
        if handler.headers.get("Authorization") == ALICE_BASIC:
            return on_authorized(handler)
        return 401, {"WWW-Authenticate": 'Basic realm="fake"'}, b""

    return respond


def test_registry_that_refuses_connections_is_registry_error(options_for):
    host = f"127.0.0.1:{free_port()}"
    result = check_credentials(host, alice(host), options=options_for(host))
    assert result.code == REGISTRY_ERROR
    assert "refused" in result.reason


def test_registry_that_never_answers_times_out_within_the_bound(silent_server, options_for):
    options = options_for(silent_server.host, timeout=1.0)
    started = time.monotonic()
    result = check_credentials(silent_server.host, alice(silent_server.host), options=options)
    elapsed = time.monotonic() - started
    assert result.code == TIMEOUT
    assert elapsed < 2.5


def test_slow_token_server_counts_against_the_same_total_bound(scripted_server, options_for):
    def slow(handler):
        time.sleep(3)
        return 200, {}, b'{"token": "t"}'

    tokens = scripted_server(slow)
    registry = scripted_server(
        lambda h: (401, {"WWW-Authenticate": f'Bearer realm="http://{tokens.host}/token"'}, b"")
    )
    options = options_for(registry.host, tokens.host, timeout=1.0)
    started = time.monotonic()
    result = check_image(f"{registry.host}/team/app:v1", None, options=options)
    assert result.code == TIMEOUT
    assert time.monotonic() - started < 2.0


def test_server_dripping_bytes_cannot_stretch_the_total_bound(options_for):
    """Each byte arrives well within a per-read timeout; only a total deadline stops it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    host = f"127.0.0.1:{listener.getsockname()[1]}"
    stop = threading.Event()

    def drip():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 100:
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        result = check_credentials(host, alice(host), options=options_for(host, timeout=1.0))
        assert result.code == TIMEOUT
        assert time.monotonic() - started < 2.0
    finally:
        stop.set()
        listener.close()


def test_unresolvable_host_is_dns_error():
    result = check_credentials("registry.does-not-exist.invalid", alice("x"))
    assert result.code == DNS
    assert result.registry == "registry.does-not-exist.invalid"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"WWW-Authenticate": 'Bearer realm="http://127.0.0.1/token'},
        {"WWW-Authenticate": 'Bearer service="registry"'},
        {"WWW-Authenticate": "Bearer realm="},
        {"WWW-Authenticate": '"garbage'},
        {"WWW-Authenticate": 'Negotiate realm="x"'},
        {"WWW-Authenticate": 'Bearer realm="not a url at all"'},
    ],
)
def test_malformed_challenge_is_malformed(headers, scripted_server, options_for):
    registry = scripted_server(lambda h: (401, headers, b""))
    result = check_credentials(
        registry.host, alice(registry.host), options=options_for(registry.host)
    )
    assert result.code == MALFORMED, result.reason


def test_token_answer_without_token_is_malformed(scripted_server, options_for):
    tokens = scripted_server(lambda h: (200, {}, b'{"nothing": 1}'))
    registry = scripted_server(
        lambda h: (401, {"WWW-Authenticate": f'Bearer realm="http://{tokens.host}/t"'}, b"")
    )
    options = options_for(registry.host, tokens.host)
    result = check_credentials(registry.host, alice(registry.host), options=options)
    assert result.code == MALFORMED


def test_oversized_answer_is_cut_off(scripted_server, options_for):
    tokens = scripted_server(lambda h: (200, {}, b"x" * 4096))
    registry = scripted_server(
        lambda h: (401, {"WWW-Authenticate": f'Bearer realm="http://{tokens.host}/t"'}, b"")
    )
    options = ClientOptions(
        allow_private=True,
        max_response_bytes=1024,
        insecure_registries=frozenset({registry.host, tokens.host}),
    )
    result = check_credentials(registry.host, alice(registry.host), options=options)
    assert result.code == REGISTRY_ERROR
    assert "more than 1024 bytes" in result.reason


def test_loopback_registry_is_refused_before_any_request(scripted_server):
    registry = scripted_server(lambda h: (200, {}, b"{}"))
    options = ClientOptions(insecure_registries=frozenset({registry.host}))
    result = check_credentials(registry.host, alice(registry.host), options=options)
    assert result.code == FORBIDDEN_ADDRESS
    assert registry.requests == []


def test_localhost_by_name_is_refused():
    result = check_credentials("localhost:5999", alice("localhost:5999"))
    assert result.code == FORBIDDEN_ADDRESS


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::",
        "240.0.0.1",
        "fe80::1%eth0",
    ],
)
def test_non_public_addresses_are_forbidden(address):
    assert is_forbidden_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "140.82.112.34", "2606:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert not is_forbidden_address(address)


def test_plain_http_registry_not_listed_as_insecure_is_invalid_scheme(scripted_server):
    registry = scripted_server(lambda h: (200, {}, b"{}"))
    options = ClientOptions(allow_private=True)
    result = check_credentials(f"http://{registry.host}", alice(registry.host), options=options)
    assert result.code == INVALID_SCHEME
    assert registry.requests == []


def test_registry_not_listed_as_insecure_is_spoken_to_over_https(scripted_server):
    registry = scripted_server(lambda h: (200, {}, b"{}"))
    result = check_credentials(
        registry.host, alice(registry.host), options=ClientOptions(allow_private=True)
    )
    assert result.code == TLS


def test_unknown_scheme_is_invalid_scheme():
    result = check_credentials("ftp://registry.example.com", None)
    assert result.code == INVALID_SCHEME


def test_realm_on_another_host_gets_basic_credentials_and_registry_gets_only_the_token(
    scripted_server, options_for
):
    tokens = scripted_server(lambda h: (200, {}, b'{"token": "the-token"}'), host="127.0.0.2")

    def registry_responds(handler):
        if handler.headers.get("Authorization") == "Bearer the-token":
            return 200, {}, b"{}"
        challenge = f'Bearer realm="http://{tokens.host}/token",service="fake"'
        return 401, {"WWW-Authenticate": challenge}, b""

    registry = scripted_server(registry_responds)
    options = options_for(registry.host, tokens.host)
    result = check_credentials(registry.host, alice(registry.host), options=options)
    assert result.success, result.reason
    # As the token spec says: the realm the registry names gets Basic credentials...
    assert [r["headers"].get("Authorization") for r in tokens.requests] == [ALICE_BASIC]
    # ...and the registry never sees them, only the token.
    assert {r["headers"].get("Authorization") for r in registry.requests} == {
        None,
        "Bearer the-token",
    }


def test_plain_http_realm_not_listed_as_insecure_gets_nothing(scripted_server, options_for):
    tokens = scripted_server(lambda h: (200, {}, b'{"token": "t"}'), host="127.0.0.2")
    registry = scripted_server(
        lambda h: (401, {"WWW-Authenticate": f'Bearer realm="http://{tokens.host}/token"'}, b"")
    )
    result = check_credentials(
        registry.host, alice(registry.host), options=options_for(registry.host)
    )
    assert result.code == INVALID_SCHEME
    assert tokens.requests == []


def test_redirect_to_another_host_does_not_carry_basic_credentials(scripted_server, options_for):
    elsewhere = scripted_server(
        lambda h: (401, {"WWW-Authenticate": 'Basic realm="elsewhere"'}, b""), host="127.0.0.2"
    )
    registry = scripted_server(
        basic_registry(lambda h: (302, {"Location": f"http://{elsewhere.host}/v2/"}, b""))
    )
    options = options_for(registry.host, elsewhere.host)
    result = check_credentials(registry.host, alice(registry.host), options=options)
    assert [r["headers"].get("Authorization") for r in elsewhere.requests] == [None]
    assert result.code == AUTH_ACCESS_DENIED


def test_redirect_within_the_registry_keeps_credentials(scripted_server, options_for):
    def respond(handler):
        if handler.path == "/v2/" and handler.headers.get("Authorization") == ALICE_BASIC:
            return 307, {"Location": "/v2/moved/"}, b""
        if handler.path == "/v2/moved/" and handler.headers.get("Authorization") == ALICE_BASIC:
            return 200, {}, b"{}"
        return 401, {"WWW-Authenticate": 'Basic realm="fake"'}, b""

    registry = scripted_server(respond)
    result = check_credentials(
        registry.host, alice(registry.host), options=options_for(registry.host)
    )
    assert result.success, result.reason


def test_redirect_of_token_request_to_another_host_does_not_carry_credentials(
    scripted_server, options_for
):
    final = scripted_server(lambda h: (200, {}, b'{"token": "t"}'), host="127.0.0.2")
    tokens = scripted_server(lambda h: (302, {"Location": f"http://{final.host}/token"}, b""))
    registry = scripted_server(
        lambda h: (401, {"WWW-Authenticate": f'Bearer realm="http://{tokens.host}/token"'}, b"")
    )
    options = options_for(registry.host, tokens.host, final.host)
    check_credentials(registry.host, alice(registry.host), options=options)
    assert [r["headers"].get("Authorization") for r in tokens.requests] == [ALICE_BASIC]
    assert [r["headers"].get("Authorization") for r in final.requests] == [None]


def test_refresh_token_post_is_never_redirected(scripted_server, options_for):
    final = scripted_server(lambda h: (200, {}, b'{"access_token": "t"}'), host="127.0.0.2")
    tokens = scripted_server(lambda h: (307, {"Location": f"http://{final.host}/token"}, b""))
    registry = scripted_server(
        lambda h: (401, {"WWW-Authenticate": f'Bearer realm="http://{tokens.host}/token"'}, b"")
    )
    credential = Credential(registry.host, "", "", identitytoken="refresh-secret")
    options = options_for(registry.host, tokens.host, final.host)
    result = check_credentials(registry.host, credential, options=options)
    assert result.code == REGISTRY_ERROR
    assert final.requests == []


def test_reasons_never_echo_secrets(scripted_server, options_for):
    # A hostile registry cannot make us print the password back.
    registry = scripted_server(lambda h: (500, {}, b"your password is alice-pw"))
    result = check_credentials(
        registry.host, alice(registry.host), options=options_for(registry.host)
    )
    assert result.code == REGISTRY_ERROR
    assert "alice-pw" not in result.reason


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("https://index.docker.io/v1/", "https://registry-1.docker.io"),
        ("docker.io", "https://registry-1.docker.io"),
        ("index.docker.io", "https://registry-1.docker.io"),
        ("ghcr.io", "https://ghcr.io"),
        ("https://registry.example.com:8443/v2/", "https://registry.example.com:8443"),
    ],
)
def test_docker_hub_keys_mean_registry_1(server, expected):
    registry = registry_for(server, ClientOptions())
    assert str(registry.base).rstrip("/") == expected


def test_config_without_auths_is_malformed():
    result = check_image("ghcr.io/acme/app:1", {"credsStore": "desktop"})
    assert result.code == MALFORMED


def test_invalid_image_reference_is_malformed():
    result = check_image("UPPER/Case::bad", None)
    assert result.code == MALFORMED


def test_options_come_from_settings(settings):
    settings.REGSECRETS_VERIFY_TIMEOUT = "3.5"
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = "true"
    settings.REGSECRETS_INSECURE_REGISTRIES = "Registry.local:5001, 10.0.0.5:8080,"
    options = client_options()
    assert options.timeout == 3.5
    assert options.allow_private is True
    assert options.insecure_registries == frozenset({"registry.local:5001", "10.0.0.5:8080"})


def test_options_default_to_safe_values_when_the_environment_sets_none(settings, monkeypatch):
    # settings.py is the one place the application's defaults live: read afresh with no
    # REGSECRETS_* variable, it must give the client's own safe defaults.
    for name in list(os.environ):
        if name.startswith("REGSECRETS_"):
            monkeypatch.delenv(name)
    fresh = runpy.run_path(str(Path(django_settings_module.__file__)))
    for name in (
        "REGSECRETS_VERIFY_TIMEOUT",
        "REGSECRETS_VERIFY_MAX_RESPONSE_BYTES",
        "REGSECRETS_VERIFY_MAX_CONCURRENCY",
        "REGSECRETS_ALLOW_PRIVATE_REGISTRIES",
        "REGSECRETS_INSECURE_REGISTRIES",
    ):
        setattr(settings, name, fresh[name])
    assert client_options() == ClientOptions()
