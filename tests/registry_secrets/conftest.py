"""Helpers for registry secret tests: secrets, services using them, damaged rows."""

from __future__ import annotations

import binascii

import pytest

from tests.conftest import CANARY


@pytest.fixture
def make_secret(alice):
    from regsecrets.registry_secrets.services import secret_create

    def make(organization, name: str, provider: str = "private", data: dict | None = None):
        data = data or {"url": "registry.example.com", "username": "deploy", "password": CANARY}
        return secret_create(
            organization=organization, name=name, provider=provider, data=data, actor=alice
        )

    return make


@pytest.fixture
def make_service():
    from regsecrets.deploy.models import App, Service

    def make(secret, app_name: str = "web", name: str = "api", image: str = "registry.example.com/api:1"):
        app, _ = App.objects.get_or_create(organization=secret.organization, name=app_name)
        return Service.objects.create(
            app=app, organization=secret.organization, name=name, image=image, registry_secret=secret
        )

    return make


def corrupt_ciphertext(secret) -> None:
    """Flip one ciphertext byte: the token keeps its shape but no longer opens."""
    from regsecrets.registry_secrets.models import Secret

    token = Secret.objects.filter(pk=secret.pk).values_list("document", flat=True).get()
    header, body = token.rsplit(":", 1)
    raw = bytearray(binascii.a2b_base64(body))
    raw[-1] ^= 0x01
    damaged = f"{header}:{binascii.b2a_base64(bytes(raw), newline=False).decode()}"
    Secret.objects.filter(pk=secret.pk).update(document=damaged)
