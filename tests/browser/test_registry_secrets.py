"""The registry secret pages in a real Chromium, with and without JavaScript."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_create, secret_fields
from tests.conftest import CANARY
from tests.registry_secrets.samples import INVALID, VALID

pytestmark = pytest.mark.browser

NEW_PASSWORD = "browser-replaced-9d2e4a"


def fill_provider_fields(page, data: dict[str, str]) -> None:
    for name, value in data.items():
        page.locator(f"#id_{name}").fill(value)


def assert_no_canary(page) -> None:
    assert CANARY not in page.content(), page.url


def test_picker_form_and_list_screenshots(page, browser_org, artifacts_dir, csp_violations):
    page.goto("/secrets/")
    expect(page.locator("#empty-state")).to_be_visible()
    page.get_by_role("link", name="Add your first registry secret").click()
    expect(page).to_have_url(re.compile(r"/secrets/new/$"))
    expect(page.locator("#provider-picker .card")).to_have_count(9)
    page.screenshot(path=str(artifacts_dir / "secrets-picker.png"), full_page=True)

    page.get_by_role("link", name="Azure Container Registry").click()
    expect(page).to_have_url(re.compile(r"/secrets/new/azure/$"))
    page.locator("#id_name").fill("acr-prod")
    page.locator("#id_registry_name").fill("myreg01")
    # The live preview comes from Provider.preview_host through the JSON endpoint.
    expect(page.locator("#host-preview")).to_have_text("myreg01.azurecr.io")
    page.locator("#id_username").fill("puller")
    page.locator("#id_password").fill(CANARY)
    page.screenshot(path=str(artifacts_dir / "secrets-form-azure.png"), full_page=True)
    page.get_by_role("button", name="Save secret").click()

    expect(page.locator("#secret-hosts")).to_have_text("myreg01.azurecr.io")
    assert_no_canary(page)
    page.goto("/secrets/")
    expect(page.locator("#secret-table tbody tr")).to_have_count(1)
    page.screenshot(path=str(artifacts_dir / "secrets-list.png"), full_page=True)
    assert csp_violations == []


def test_the_ecr_preview_follows_region_and_account(page, browser_org, csp_violations):
    page.goto("/secrets/new/aws-ecr/")
    expect(page.locator("#provider-help")).to_contain_text("ecr:GetAuthorizationToken")
    page.locator("#id_region").fill("eu-west-1")
    page.locator("#id_registry_id").fill("123456789012")
    expect(page.locator("#host-preview")).to_have_text(
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    )
    page.locator("#id_region").fill("cn-north-1")
    expect(page.locator("#host-preview")).to_have_text(
        "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
    )
    assert csp_violations == []


@pytest.mark.parametrize("slug", list(VALID))
def test_create_one_secret_per_provider(page, browser_org, slug, csp_violations):
    data, hosts, username = VALID[slug]
    page.goto(f"/secrets/new/{slug}/")
    page.locator("#id_name").fill(f"{slug}-secret")
    fill_provider_fields(page, data)
    page.get_by_role("button", name="Save secret").click()
    expect(page.locator("#secret-hosts li")).to_have_text(hosts)
    assert_no_canary(page)
    secret = Secret.objects.get(organization=browser_org, name=f"{slug}-secret")
    assert secret.username == username
    assert csp_violations == []


def test_switching_provider_keeps_the_name(page, browser_org, csp_violations):
    page.goto("/secrets/new/docker-hub/")
    switch = page.locator("#provider-switch")
    expect(switch).to_be_visible()
    expect(page.locator("#change-provider-link")).to_be_hidden()
    page.locator("#id_name").fill("keep-me")
    page.locator("#id_username").fill("octocat")

    switch.select_option("azure")
    expect(page.locator("#provider-label")).to_have_text("Azure Container Registry")
    expect(page).to_have_url(re.compile(r"/secrets/new/azure/$"))
    expect(page.locator("#id_name")).to_have_value("keep-me")
    expect(page.locator("#id_registry_name")).to_be_visible()

    switch.select_option("gcp")
    expect(page.locator("#provider-label")).to_have_text("Google Cloud Artifact Registry")
    page.locator("#id_url").fill("europe-west1-docker.pkg.dev/my-project/images")
    expect(page.locator("#host-preview")).to_have_text("europe-west1-docker.pkg.dev")

    switch.select_option("azure")
    data, _, _ = VALID["azure"]
    fill_provider_fields(page, data)
    expect(page.locator("#host-preview")).to_have_text("myregistry.azurecr.io")
    expect(page.locator("#id_name")).to_have_value("keep-me")
    page.get_by_role("button", name="Save secret").click()
    expect(page.locator("#secret-hosts")).to_have_text("myregistry.azurecr.io")
    assert Secret.objects.get(name="keep-me").provider == "azure_container_registry"
    assert csp_violations == []


def test_without_javascript(login_context, browser_user, browser_org, csp_violations):
    page = login_context(browser_user, browser_org, java_script_enabled=False).new_page()
    page.goto("/secrets/new/")
    page.get_by_role("link", name="GitHub Container Registry").click()
    expect(page.locator("#provider-switch-group")).to_be_hidden()
    expect(page.locator("#change-provider-link")).to_be_visible()
    # The server renders the preview the provider knows without any input.
    expect(page.locator("#host-preview")).to_have_text("ghcr.io")

    # An invalid submission comes back with a field error and the name kept.
    data, field, kept = INVALID["github"]
    page.locator("#id_name").fill("gh-nojs")
    fill_provider_fields(page, data)
    page.get_by_role("button", name="Save secret").click()
    expect(page.locator(f"#id_{field}")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#id_name")).to_have_value("gh-nojs")
    expect(page.locator("#id_username")).to_have_value(kept)
    expect(page.locator("#id_password")).to_have_value("")
    assert_no_canary(page)

    page.locator("#id_password").fill(VALID["github"][0]["password"])
    page.get_by_role("button", name="Save secret").click()
    expect(page.locator("#secret-hosts")).to_have_text("ghcr.io")
    assert Secret.objects.get(name="gh-nojs").provider == "github_registry"
    assert csp_violations == []


def test_edit_keeps_then_replaces_the_password(page, browser_user, browser_org, csp_violations):
    secret = secret_create(
        organization=browser_org,
        name="private-one",
        provider="private",
        data={"url": "registry.example.com", "username": "deploy", "password": CANARY},
        actor=browser_user,
    )
    page.goto(f"/secrets/{secret.pk}/")
    page.get_by_role("link", name="Edit").click()
    expect(page.locator("#id_password")).to_have_value("")
    expect(page.locator("#id_password")).to_have_attribute("autocomplete", "new-password")
    expect(page.locator("#id_username")).to_have_value("deploy")
    assert_no_canary(page)
    page.locator("#id_username").fill("deployer")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".alert-success")).to_contain_text("updated")
    secret.refresh_from_db()
    assert secret.username == "deployer"
    assert secret_fields(secret)["password"] == CANARY

    page.get_by_role("link", name="Edit").click()
    page.locator("#id_password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".alert-success")).to_contain_text("updated")
    assert NEW_PASSWORD not in page.content()
    secret.refresh_from_db()
    assert secret_fields(secret)["password"] == NEW_PASSWORD
    assert csp_violations == []


def test_delete_is_refused_while_in_use_then_works(page, browser_user, browser_org, csp_violations):
    from regsecrets.deploy.models import App, Service

    secret = secret_create(
        organization=browser_org,
        name="in-use",
        provider="docker-hub",
        data={"username": "octocat", "password": CANARY},
        actor=browser_user,
    )
    app = App.objects.create(organization=browser_org, name="shop")
    service = Service.objects.create(
        app=app, organization=browser_org, name="web", image="octocat/web:1", registry_secret=secret
    )
    page.goto(f"/secrets/{secret.pk}/")
    expect(page.locator("#secret-services")).to_contain_text("octocat/web:1")
    page.get_by_role("link", name="Delete").click()
    expect(page.locator("#delete-refused")).to_be_visible()
    expect(page.locator("#secret-services")).to_contain_text("shop/web")
    expect(page.locator("#delete-form")).to_have_count(0)

    service.delete()
    page.reload()
    page.locator("#id_confirm_name").fill("wrong")
    page.get_by_role("button", name="Delete secret").click()
    expect(page.locator("#id_confirm_name")).to_have_class(re.compile(r"\bis-invalid\b"))
    page.locator("#id_confirm_name").fill("in-use")
    page.get_by_role("button", name="Delete secret").click()
    expect(page).to_have_url(re.compile(r"/secrets/$"))
    expect(page.locator(".alert-success")).to_contain_text("deleted")
    assert not Secret.objects.filter(pk=secret.pk).exists()
    assert csp_violations == []


def test_canary_never_comes_back_in_any_page(page, browser_org, csp_violations):
    fetched: list[str] = []

    def inspect(route):
        # The previews and fragments JavaScript fetches are checked as well.
        if route.request.resource_type != "fetch":
            route.continue_()
            return
        response = route.fetch()
        fetched.append(response.text())
        route.fulfill(response=response)

    page.route("**/*", inspect)
    page.goto("/secrets/new/docker-hub/")
    page.locator("#provider-switch").select_option("docker-config")
    expect(page.locator("#provider-label")).to_have_text("Docker config.json")
    checked = 0
    for slug in ("docker-hub", "private", "docker-config", "gcp", "aws-ecr"):
        # A failed submission first: the canary must not be echoed into the form.
        page.goto(f"/secrets/new/{slug}/")
        page.locator("#id_name").fill("Bad Name")
        fill_provider_fields(page, VALID[slug][0])
        page.get_by_role("button", name="Save secret").click()
        expect(page.locator("#id_name")).to_have_class(re.compile(r"\bis-invalid\b"))
        assert_no_canary(page)
        for password in page.locator("input[type=password]").all():
            expect(password).to_have_value("")
        for textarea in page.locator("textarea").all():
            expect(textarea).to_have_value("")
        # Then a successful one, its detail and its edit page.
        page.locator("#id_name").fill(f"{slug}-ok")
        fill_provider_fields(page, VALID[slug][0])
        page.get_by_role("button", name="Save secret").click()
        expect(page.locator("#secret-hosts")).to_be_visible()
        assert_no_canary(page)
        page.get_by_role("link", name="Edit").click()
        expect(page.locator("#secret-form")).to_be_visible()
        assert_no_canary(page)
        checked += 3
    page.goto("/secrets/")
    assert_no_canary(page)
    assert len(fetched) >= 3  # a fragment and some previews
    for body in fetched:
        assert CANARY not in body
    assert checked == 15
    assert csp_violations == []
