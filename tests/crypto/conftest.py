"""Crypto fixtures: a two-key ring and secrets sealed through the public API."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from regsecrets.crypto.fields import seal_document
from tests.conftest import CANARY, TEST_KEY_A, TEST_KEY_B, TEST_KEYRING

OLD_RING = TEST_KEYRING  # test-a only
ROTATED_RING = f"test-b:{TEST_KEY_B},test-a:{TEST_KEY_A}"  # test-b encrypts, test-a still decrypts
NEW_ONLY_RING = f"test-b:{TEST_KEY_B}"


def docker_config(password: str = CANARY, username: str = "octocat") -> dict[str, Any]:
    """A typical credential document carrying the canary password."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"auths": {"ghcr.io": {"username": username, "password": password, "auth": auth}}}


@pytest.fixture
def organization(db):
    from regsecrets.accounts.models import Organization

    return Organization.objects.create(name="Crypto", slug=f"crypto-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def make_secret(organization):
    """Create and save a Secret whose document is sealed under the current ring."""
    from regsecrets.registry_secrets.models import Secret

    counter = {"n": 0}

    def make(document: dict[str, Any] | None = None, **fields: Any) -> Secret:
        counter["n"] += 1
        secret = Secret(
            organization=organization,
            name=fields.pop("name", f"secret-{counter['n']}"),
            provider=fields.pop("provider", "github_registry"),
            **fields,
        )
        seal_document(secret, "document", document if document is not None else docker_config())
        secret.save()
        return secret

    return make
