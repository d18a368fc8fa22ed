"""A newcomer, scripted: from sign-up to an app whose service pulls a private image
with a new registry secret, against a real docker-registry on loopback.

Every click goes through ``click()`` so the test can report how many a person
needs; the seconds are measured too, and both are written to
test-artifacts/newcomer.json (reported, never asserted: no timed assertions).
"""

# The imported fixtures are requested by name as test arguments, which pyflakes
# reads as redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from regsecrets.deploy.models import Service
from regsecrets.registry_secrets.services import secret_fields
from tests.browser.conftest import (  # noqa: F401 - fixtures, used by name
    DESKTOP,
    _browser_settings,
    _plain_http_live_server,
    artifacts_dir,
    chromium,
    csp_violations,
    login_context,
)

pytestmark = [pytest.mark.browser, pytest.mark.registry]

PASSWORD = "newcomer-Passw0rd-not-secret"


@pytest.fixture(autouse=True)
def _self_hosted(settings, htpasswd_registry):
    cache.clear()
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    settings.REGSECRETS_INSECURE_REGISTRIES = frozenset({htpasswd_registry.host})
    settings.REGSECRETS_VERIFY_TIMEOUT = 5.0
    yield
    cache.clear()


def test_newcomer_signs_up_and_creates_an_app_pulling_a_private_image(
    transactional_db, login_context, htpasswd_registry, artifacts_dir, csp_violations
):
    host = htpasswd_registry.host
    image = f"{host}/team/app:v1"
    page = login_context(viewport=DESKTOP).new_page()
    clicks = 0

    def click(target: Any) -> None:
        nonlocal clicks
        clicks += 1
        target.click()

    started = time.monotonic()
    page.goto("/")
    click(page.get_by_role("main").get_by_role("link", name="Sign up"))
    page.fill("#id_username", "ada")
    page.fill("#id_email", "ada@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    click(page.get_by_role("button", name="Sign up"))

    # Signed in, in a personal organization: on to the apps.
    click(page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Apps"))
    click(page.get_by_role("link", name="Create your first app"))
    expect(page.get_by_role("heading", name="New app")).to_be_visible()
    page.fill("#id_app_name", "shop")
    page.fill("#id_name", "web")
    page.fill("#id_image", image)

    # The registry secret, made in place: the image's registry chose the provider
    # (a private registry) and filled in its address.
    click(page.get_by_role("link", name="Create a new registry secret…"))
    expect(page.locator("#inline-provider-private")).to_be_checked()
    expect(page.locator("#secret_url")).to_have_value(host)
    expect(page.locator("#host-preview")).to_have_text(host)
    page.fill("#secret_name", "team-registry")
    page.fill("#secret_username", "alice")
    page.fill("#secret_password", "alice-pw")
    click(page.get_by_role("button", name="Test credentials"))
    expect(page.locator("#test-results [data-test-result]")).to_have_attribute(
        "data-test-result", "ok"
    )
    page.screenshot(path=str(artifacts_dir / "newcomer-inline-secret-1280.png"), full_page=True)
    click(page.get_by_role("button", name="Create secret"))
    expect(page.locator("#inline-secret-confirmation")).to_contain_text("team-registry")
    expect(page.locator("#id_registry_secret option:checked")).to_have_text(
        f"team-registry ({host})"
    )

    # Can the platform pull it with that secret? Then create the app.
    click(page.get_by_role("button", name="Verify image"))
    expect(page.locator("#image-verify-result .alert-success")).to_contain_text("can be pulled")
    click(page.get_by_role("button", name="Create app"))
    expect(page.locator(".alert-success")).to_contain_text(
        "App “shop” created with its service “web”"
    )
    seconds = time.monotonic() - started

    expect(page).to_have_url(re.compile(r"/apps/[0-9a-f-]+/$"))
    page.screenshot(path=str(artifacts_dir / "newcomer-done-1280.png"), full_page=True)
    service = Service.objects.select_related("app", "registry_secret").get(name="web")
    assert (service.app.name, service.image) == ("shop", image)
    assert service.registry_secret.name == "team-registry"
    assert secret_fields(service.registry_secret)["password"] == "alice-pw"
    assert "alice-pw" not in page.content()
    (artifacts_dir / "newcomer.json").write_text(
        json.dumps({"clicks": clicks, "seconds": round(seconds, 2)}, indent=1)
    )
    print(f"newcomer: {clicks} clicks, {seconds:.1f} s from sign-up to a created app")
    assert clicks == 9
    assert csp_violations == []
