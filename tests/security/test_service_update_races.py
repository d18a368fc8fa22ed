"""Two partial updates of one service at once: neither is lost, versions never collide.

A PATCH reads the parts it keeps; ``service_update`` reads them after taking the
app's lock, which every service write takes first, so a concurrent PATCH of
another part is seen, never overwritten. Real threads on PostgreSQL, through the
API (see tests/security/racing.py).
"""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from regsecrets.accounts.services import organization_create
from regsecrets.accounts.tokens import token_create
from regsecrets.deploy.models import Deployment, Service
from regsecrets.deploy.services import app_create, service_create
from regsecrets.registry_secrets.services import secret_create
from tests.security.racing import ATTEMPTS, at_once, postgresql_only, while_first_holds

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]

_numbers = itertools.count(1)
IMAGE = "ghcr.io/acme/web:1.0"
NEW_IMAGE = "ghcr.io/acme/web:2.0"


def _service():
    n = next(_numbers)
    owner = get_user_model().objects.create_user(username=f"racer{n}", password="x" * 20)
    organization = organization_create(name=f"Race {n}", slug=f"race-{n}", owner=owner)
    secret = secret_create(
        organization=organization,
        name="ghcr",
        provider="github_registry",
        data={"username": "octocat", "password": "ghp_x"},
    )
    app = app_create(organization=organization, name="shop")
    service = service_create(app=app, name="web", image=IMAGE, registry_secret=None)
    # One token per request: two requests with one token would also meet on its
    # last-used write, which would serialise them before they read the service.
    tokens = [token_create(user=owner, organization=organization, name=f"race-{i}")[1] for i in (1, 2)]
    return service, secret, tokens


def _patch(token: str, service: Service, body: dict):
    def call():
        response = Client(raise_request_exception=False).patch(
            f"/v1/services/{service.pk}",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.content
        return response

    return call


def _both_changes_kept(service: Service) -> None:
    row = Service.objects.select_related("registry_secret", "latest_deployment").get(pk=service.pk)
    assert row.image == NEW_IMAGE
    assert row.registry_secret is not None
    assert row.registry_secret.name == "ghcr"
    versions = sorted(Deployment.objects.filter(service=row).values_list("version", flat=True))
    assert versions == [1, 2, 3]
    latest = row.latest_deployment
    assert (latest.version, latest.image, latest.registry_secret_name) == (3, NEW_IMAGE, "ghcr")


def test_a_patch_inside_another_patchs_transaction_waits_and_keeps_its_change():
    for _ in range(ATTEMPTS // 4):
        service, _, (one, two) = _service()
        image_patch = _patch(one, service, {"definition": {"docker": {"image": NEW_IMAGE}}})
        secret_patch = _patch(
            two, service, {"definition": {"docker": {"image_registry_secret": "ghcr"}}}
        )
        first, second, waited = while_first_holds(image_patch, secret_patch)
        assert first.ok, first.error
        assert second.ok, second.error
        assert waited, "the second update must wait for the app's row lock"
        _both_changes_kept(service)


def test_two_patches_at_once_keep_both_changes():
    for _ in range(ATTEMPTS):
        service, _, (one, two) = _service()
        outcomes = at_once(
            _patch(one, service, {"definition": {"docker": {"image": NEW_IMAGE}}}),
            _patch(two, service, {"definition": {"docker": {"image_registry_secret": "ghcr"}}}),
        )
        assert all(outcome.ok for outcome in outcomes), [o.error for o in outcomes]
        _both_changes_kept(service)
