"""Fixtures for the /v1 API: tokens, a JSON client, and valid input for every provider."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import CANARY

GCP_KEY = {
    "type": "service_account",
    "project_id": "acme-prod",
    "private_key_id": "0123456789abcdef",
    "private_key": "-----BEGIN PRIVATE KEY-----\n" + CANARY + "\n-----END PRIVATE KEY-----\n",
    "client_email": "puller@acme-prod.iam.gserviceaccount.com",
    "client_id": "1234567890",
}
GCP_KEY_B64 = base64.b64encode(json.dumps(GCP_KEY).encode()).decode()

# One valid payload per provider, keyed as Koyeb's CreateSecret keys them.
PROVIDER_PAYLOADS: dict[str, dict[str, str]] = {
    "docker_hub_registry": {"username": "octocat", "password": CANARY},
    "github_registry": {"username": "octocat", "password": "ghp_" + CANARY},
    "gitlab_registry": {"username": "gitlab+deploy-token-1", "password": CANARY},
    "digital_ocean_registry": {"username": "octo", "password": "dop_v1_" + CANARY},
    "azure_container_registry": {"registry_name": "acmeregistry", "username": "acme", "password": CANARY},
    "gcp_container_registry": {"keyfile_content": GCP_KEY_B64, "url": "europe-west1-docker.pkg.dev"},
    "private_registry": {"username": "robot", "password": CANARY, "url": "registry.example.com:5000"},
    # An extension beside Koyeb's keys.
    "aws_ecr_registry": {
        "access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "secret_access_key": "wJalrXUtnFEMI/" + CANARY,
        "region": "eu-west-1",
        "registry_id": "123456789012",
    },
}
# The image each provider's secret serves, for service tests.
PROVIDER_IMAGES = {
    "docker_hub_registry": "octocat/app:1",
    "github_registry": "ghcr.io/octocat/app:1",
    "gitlab_registry": "registry.gitlab.com/acme/app:1",
    "digital_ocean_registry": "registry.digitalocean.com/acme/app:1",
    "azure_container_registry": "acmeregistry.azurecr.io/app:1",
    "gcp_container_registry": "europe-west1-docker.pkg.dev/acme-prod/repo/app:1",
    "private_registry": "registry.example.com:5000/team/app:1",
    "aws_ecr_registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:1",
}


class Api:
    """The Django test client with a Bearer token and JSON in and out."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {} if self.token is None else {"Authorization": f"Bearer {self.token}"}
        headers.update(extra or {})
        return headers

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | str | None = None, **kw: Any):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return self.client.generic(
            method, path, data, content_type="application/json", headers=self._headers(kw.pop("headers", None)), **kw
        )

    def get(self, path: str, params: dict | None = None, **kw: Any):
        return self.client.get(path, params or {}, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, body: Any = None, **kw: Any):
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any):
        return self.call("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any):
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any):
        return self.call("DELETE", path, None, **kw)


@pytest.fixture
def live_url(live_server) -> str:
    """The live server's URL, its middleware rebuilt with the test settings.

    The session-wide server starts before the autouse settings fixture turns the
    HTTPS redirect off, and SecurityMiddleware reads it when it is built.
    """
    app = live_server.thread.httpd.get_app()
    while hasattr(app, "application"):
        app.load_middleware()
        app = app.application
    app.load_middleware()
    return live_server.url


@pytest.fixture
def issue_token():
    from regsecrets.accounts.tokens import token_create

    def issue(user, organization, name: str = "test") -> str:
        return token_create(user=user, organization=organization, name=name)[1]

    return issue


@pytest.fixture
def make_api(client, issue_token):
    def make(user=None, organization=None, *, token: str | None = None) -> Api:
        if token is None and user is not None:
            token = issue_token(user, organization)
        return Api(client, token)

    return make


@pytest.fixture
def api(make_api, alice, org) -> Api:
    """Alice, owner of acme."""
    return make_api(alice, org)


@pytest.fixture
def member(make_user, org):
    from regsecrets.accounts.models import Membership

    user = make_user("mallory")
    Membership.objects.create(organization=org, user=user, role="member")
    return user


@pytest.fixture
def member_api(make_api, member, org) -> Api:
    return make_api(member, org)


@pytest.fixture
def make_secret(org, alice):
    from regsecrets.registry_secrets.services import secret_create

    def make(name: str = "ghcr", provider: str = "github_registry", organization=None, **data: str):
        payload = {**PROVIDER_PAYLOADS[provider], **data}
        return secret_create(
            organization=organization or org, name=name, provider=provider, data=payload, actor=alice
        )

    return make


def create_body(name: str, provider: str, **overrides: Any) -> dict[str, Any]:
    return {"name": name, "type": "REGISTRY", provider: {**PROVIDER_PAYLOADS[provider], **overrides}}
