"""The outbound guard judges IPv6 addresses that carry an IPv4 address by that address.

6to4, Teredo, NAT64, IPv4-mapped and IPv4-compatible addresses all deliver to an IPv4
host; an attacker who may not name 127.0.0.1 or 169.254.169.254 must not reach them
by wrapping them in IPv6.
"""

from __future__ import annotations

import ipaddress
import socket
import time

import httpcore
import pytest

from regsecrets.registries.client import FORBIDDEN_ADDRESS, ClientOptions, check_credentials
from regsecrets.registries.netguard import (
    AddressForbidden,
    GuardedBackend,
    deadline_scope,
    is_forbidden_address,
)


def teredo(server: str, client: str) -> str:
    """A Teredo address (RFC 4380): server in bits 32-64, client inverted in the last 32."""
    prefix = 0x2001_0000 << 96
    flags_port = 0x8000_63BF << 32
    inverted = int(ipaddress.IPv4Address(client)) ^ 0xFFFF_FFFF
    value = prefix | int(ipaddress.IPv4Address(server)) << 64 | flags_port | inverted
    return str(ipaddress.IPv6Address(value))


REFUSED = [
    # 6to4, 2002::/16: the IPv4 address is bits 16-48.
    ("6to4 of loopback", "2002:7f00:1::1"),
    ("6to4 of RFC 1918", "2002:a00:1::1"),
    ("6to4 of 192.168/16", "2002:c0a8:101::1"),
    ("6to4 of the metadata service", "2002:a9fe:a9fe::1"),
    ("6to4 of CGNAT", "2002:6440:1::1"),
    ("6to4 of unspecified", "2002::1"),
    # Teredo, 2001::/32: both the server and the (inverted) client are judged.
    ("Teredo with a private client", teredo("65.54.227.120", "192.168.1.1")),
    ("Teredo with a loopback client", teredo("65.54.227.120", "127.0.0.1")),
    ("Teredo with a private server", teredo("10.0.0.1", "8.8.8.8")),
    # The prefix itself is not global (IETF protocol assignments), so public ones too.
    ("Teredo with public server and client", teredo("65.54.227.120", "8.8.8.8")),
    # NAT64 well-known prefix 64:ff9b::/96: the last 32 bits.
    ("NAT64 of RFC 1918", "64:ff9b::10.0.0.1"),
    ("NAT64 of loopback", "64:ff9b::127.0.0.1"),
    ("NAT64 of the metadata service", "64:ff9b::a9fe:a9fe"),
    # NAT64 local-use prefix 64:ff9b:1::/48: the embedding is the operator's choice.
    ("local-use NAT64 of RFC 1918", "64:ff9b:1::10.0.0.1"),
    ("local-use NAT64 of a public address", "64:ff9b:1::8.8.8.8"),
    # IPv4-compatible ::a.b.c.d, deprecated: never a valid destination.
    ("IPv4-compatible loopback", "::127.0.0.1"),
    ("IPv4-compatible RFC 1918", "::10.0.0.1"),
    ("IPv4-compatible public", "::8.8.8.8"),
    # IPv4-mapped ::ffff:a.b.c.d.
    ("IPv4-mapped metadata service", "::ffff:169.254.169.254"),
    ("IPv4-mapped loopback", "::ffff:127.0.0.1"),
    ("IPv4-mapped RFC 1918", "::ffff:172.16.0.1"),
    ("6to4 with a zone id", "2002:7f00:1::1%eth0"),
]

ALLOWED = [
    ("6to4 of a public address", "2002:0808:0808::1"),
    ("6to4 of another public address", "2002:8c52:7022::1"),
    ("NAT64 of a public address", "64:ff9b::8.8.8.8"),
    ("NAT64 of a public address, hex", "64:ff9b::8c52:7022"),
    ("IPv4-mapped public address", "::ffff:8.8.8.8"),
    ("plain public IPv6", "2606:4700::1111"),
]


@pytest.mark.parametrize(("form", "address"), REFUSED, ids=[f for f, _ in REFUSED])
def test_ipv6_carrying_a_non_public_ipv4_is_forbidden(form, address):
    assert is_forbidden_address(address), form


@pytest.mark.parametrize(("form", "address"), ALLOWED, ids=[f for f, _ in ALLOWED])
def test_ipv6_carrying_a_public_ipv4_is_allowed(form, address):
    assert not is_forbidden_address(address), form


def test_teredo_helper_builds_what_the_standard_library_decodes():
    # The table's Teredo rows mean what they say: server and client as intended.
    address = ipaddress.IPv6Address(teredo("65.54.227.120", "192.168.1.1"))
    assert address.teredo == (
        ipaddress.IPv4Address("65.54.227.120"),
        ipaddress.IPv4Address("192.168.1.1"),
    )


@pytest.mark.parametrize(
    "host", ["[2002:7f00:1::1]:5000", "[64:ff9b::a9fe:a9fe]", "[::ffff:10.0.0.1]:443"]
)
def test_registry_at_an_embedded_private_address_is_refused_before_connecting(host):
    result = check_credentials(host, None, options=ClientOptions(timeout=2.0))
    assert result.code == FORBIDDEN_ADDRESS
    assert "non-public address" in result.reason


def test_a_shared_backend_connects_only_inside_a_deadline_scope():
    # The verification client's process-wide backend takes each check's deadline from
    # deadline_scope; outside one the deadline has passed and nothing is sent.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        backend = GuardedBackend(deadline=None, allow_private=True)
        with pytest.raises(httpcore.ConnectTimeout):
            backend.connect_tcp("127.0.0.1", port)
        with deadline_scope(time.monotonic() + 5):
            stream = backend.connect_tcp("127.0.0.1", port)
        try:
            # The stream obeys the deadline of the scope it is used in, not the one
            # it was opened in: a kept-alive connection reused after that has passed.
            with deadline_scope(time.monotonic() - 1), pytest.raises(httpcore.WriteTimeout):
                stream.write(b"GET / HTTP/1.1\r\n\r\n")
        finally:
            stream.close()


def test_a_shared_backend_still_refuses_private_addresses_inside_a_scope():
    backend = GuardedBackend(deadline=None, allow_private=False)
    with deadline_scope(time.monotonic() + 5), pytest.raises(AddressForbidden):
        backend.connect_tcp("127.0.0.1", 80)
