"""The service form's secret picker in Chromium: search as you type fills the select
with a bounded answer; Enter searches rather than saves; a suggested secret the
select does not hold yet is added when chosen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from regsecrets.deploy.models import Service
from regsecrets.deploy.selectors import SEARCH_LIMIT
from regsecrets.deploy.services import app_create
from regsecrets.registry_secrets.services import secret_create

pytestmark = pytest.mark.browser


def _secret(org, name: str, provider: str = "github_registry", **data: str):
    return secret_create(
        organization=org,
        name=name,
        provider=provider,
        data=data or {"username": "octocat", "password": "ghp_x"},
    )


@pytest.fixture
def shop(browser_org):
    return app_create(organization=browser_org, name="shop")


def test_typing_a_name_fills_the_select_with_matches_and_the_choice_saves(
    page, shop, browser_org, csp_violations
):
    for n in range(SEARCH_LIMIT + 5):
        _secret(browser_org, f"team-{n:02d}")
    wanted = _secret(browser_org, "prod-ghcr")
    page.goto(f"/apps/{shop.pk}/services/new/")
    select = page.locator("#id_registry_secret")
    expect(select.locator("option")).to_have_count(SEARCH_LIMIT + 2)

    page.locator("#id_secret_search").press_sequentially("prod")
    expect(select.locator("option")).to_have_count(3)
    expect(page.locator("#secret-search-status")).to_contain_text("1 secret in the list")
    page.select_option("#id_registry_secret", str(wanted.pk))
    page.fill("#id_name", "web")
    page.fill("#id_image", "ghcr.io/acme/web:1")
    page.click("#service-save")
    expect(page.locator("#service-secret")).to_contain_text("prod-ghcr")
    assert Service.objects.get(name="web").registry_secret == wanted
    assert csp_violations == []


def test_enter_in_the_search_box_searches_and_does_not_save(page, shop, browser_org, csp_violations):
    _secret(browser_org, "prod-ghcr")
    _secret(browser_org, "dev-ghcr")
    page.goto(f"/apps/{shop.pk}/services/new/")
    page.fill("#id_name", "web")
    page.fill("#id_image", "nginx:1")
    page.fill("#id_secret_search", "dev")
    page.locator("#id_secret_search").press("Enter")
    expect(page.locator("#id_registry_secret option")).to_have_count(3)
    expect(page.locator("#id_registry_secret")).to_contain_text("dev-ghcr")
    assert not Service.objects.exists()
    assert csp_violations == []


def test_the_current_choice_stays_when_the_search_does_not_find_it(page, shop, browser_org):
    kept = _secret(browser_org, "prod-ghcr")
    _secret(browser_org, "dev-ghcr")
    page.goto(f"/apps/{shop.pk}/services/new/")
    page.select_option("#id_registry_secret", str(kept.pk))
    page.locator("#id_secret_search").press_sequentially("dev")
    expect(page.locator("#id_registry_secret option")).to_have_count(4)
    expect(page.locator("#id_registry_secret")).to_have_value(str(kept.pk))


def test_a_suggested_secret_outside_the_select_is_added_when_chosen(
    page, shop, browser_org, csp_violations
):
    for n in range(SEARCH_LIMIT + 5):
        _secret(browser_org, f"quay-{n:02d}", "private_registry", url="quay.io", username="u", password="p")
    late = _secret(browser_org, "zz-ghcr")
    page.goto(f"/apps/{shop.pk}/services/new/")
    assert page.locator(f"#id_registry_secret option[value='{late.pk}']").count() == 0
    page.fill("#id_name", "web")
    page.locator("#id_image").press_sequentially("ghcr.io/acme/web")
    live = page.locator("#live-suggestion")
    expect(live).to_contain_text("zz-ghcr")
    live.get_by_role("button", name="Select it").click()
    expect(page.locator("#id_registry_secret")).to_have_value(str(late.pk))
    page.click("#service-save")
    expect(page.locator("#service-secret")).to_contain_text("zz-ghcr")
    assert csp_violations == []
