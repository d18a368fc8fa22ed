"""Playwright fixtures: Debian's Chromium against pytest-django's live server.

Reusable by every browser test in the project:

- ``chromium``: one browser per session (skipped when /usr/bin/chromium is missing,
  unless CI=true, where that is a failure);
- ``browser_user`` / ``browser_org``: a user owning an organization;
- ``login_context(user=..., organization=..., java_script_enabled=...)``: a new
  browser context already signed in (session cookie, no login form round trip);
- ``page``: a page of such a context for ``browser_user`` in ``browser_org``;
- ``csp_violations``: console messages mentioning "Content Security Policy" from
  every page opened through these fixtures (tests assert it stays empty);
- ``artifacts_dir``: test-artifacts/ at the repository root (git-ignored), for
  screenshots and the accessibility report;
- ``DESKTOP`` / ``MOBILE``: viewports (1280 and 390 px wide) for ``login_context``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to
# run in a thread with a running loop unless told it is safe (it is: one thread).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS_DIR = Path(__file__).resolve().parents[2] / "test-artifacts"
BROWSER_PASSWORD = "browser-Passw0rd-not-secret"
# The two widths every page is checked and photographed at.
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in tests/browser/ is a browser test, marked or not."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


# The running browser, shared by every definition of the ``chromium`` fixture: a
# test module elsewhere (tests/verification/test_faces_browser.py) imports these
# fixtures, which makes a second session fixture to pytest, and Playwright's sync
# API cannot start twice in one thread.
_RUNNING: dict[str, Any] = {}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if "browser" in _RUNNING:
        yield _RUNNING["browser"]
        return
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing; CI installs Debian's chromium package.")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        _RUNNING["browser"] = browser
        try:
            yield browser
        finally:
            _RUNNING.pop("browser", None)
            browser.close()


PLAIN_HTTP_SETTINGS = {
    "SECURE_SSL_REDIRECT": False,
    "SESSION_COOKIE_SECURE": False,
    "CSRF_COOKIE_SECURE": False,
}


@pytest.fixture(scope="session", autouse=True)
def _plain_http_live_server() -> Iterator[None]:
    """The live server speaks plain HTTP: no redirect to HTTPS, no secure-only cookies.

    Session-scoped and autouse so it is in force before pytest-django's session
    ``live_server`` builds its handler: SecurityMiddleware reads SECURE_SSL_REDIRECT
    once, when the middleware chain is built, and the function-level ``settings``
    fixture comes too late for it.
    """
    from django.test.utils import override_settings

    with override_settings(**PLAIN_HTTP_SETTINGS):
        yield


@pytest.fixture
def _browser_settings(settings: Any) -> None:
    for name, value in PLAIN_HTTP_SETTINGS.items():
        setattr(settings, name, value)


@pytest.fixture
def browser_user(transactional_db: None, make_user: Callable[..., Any]) -> Any:
    return make_user("browser-user", password=BROWSER_PASSWORD)


@pytest.fixture
def browser_org(browser_user: Any, make_org: Callable[..., Any]) -> Any:
    return make_org(browser_user, "browser-org")


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture
def csp_violations() -> list[str]:
    return []


def session_cookie(user: Any, organization: Any = None) -> tuple[str, str]:
    """A signed-in session for ``user`` (in ``organization``), as (name, value)."""
    from django.conf import settings
    from django.test import Client

    from regsecrets.accounts.context import SESSION_KEY

    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    if organization is not None:
        session = client.session
        session[SESSION_KEY] = organization.pk
        session.save()
    return settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def login_context(
    chromium: Any,
    live_server: Any,
    _browser_settings: None,
    csp_violations: list[str],
) -> Iterator[Callable[..., Any]]:
    """Factory of signed-in browser contexts; each records CSP console messages."""
    contexts: list[Any] = []

    def watch(page: Any) -> None:
        def on_console(message: Any) -> None:
            if "Content Security Policy" in message.text:
                csp_violations.append(f"{page.url}: {message.text}")

        page.on("console", on_console)

    def make(
        user: Any = None,
        organization: Any = None,
        *,
        java_script_enabled: bool = True,
        **options: Any,
    ) -> Any:
        """``options`` go to Playwright's new_context (e.g. ``viewport=MOBILE``)."""
        context = chromium.new_context(
            base_url=live_server.url, java_script_enabled=java_script_enabled, **options
        )
        context.set_default_timeout(10_000)
        context.on("page", watch)
        if user is not None:
            name, value = session_cookie(user, organization)
            context.add_cookies([{"name": name, "value": value, "url": live_server.url}])
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(login_context: Callable[..., Any], browser_user: Any, browser_org: Any) -> Any:
    """A JavaScript-enabled page signed in as ``browser_user`` in ``browser_org``."""
    return login_context(browser_user, browser_org).new_page()
