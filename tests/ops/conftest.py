"""Fixtures shared by the operations tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_create


@pytest.fixture
def loopback_secrets(org, alice) -> Callable[[int], list[Secret]]:
    """``count`` private-registry secrets on a loopback address: a check refuses them
    (FORBIDDEN_ADDRESS) at once, without a connection."""

    def make(count: int) -> list[Secret]:
        return [
            secret_create(
                organization=org,
                name=f"loopback-{n}",
                provider="private_registry",
                data={"url": "127.0.0.1:5999", "username": "u", "password": "p"},
                actor=alice,
            )
            for n in range(count)
        ]

    return make
