"""The verification buttons in a real Chromium, against a real docker-registry.

The browser fixtures are imported from tests/browser/conftest.py (a conftest is
not visible from a sibling directory), so these tests get both the registry
fixtures of this directory and the signed-in Chromium contexts.
"""

# The imported fixtures are requested by name as test arguments, which pyflakes
# reads as redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from regsecrets.deploy.models import Service
from regsecrets.deploy.services import app_create
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_create
from tests.browser.conftest import (  # noqa: F401 - fixtures, used by name
    _browser_settings,
    _plain_http_live_server,
    artifacts_dir,
    browser_org,
    browser_user,
    chromium,
    csp_violations,
    login_context,
    page,
)

pytestmark = [pytest.mark.browser, pytest.mark.registry]


@pytest.fixture(autouse=True)
def _self_hosted(settings, htpasswd_registry):
    cache.clear()
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    settings.REGSECRETS_INSECURE_REGISTRIES = frozenset({htpasswd_registry.host})
    settings.REGSECRETS_VERIFY_TIMEOUT = 5.0
    yield
    cache.clear()


def test_create_form_tests_credentials_before_saving(
    page, htpasswd_registry, csp_violations, artifacts_dir
):
    host = htpasswd_registry.host
    page.goto("/secrets/new/private/")
    page.locator("#id_name").fill("self-hosted")
    page.locator("#id_url").fill(host)
    page.locator("#id_username").fill("alice")
    page.locator("#id_password").fill("alice-pw")
    page.get_by_role("button", name="Test credentials").click()
    ok = page.locator("#test-results [data-test-result]")
    expect(ok).to_have_count(1)
    expect(ok).to_have_attribute("data-test-result", "ok")
    expect(ok).to_contain_text(host)
    expect(ok).to_contain_text(f"The credentials log in to {host}.")

    page.locator("#id_password").fill("nope-wrong")
    page.get_by_role("button", name="Test credentials").click()
    denied = page.locator("#test-results [data-test-result]")
    expect(denied).to_have_attribute("data-test-result", "AUTH_ACCESS_DENIED")
    expect(denied).to_contain_text("rejected the credentials")
    page.screenshot(path=str(artifacts_dir / "secrets-form-test-credentials.png"), full_page=True)

    # A missing field is reported on the field, and still nothing is saved.
    page.locator("#id_url").fill("")
    page.get_by_role("button", name="Test credentials").click()
    expect(page.locator("#id_url")).to_have_class(re.compile(r"\bis-invalid\b"))
    assert not Secret.objects.exists()
    assert csp_violations == []


def test_service_form_verifies_the_image_and_still_saves_on_a_warning(
    page, browser_org, browser_user, htpasswd_registry, csp_violations, artifacts_dir
):
    host = htpasswd_registry.host
    secret = secret_create(
        organization=browser_org,
        name="self-hosted",
        provider="private_registry",
        data={"url": host, "username": "alice", "password": "alice-pw"},
        actor=browser_user,
    )
    app = app_create(organization=browser_org, name="shop")
    page.goto(f"/apps/{app.pk}/services/new/")
    page.locator("#id_name").fill("web")
    page.locator("#id_image").fill(f"{host}/team/app:v1")
    page.locator("#id_registry_secret").select_option(str(secret.pk))
    page.get_by_role("button", name="Verify image").click()
    result = page.locator("#image-verify-result")
    expect(result).to_contain_text("team/app:v1 can be pulled with the stored credentials")
    expect(result.locator(".alert-success")).to_have_count(1)

    # Typing makes the old answer stale; a missing tag is a warning, not a gate.
    page.locator("#id_image").fill(f"{host}/team/app:nope")
    expect(result).to_be_empty()
    page.get_by_role("button", name="Verify image").click()
    expect(result).to_contain_text("AUTH_NOT_FOUND")
    expect(result).to_contain_text("You can still save the service.")
    page.screenshot(path=str(artifacts_dir / "service-form-verify-image.png"), full_page=True)
    page.get_by_role("button", name="Create service").click()
    expect(page).to_have_url(re.compile(r"/services/[0-9a-f-]+/$"))
    assert Service.objects.filter(app=app, image=f"{host}/team/app:nope").exists()
    assert csp_violations == []
