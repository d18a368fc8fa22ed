"""Fixtures for apps, services and the secrets they pull with."""

from __future__ import annotations

import pytest

from regsecrets.deploy.models import App, Service
from regsecrets.deploy.services import app_create, service_create
from regsecrets.registry_secrets.services import secret_create


@pytest.fixture
def make_secret(db):
    def make(organization, name: str = "ghcr-bot", *, provider: str = "github_registry", data=None):
        return secret_create(
            organization=organization,
            name=name,
            provider=provider,
            data=data or {"username": "octocat", "password": "ghp_x"},
        )

    return make


@pytest.fixture
def ghcr_secret(org, make_secret):
    return make_secret(org, "ghcr-bot")


@pytest.fixture
def app(org) -> App:
    return app_create(organization=org, name="shop")


@pytest.fixture
def service(app, ghcr_secret) -> Service:
    return service_create(
        app=app, name="web", image="ghcr.io/acme/web:1.0", registry_secret=ghcr_secret
    )
