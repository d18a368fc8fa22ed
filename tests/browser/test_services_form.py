"""The service form in Chromium: inline secret creation, mismatch error, suggestions."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from regsecrets.deploy.models import Service
from regsecrets.deploy.services import app_create
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_create
from tests.conftest import CANARY

pytestmark = pytest.mark.browser


@pytest.fixture
def shop(browser_org):
    return app_create(organization=browser_org, name="shop")


def _open_form(page, app):
    page.goto(f"/apps/{app.pk}/services/new/")
    page.fill("#id_name", "web")
    page.fill("#id_image", "ghcr.io/acme/web:1.0")


def test_inline_secret_creation_selects_it_and_keeps_the_service_input(
    page, shop, browser_org, csp_violations
):
    _open_form(page, shop)
    page.select_option("#id_registry_secret", "new")
    panel = page.locator("#inline-secret")
    expect(panel).to_be_visible()
    # Choosing "new" does not leave the select on that option.
    expect(page.locator("#id_registry_secret")).to_have_value("")
    # The image's registry (ghcr.io) preselects GitHub, and says so.
    expect(page.locator("#inline-provider-github")).to_be_checked()
    expect(page.locator("#inline-provider-hint")).to_contain_text("ghcr.io")
    # The secret pages' order and tools: name first, host preview, Test credentials.
    expect(page.locator("#inline-secret-fields input").first).to_have_attribute("name", "name")
    expect(page.locator("#host-preview")).to_have_text("ghcr.io")
    expect(page.locator("#test-credentials")).to_be_visible()
    page.fill("#secret_name", "ghcr-bot")
    page.fill("#secret_username", "octocat")
    page.fill("#secret_password", CANARY)
    page.click("#inline-secret-save")
    expect(panel).to_be_hidden()
    expect(page.locator("#inline-secret-confirmation")).to_have_text(
        "Secret “ghcr-bot” created and selected for this service."
    )

    secret = Secret.objects.get(organization=browser_org, name="ghcr-bot")
    select = page.locator("#id_registry_secret")
    expect(select).to_have_value(str(secret.pk))
    expect(select.locator("option:checked")).to_have_text("ghcr-bot (ghcr.io)")
    expect(page.locator("#id_name")).to_have_value("web")
    expect(page.locator("#id_image")).to_have_value("ghcr.io/acme/web:1.0")
    assert CANARY not in page.content()

    page.click("#service-save")
    expect(page.locator("#service-secret")).to_contain_text("ghcr-bot")
    expect(page.locator("#service-pull-key")).to_contain_text("ghcr.io")
    assert Service.objects.get(app=shop, name="web").registry_secret == secret
    assert csp_violations == []


def test_inline_secret_errors_show_on_the_fields_without_echoing_the_password(
    page, shop, browser_org, csp_violations
):
    _open_form(page, shop)
    page.click("#new-secret-link")
    expect(page.locator("#inline-provider-github")).to_be_checked()
    page.fill("#secret_name", "ghcr-bot")
    page.fill("#secret_password", CANARY)
    page.click("#inline-secret-save")
    username = page.locator("#secret_username")
    expect(username).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#secret_username_inline_error")).to_contain_text("required")
    assert not Secret.objects.filter(organization=browser_org).exists()
    # Fixing the field and retrying works from the same panel.
    username.fill("octocat")
    page.click("#inline-secret-save")
    expect(page.locator("#inline-secret")).to_be_hidden()
    assert Secret.objects.filter(organization=browser_org, name="ghcr-bot").exists()
    assert csp_violations == []


def test_cancel_closes_the_panel_and_keeps_the_previous_choice(page, shop):
    _open_form(page, shop)
    page.select_option("#id_registry_secret", "new")
    page.click("label[for=inline-provider-docker-hub]")
    expect(page.locator("#secret_username")).to_be_visible()
    page.click("#inline-secret-cancel")
    expect(page.locator("#inline-secret")).to_be_hidden()
    expect(page.locator("#id_registry_secret")).to_have_value("")


def test_secret_for_another_registry_is_a_field_error(page, shop, browser_org, csp_violations):
    hub = secret_create(
        organization=browser_org,
        name="hub",
        provider="docker_hub_registry",
        data={"username": "acme", "password": "x"},
    )
    _open_form(page, shop)
    page.select_option("#id_registry_secret", str(hub.pk))
    page.click("#service-save")
    field = page.locator("#id_registry_secret")
    expect(field).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(
        page.get_by_text(
            re.compile("holds credentials for docker.io, which do not serve images on ghcr.io")
        )
    ).to_be_visible()
    expect(page.locator("#id_image")).to_have_value("ghcr.io/acme/web:1.0")
    assert not Service.objects.exists()
    assert csp_violations == []


def test_live_suggestion_offers_the_matching_secret(page, shop, browser_org, csp_violations):
    secret = secret_create(
        organization=browser_org,
        name="ghcr-bot",
        provider="github_registry",
        data={"username": "octocat", "password": "ghp_x"},
    )
    page.goto(f"/apps/{shop.pk}/services/new/")
    page.fill("#id_name", "web")
    page.locator("#id_image").press_sequentially("ghcr.io/acme/web")
    live = page.locator("#live-suggestion")
    expect(live).to_be_visible()
    expect(live).to_contain_text("The secret “ghcr-bot” matches the registry ghcr.io — select it?")
    live.get_by_role("button", name="Select it").click()
    expect(page.locator("#id_registry_secret")).to_have_value(str(secret.pk))
    expect(live).to_be_hidden()
    page.click("#service-save")
    expect(page.locator("#service-secret")).to_contain_text("ghcr-bot")
    assert csp_violations == []


def test_saving_without_secret_when_one_matches_asks_to_confirm_public(page, shop, browser_org):
    secret_create(
        organization=browser_org,
        name="ghcr-bot",
        provider="github_registry",
        data={"username": "octocat", "password": "ghp_x"},
    )
    page.goto(f"/apps/{shop.pk}/services/new/")
    page.fill("#id_name", "web")
    page.fill("#id_image", "ghcr.io/acme/public-web")
    page.click("#service-save")
    expect(page.locator("#server-suggestion")).to_contain_text(
        "matches the registry ghcr.io — select it?"
    )
    assert not Service.objects.exists()
    # Choosing the secret makes the suggestion and "this image is public" go away...
    page.select_option("#id_registry_secret", label="ghcr-bot (ghcr.io)")
    expect(page.locator("#server-suggestion")).to_be_hidden()
    expect(page.locator("#id_public_image")).to_be_hidden()
    # ...and going back to no secret brings them back.
    page.select_option("#id_registry_secret", "")
    expect(page.locator("#server-suggestion")).to_be_visible()
    page.check("#id_public_image")
    page.click("#service-save")
    expect(page.locator("#service-secret")).to_contain_text("public image")
    assert Service.objects.get(name="web").registry_secret is None
