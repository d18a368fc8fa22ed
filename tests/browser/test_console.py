"""The console as a person sees it (issue 17): navigation, words, forms and small screens.

Grouped by browser context so the whole file runs in a few seconds: one desktop
context and one phone-width context, several pages each.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from regsecrets.audit.services import audit_record
from regsecrets.registry_secrets.services import secret_create
from tests.browser.conftest import DESKTOP, MOBILE
from tests.conftest import CANARY
from tests.registry_secrets.samples import GCP_KEY

pytestmark = pytest.mark.browser


@pytest.fixture
def secrets(browser_user, browser_org):
    ghcr = secret_create(
        organization=browser_org,
        name="ghcr-acme",
        provider="github_registry",
        data={"username": "octocat", "password": f"ghp_{CANARY}"},
        actor=browser_user,
    )
    secret_create(
        organization=browser_org,
        name="gcp-artifacts",
        provider="gcp_container_registry",
        data={"url": "europe-west1-docker.pkg.dev", "keyfile_content": GCP_KEY},
        actor=browser_user,
    )
    audit_record(
        action="secret.verified",
        organization=browser_org,
        obj=ghcr,
        details={
            "check": "credentials",
            "host": "ghcr.io",
            "success": False,
            "code": "AUTH_ACCESS_DENIED",
        },
    )
    return ghcr


def test_navigation_words_and_forms_at_desktop_width(
    login_context, browser_user, browser_org, secrets, csp_violations
):
    page = login_context(browser_user, browser_org, viewport=DESKTOP).new_page()

    # Identity and navigation: the organization and the person are two labelled menus.
    page.goto("/secrets/")
    org_menu = page.locator("#org-menu")
    expect(org_menu).to_contain_text("Organization")
    expect(org_menu).to_contain_text(browser_org.name)
    expect(page.locator("#account-menu")).to_have_attribute(
        "aria-label", f"Your account: {browser_user.username}"
    )
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_contain_text(browser_org.name)
    expect(page.locator(".navbar .nav-link.active")).to_have_text(re.compile("Registry secrets"))
    # A visible focus ring for keyboard users.
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"

    # Lists: a name or host never breaks inside a word.
    name_cell = page.locator("#secret-table td.cell-name").first
    assert (
        page.evaluate("e => getComputedStyle(e).whiteSpace", name_cell.element_handle()) == "nowrap"
    )
    expect(page.locator("#secret-table")).to_contain_text(
        "puller@demo-project.iam.gserviceaccount.com"
    )
    expect(page.locator("#secret-table")).not_to_contain_text("_json_key")
    # Sorting: by name, then the other way, by a click on the header.
    names = page.locator("#secret-table td.cell-name a")
    expect(names).to_have_text(["gcp-artifacts", "ghcr-acme"])
    page.click("#sort-name")
    expect(names).to_have_text(["ghcr-acme", "gcp-artifacts"])
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Name")
    page.click("#sort-provider")
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Registry")

    # Activity: sentences and links, failures marked, no codes.
    page.goto("/activity/")
    failed = page.locator("#activity-table tr.activity-failed")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text(
        "Check of ghcr-acme on ghcr.io failed: the registry rejected the credentials"
    )
    expect(failed.get_by_role("link", name="ghcr-acme")).to_have_attribute(
        "href", f"/secrets/{secrets.pk}/"
    )
    expect(page.locator("#activity-table")).not_to_contain_text("secret.verified")
    expect(page.locator("#activity-table")).not_to_contain_text("AUTH_ACCESS_DENIED")

    # Forms: examples, required markers, a host preview that is not a value, console links.
    page.goto("/secrets/new/azure/")
    expect(page.locator("#id_registry_name")).to_have_attribute("placeholder", "e.g. myregistry")
    expect(page.locator("label[for=id_password] .asteriskField")).to_have_count(1)
    preview = page.locator("#host-preview")
    expect(preview).to_have_class(re.compile(r"\bhost-preview-empty\b"))
    page.fill("#id_registry_name", "myreg01")
    expect(preview).to_have_text("myreg01.azurecr.io")
    expect(preview).not_to_have_class(re.compile(r"\bhost-preview-empty\b"))
    expect(page.locator(".provider-console-link")).to_have_attribute("target", "_blank")

    page.goto("/secrets/new/docker-config/")
    expect(page.locator("label[for=id_config] .asteriskField")).to_have_count(1)
    expect(page.locator("label[for=id_config_file] .asteriskField")).to_have_count(1)

    # One round of errors: every field at once, the token to retype said beside it.
    page.goto("/secrets/new/github/")
    page.fill("#id_name", "Bad Name!")
    page.fill("#id_username", "me@example.com")
    page.fill("#id_password", f"github_pat_{CANARY}")
    page.get_by_role("button", name="Save secret").click()
    for field in ("name", "username", "password"):
        expect(page.locator(f"#id_{field}")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#id_username")).to_have_value("me@example.com")
    expect(page.locator("#id_password")).to_have_value("")
    expect(page.locator("#id_password_helptext")).to_contain_text("Type this again")
    assert CANARY not in page.content()

    # The edit form says a credential is stored, without showing it.
    page.goto(f"/secrets/{secrets.pk}/edit/")
    expect(page.locator("#id_password")).to_have_attribute(
        "placeholder", "stored — leave empty to keep"
    )
    expect(page.locator("#host-preview")).to_have_text("ghcr.io")
    assert csp_violations == []


def test_lists_become_cards_at_phone_width(
    login_context, browser_user, browser_org, secrets, csp_violations
):
    page = login_context(browser_user, browser_org, viewport=MOBILE).new_page()
    page.goto("/secrets/")
    table = page.locator("#secret-table")
    # Every column is reachable without scrolling sideways: each cell shows its label.
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    row = table.locator("tbody tr").filter(has_text="gcp-artifacts")
    assert row.evaluate("e => getComputedStyle(e).display") == "block"
    for label in ("Health", "Registry", "Signs in as", "Services", "Updated"):
        cell = row.locator(f"td[data-label='{label}']")
        expect(cell).to_be_visible()
        assert cell.evaluate("e => getComputedStyle(e, '::before').content") == f'"{label}"'
    expect(row.get_by_role("link", name="Edit gcp-artifacts")).to_be_visible()
    # The email wraps at its dots, never inside a word.
    identity = row.locator("td[data-label='Signs in as']")
    assert identity.evaluate("e => e.scrollWidth <= e.clientWidth")

    # The navigation collapses behind one button that opens both menus.
    page.get_by_role("button", name="Toggle navigation").click()
    expect(page.locator("#org-menu")).to_be_visible()
    expect(page.locator("#account-menu")).to_be_visible()

    page.goto("/activity/")
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    expect(page.locator("#activity-table tr.activity-failed")).to_be_visible()
    assert csp_violations == []
