"""Fixtures for the admin tests: a superuser client and secrets holding the canary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tests.conftest import CANARY

PRIVATE_DATA = {"url": "registry.example.com", "username": "deploy", "password": CANARY}


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(
        username="root", email="root@example.com", password="unused-in-tests"
    )


@pytest.fixture
def admin(client: Client, superuser) -> Client:
    client.force_login(superuser)
    return client


@pytest.fixture
def make_secret(alice) -> Callable[..., Any]:
    from regsecrets.registry_secrets.services import secret_create

    def make(
        organization: Any,
        name: str = "registry",
        provider: str = "private_registry",
        data: dict[str, Any] | None = None,
    ) -> Any:
        return secret_create(
            organization=organization,
            name=name,
            provider=provider,
            data=data or PRIVATE_DATA,
            actor=alice,
        )

    return make


@pytest.fixture
def secret(org, make_secret):
    return make_secret(org)


@pytest.fixture
def make_service() -> Callable[..., Any]:
    from regsecrets.deploy.services import app_create, service_create

    def make(secret: Any, name: str = "api", image: str = "registry.example.com/api:1") -> Any:
        from regsecrets.deploy.models import App

        app = App.objects.filter(organization=secret.organization, name="web").first()
        app = app or app_create(organization=secret.organization, name="web")
        return service_create(app=app, name=name, image=image, registry_secret=secret)

    return make


def ciphertext_of(secret: Any) -> str:
    from regsecrets.registry_secrets.models import Secret

    return Secret.objects.filter(pk=secret.pk).values_list("document", flat=True).get()


def assert_no_secret(content: bytes | str, *tokens: str) -> None:
    """Neither the canary nor any ciphertext (``v1:`` + the test KID) is in the page."""
    text = content.decode() if isinstance(content, bytes) else content
    assert CANARY not in text
    assert "v1:test-" not in text
    for token in tokens:
        assert token not in text
