"""axe-core on every console page, signed in and out, at 1280 and 390 px wide.

One browser context per (account, width), every page visited in it: no serious or
critical violation anywhere. Full-page screenshots of each page at both widths go
to test-artifacts/screens/ and the counts per page to test-artifacts/axe-report.json
(git-ignored), for a reviewer to look at.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from regsecrets.accounts.tokens import token_create
from regsecrets.audit.services import audit_record
from regsecrets.deploy.services import app_create, service_create
from regsecrets.registry_secrets.models import HealthStatus, Secret
from regsecrets.registry_secrets.services import secret_create
from tests.browser.axe import BLOCKING, axe_run, describe, summarize
from tests.browser.conftest import DESKTOP, MOBILE
from tests.conftest import CANARY
from tests.registry_secrets.samples import GCP_KEY

pytestmark = pytest.mark.browser

WIDTHS = {"1280": DESKTOP, "390": MOBILE}
# Pages whose scripts fetch on load (previews, suggestions): checked once those settle.
SCRIPTED = ("secret-new", "secret-edit", "service-new", "service-edit", "app-new")


@pytest.fixture
def console(browser_user, browser_org, make_user, make_org) -> dict[str, Any]:
    """An organization with something on every page, and a newcomer's empty one."""
    org, ada = browser_org, browser_user
    ghcr = secret_create(
        organization=org,
        name="ghcr-acme",
        provider="github_registry",
        data={"username": "octocat", "password": f"ghp_{CANARY}"},
        actor=ada,
    )
    secret_create(
        organization=org,
        name="gcp-artifacts-europe-west1-production",
        provider="gcp_container_registry",
        data={"url": "europe-west1-docker.pkg.dev", "keyfile_content": GCP_KEY},
        actor=ada,
    )
    do = secret_create(
        organization=org,
        name="do-registry",
        provider="digital_ocean_registry",
        data={"password": f"dop_v1_{CANARY}"},
        actor=ada,
    )
    Secret.objects.filter(pk=do.pk).update(
        health_status=HealthStatus.FAILING,
        health_code="AUTH_ACCESS_DENIED",
        health_reason="registry.digitalocean.com rejected the credentials (HTTP 401).",
    )
    audit_record(
        action="secret.verified",
        organization=org,
        actor=ada,
        obj=do,
        details={
            "check": "credentials",
            "host": "registry.digitalocean.com",
            "success": False,
            "code": "AUTH_ACCESS_DENIED",
        },
    )
    shop = app_create(organization=org, name="shop", actor=ada)
    web = service_create(
        app=shop,
        name="web",
        image="ghcr.io/acme/web-frontend-with-a-long-name:2026.11.30",
        registry_secret=ghcr,
        actor=ada,
    )
    token_create(user=ada, organization=org, name="ci-deploy", actor=ada)
    newbie = make_user("newbie")
    empty_org = make_org(newbie, "newbie-org")
    return {"org": org, "secret": ghcr, "app": shop, "service": web, "newbie": (newbie, empty_org)}


def signed_in_pages(c: dict[str, Any]) -> list[tuple[str, str]]:
    s, a, v = c["secret"].pk, c["app"].pk, c["service"].pk
    return [
        ("secrets", "/secrets/"),
        ("secret-picker", "/secrets/new/"),
        ("secret-new-github", "/secrets/new/github/"),
        ("secret-new-gcp", "/secrets/new/gcp/"),
        ("secret-new-docker-config", "/secrets/new/docker-config/"),
        ("secret-detail", f"/secrets/{s}/"),
        ("secret-edit", f"/secrets/{s}/edit/"),
        ("secret-delete-in-use", f"/secrets/{s}/delete/"),
        ("webhook", "/secrets/health/webhook/"),
        ("apps", "/apps/"),
        ("app-new", "/apps/new/"),
        ("app-detail", f"/apps/{a}/"),
        ("app-delete", f"/apps/{a}/delete/"),
        ("service-new", f"/apps/{a}/services/new/"),
        ("service-detail", f"/services/{v}/"),
        ("service-edit", f"/services/{v}/edit/"),
        ("service-delete", f"/services/{v}/delete/"),
        ("activity", "/activity/"),
        ("api-tokens", "/account/api-tokens/"),
        ("organization", "/organization/"),
        ("organization-new", "/organizations/new/"),
        ("password", "/accounts/password/"),
        ("not-found", "/secrets/00000000-0000-0000-0000-000000000000/"),
    ]


EMPTY_PAGES = [
    ("empty-secrets", "/secrets/"),
    ("empty-apps", "/apps/"),
    ("empty-tokens", "/account/api-tokens/"),
]
SIGNED_OUT_PAGES = [
    ("home", "/"),
    ("sign-in", "/accounts/login/"),
    ("sign-up", "/accounts/signup/"),
    ("signed-out-not-found", "/nothing-here/"),
]


def check_pages(
    context: Any, pages: list[tuple[str, str]], width: str, shots: Any, problems: list[str]
) -> dict:
    page = context.new_page()
    report = {}
    for name, path in pages:
        page.goto(path)
        expect(page.locator("main")).to_be_visible()
        if name.startswith(SCRIPTED):
            page.wait_for_load_state("networkidle")  # the scripts' own fetches settled
        violations = axe_run(page)
        report[f"{name}@{width}"] = summarize(violations)
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        blocking = describe(violations)
        if blocking:
            problems.append(f"{path} at {width} px:\n{blocking}")
    page.close()
    return report


def test_every_page_has_no_serious_or_critical_violation(
    login_context, browser_user, browser_org, console, artifacts_dir, csp_violations
):
    shots = artifacts_dir / "screens"
    shots.mkdir(exist_ok=True)
    report: dict[str, dict[str, int]] = {}
    problems: list[str] = []
    newbie, empty_org = console["newbie"]
    for width, viewport in WIDTHS.items():
        report |= check_pages(
            login_context(browser_user, browser_org, viewport=viewport, reduced_motion="reduce"),
            signed_in_pages(console),
            width,
            shots,
            problems,
        )
        report |= check_pages(
            login_context(newbie, empty_org, viewport=viewport, reduced_motion="reduce"),
            EMPTY_PAGES,
            width,
            shots,
            problems,
        )
        report |= check_pages(
            login_context(viewport=viewport, reduced_motion="reduce"),
            SIGNED_OUT_PAGES,
            width,
            shots,
            problems,
        )

    # The menus, opened: the organization switcher and the account menu.
    # Reduced motion: Bootstrap's transitions off, so axe reads colours as they settle.
    page = login_context(
        browser_user, browser_org, viewport=DESKTOP, reduced_motion="reduce"
    ).new_page()
    page.goto("/apps/")
    for menu in ("#org-menu", "#account-menu"):
        page.click(menu)
        expect(page.locator(f"[aria-labelledby='{menu[1:]}']")).to_be_visible()
        violations = axe_run(page)
        report[f"menu-{menu[1:]}@1280"] = summarize(violations)
        if describe(violations):
            problems.append(f"{menu} open:\n{describe(violations)}")
        page.keyboard.press("Escape")

    # The new-app page with the inline secret panel open, a provider chosen.
    page.goto("/apps/new/")
    page.fill("#id_image", "ghcr.io/acme/web:1")
    page.click("#new-secret-link")
    expect(page.locator("#secret_name")).to_be_visible()
    expect(page.locator("#live-suggestion")).to_be_visible()  # ghcr-acme serves ghcr.io
    page.wait_for_load_state("networkidle")
    violations = axe_run(page)
    report["app-new-inline-secret@1280"] = summarize(violations)
    page.screenshot(path=str(shots / "app-new-inline-secret-1280.png"), full_page=True)
    if describe(violations):
        problems.append(f"inline secret panel:\n{describe(violations)}")

    (artifacts_dir / "axe-report.json").write_text(json.dumps(report, indent=1, sort_keys=True))
    assert not problems, "\n".join(problems)
    assert all(counts[impact] == 0 for counts in report.values() for impact in BLOCKING)
    assert len(report) == 2 * (len(signed_in_pages(console)) + len(EMPTY_PAGES) + 4) + 3
    assert csp_violations == []
