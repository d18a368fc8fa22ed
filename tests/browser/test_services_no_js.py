"""The service form without JavaScript: the secret pages' round trip keeps the input."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from regsecrets.deploy.models import Service
from regsecrets.deploy.services import app_create
from regsecrets.registry_secrets.models import Secret

pytestmark = pytest.mark.browser


def test_new_secret_round_trip_without_javascript(
    login_context, browser_user, browser_org, csp_violations
):
    app = app_create(organization=browser_org, name="shop")
    page = login_context(browser_user, browser_org, java_script_enabled=False).new_page()
    page.goto(f"/apps/{app.pk}/services/new/")
    page.fill("#id_name", "web")
    page.fill("#id_image", "ghcr.io/acme/web:1.0")
    page.select_option("#id_registry_secret", "new")
    page.click("#service-save")

    # The secret pages: pick the provider, fill its form, save.
    expect(page).to_have_url(re.compile(r"/secrets/new/\?next="))
    page.locator("a[data-provider='github']").click()
    page.fill("#id_name", "ghcr-bot")
    page.fill("#id_username", "octocat")
    page.fill("#id_password", "ghp_x")
    page.get_by_role("button", name="Save secret").click()

    # Back on the service form, with the new secret selected and the input kept.
    secret = Secret.objects.get(organization=browser_org, name="ghcr-bot")
    expect(page).to_have_url(re.compile(rf"/apps/{app.pk}/services/new/\?.*secret={secret.pk}"))
    expect(page.locator("#id_registry_secret")).to_have_value(str(secret.pk))
    expect(page.locator("#id_name")).to_have_value("web")
    expect(page.locator("#id_image")).to_have_value("ghcr.io/acme/web:1.0")
    page.click("#service-save")
    expect(page.locator("#service-secret")).to_contain_text("ghcr-bot")
    assert Service.objects.get(app=app, name="web").registry_secret == secret
    assert csp_violations == []
