"""Signed-in pages, the admin and every API reply carry Cache-Control: no-store.

A shared browser or a proxy must not keep a page listing secrets or an API reply.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def assert_not_stored(response, where: str) -> None:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    assert {"no-store", "private"} <= directives, f"{where}: {response.get('Cache-Control')!r}"


@pytest.fixture
def secret(org, alice):
    from regsecrets.registry_secrets.services import secret_create

    return secret_create(
        organization=org,
        name="ghcr",
        provider="github_registry",
        data={"username": "octocat", "password": "ghp_not-a-real-one"},
        actor=alice,
    )


def test_signed_in_site_pages_are_not_stored(alice_client, secret):
    for url in [
        reverse("registry_secrets:list"),
        reverse("registry_secrets:detail", args=[secret.pk]),
        reverse("registry_secrets:edit", args=[secret.pk]),
        reverse("registry_secrets:new"),
        reverse("deploy:app_list"),
        reverse("organization_detail"),
        reverse("audit:activity"),
        reverse("api_tokens"),
    ]:
        response = alice_client.get(url)
        assert response.status_code == 200, url
        assert_not_stored(response, url)


def test_signed_in_redirects_and_errors_are_not_stored(alice_client, secret):
    # A redirect after a write, and a 404 (which says what does not exist).
    response = alice_client.post(
        reverse("deploy:app_create"),
        {"app_name": "web", "name": "web", "image": "nginx:1", "public_image": "on"},
    )
    assert response.status_code == 302
    assert_not_stored(response, "redirect after a write")
    response = alice_client.get("/no/such/page/")
    assert response.status_code == 404
    assert_not_stored(response, "a signed-in 404")


def test_admin_pages_are_not_stored(client, django_user_model, secret):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "unused")
    client.force_login(root)
    for url in [
        reverse("admin:index"),
        reverse("admin:registry_secrets_secret_changelist"),
        reverse("admin:registry_secrets_secret_change", args=[secret.pk]),
        reverse("admin:audit_auditevent_changelist"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_not_stored(response, url)


def test_api_replies_are_not_stored_errors_included(alice, org, secret, settings):
    from regsecrets.accounts.tokens import token_create

    settings.REGSECRETS_API_TOKEN_FAILURE_LIMIT = 1
    client = Client(raise_request_exception=False)
    api = Api(client, token_create(user=alice, organization=org, name="t")[1])
    anonymous = Api(client, None)
    wrong = Api(client, "rst_" + "x" * 43)
    replies = {
        "list": api.get("/v1/secrets"),
        "get": api.get(f"/v1/secrets/{secret.pk}"),
        "reveal": api.post(f"/v1/secrets/{secret.pk}/reveal", {}),
        "create": api.post("/v1/apps", {"name": "web"}),
        "bad input": api.post("/v1/apps", {"name": ""}),
        "not found": api.get("/v1/secrets/00000000-0000-0000-0000-000000000000"),
        "unknown path": api.get("/v1/nothing-here"),
        "method": api.call("TRACE", "/v1/secrets"),
        "no token": anonymous.get("/v1/secrets"),
        "invalid token": wrong.get("/v1/secrets"),
        "throttled": wrong.get("/v1/secrets"),
    }
    assert replies["reveal"].status_code == 200
    assert replies["throttled"].status_code == 429
    for name, response in replies.items():
        assert_not_stored(response, name)


def test_anonymous_pages_and_static_files_keep_their_caching(client, settings):
    assert "no-store" not in client.get(reverse("home")).get("Cache-Control", "")
    # WhiteNoise answers static files before authentication: a signed-in browser's
    # stylesheet stays cacheable.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    fresh = Client()
    from django.contrib.auth import get_user_model

    fresh.force_login(get_user_model().objects.create_user("carol", password="x" * 12))
    response = fresh.get("/static/bootstrap/css/bootstrap.min.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
