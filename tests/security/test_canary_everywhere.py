"""A canary credential goes in through every face and never comes out again.

The canary is submitted through the browser form (Chromium), the site's forms
through the test client, the service form's inline panel, the admin's two-step
add, the /v1 API and the ``create_registry_secret`` command. Then every place a
credential could surface is scanned: every page that shows the secrets, the
admin, the API's list and get replies, every log record (DEBUG, SQL included),
Django's technical 500 report, the audit table and every text column of every
table through a raw cursor. Only the explicit reveal path returns it, which the
tests call last to prove the data is really there.
"""

# The imported browser fixtures are requested by name as test arguments, which
# pyflakes reads as redefinitions.
# ruff: noqa: F811

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.views.debug import ExceptionReporter

from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.models import App, Service
from regsecrets.deploy.services import app_create, service_create
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_config, secret_fields
from tests.api.conftest import GCP_KEY_B64, Api
from tests.browser.conftest import (  # noqa: F401 - fixtures, used by name
    _browser_settings,
    _plain_http_live_server,
    browser_org,
    browser_user,
    chromium,
    csp_violations,
    login_context,
)
from tests.conftest import CANARY, TEST_KEY_A
from tests.registry_secrets.samples import DOCKER_CONFIG

ROOT = Path(__file__).resolve().parents[2]

# What each face submits; every credential embeds the canary.
WEB_FORM = {"name": "web-gitlab", "username": "gitlab+deploy-token-7", "password": CANARY}
INLINE_FORM = {"name": "inline-do", "password": f"dop_v1_{CANARY}"}
CONFIG_FORM = {"name": "web-config", "config": DOCKER_CONFIG}
ADMIN_FORM = {
    "name": "admin-private",
    "url": "registry.example.com",
    "username": "deploy",
    "password": CANARY,
}
API_BODY = {
    "name": "api-gcp",
    "type": "REGISTRY",
    "gcp_container_registry": {
        "keyfile_content": GCP_KEY_B64,
        "url": "europe-west1-docker.pkg.dev",
    },
}
COMMAND_STDIN = {"username": "octocat", "password": f"ghp_{CANARY}"}
BROWSER_FORM = {"name": "browser-hub", "username": "octocat", "password": CANARY}


# --- what must never be seen --------------------------------------------------------


def needles_for(secrets: Iterable[Secret]) -> set[str]:
    """The canary and every credential-bearing string derived from it.

    Decrypting here is the test's own reading of the rows (to know what to look
    for: the base64 ``auth`` strings of the Docker config, the key file), not an
    application path.
    """
    needles = {CANARY, GCP_KEY_B64, base64.b64encode(CANARY.encode()).decode()}
    for secret in secrets:
        for name, value in secret_fields(secret).items():
            if name in ("password", "keyfile_content", "config") and value:
                needles.add(value)
        for entry in secret_config(secret).get("auths", {}).values():
            for key in ("auth", "password", "identitytoken", "registrytoken"):
                if entry.get(key):
                    needles.add(entry[key])
    return {n for n in needles if len(n) >= 8}


def assert_clean(where: str, text: str, needles: set[str]) -> None:
    for needle in needles:
        assert needle not in text, f"credential material found in {where}"


def _as_text(value: Any) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return "" if value is None else str(value)


def scan_database(needles: set[str]) -> int:
    """Every column of every table through a raw cursor; returns the rows read."""
    rows_read = 0
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {qn(table)}")
            for row in cursor.fetchall():
                rows_read += 1
                assert_clean(f"table {table}", " ".join(_as_text(v) for v in row), needles)
    # Sessions are signed base64: decode them too (messages live there).
    for session in Session.objects.all():
        assert_clean("a session", json.dumps(session.get_decoded(), default=str), needles)
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor == "sqlite" and name and "memory" not in name and Path(name).is_file():
        data = Path(name).read_bytes().decode("latin-1")
        assert_clean("the SQLite file", data, needles)
    return rows_read


def scan_audit(needles: set[str]) -> None:
    assert AuditEvent.objects.exists(), "no audit event: the scan would check nothing"
    for event in AuditEvent.objects.all():
        text = " ".join(
            [event.action, event.object_name, event.user_agent, json.dumps(event.details)]
        )
        assert_clean(f"audit event {event.action}", text, needles)


def scan_records(records: Iterable[logging.LogRecord], needles: set[str]) -> int:
    """Each record as any handler would emit it: message, args, exception text."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    count = 0
    for record in records:
        count += 1
        text = formatter.format(record) + " " + _as_text(record.args)
        assert_clean(f"log record {record.name}: {record.msg!r:.80}", text, needles)
        request = getattr(record, "request", None)
        if record.exc_info and request is not None:
            # What AdminEmailHandler would mail: the technical 500 report.
            reporter = ExceptionReporter(request, *record.exc_info, is_email=True)
            assert_clean("an error report", reporter.get_traceback_text(), needles)
            assert_clean("an error report", reporter.get_traceback_html(), needles)
    return count


def scan_migrations(needles: set[str]) -> None:
    paths = list(ROOT.glob("regsecrets/**/migrations/*.py"))
    assert paths, f"no migrations under {ROOT}: the scan would check nothing"
    for path in paths:
        assert_clean(str(path), path.read_text(), needles)


def get_ok(client: Client | Api, url: str, needles: set[str]) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    text = response.content.decode()
    assert_clean(url, text, needles)
    # Ciphertexts are not shown either (the test key's id starts every token).
    assert "v1:test-a:" not in text, url
    return text


# --- every face, then every place ---------------------------------------------------


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "unused")


def submit_through_every_face(alice, org, superuser) -> Api:
    web = Client()
    web.force_login(alice)
    response = web.post(reverse("registry_secrets:create", args=["gitlab"]), WEB_FORM)
    assert response.status_code == 302
    response = web.post(reverse("registry_secrets:create", args=["docker-config"]), CONFIG_FORM)
    assert response.status_code == 302
    response = web.post(reverse("deploy:inline_secret_create", args=["digital-ocean"]), INLINE_FORM)
    assert response.status_code == 201
    # Refused input echoes nothing back either.
    refused = web.post(
        reverse("registry_secrets:create", args=["github"]),
        {"name": "bad", "username": "octocat", "password": f"github_pat_{CANARY}"},
    )
    assert refused.status_code == 200
    assert CANARY not in refused.content.decode()

    admin = Client()
    admin.force_login(superuser)
    add = reverse("admin:registry_secrets_secret_add") + f"?organization={org.pk}&provider=private"
    assert admin.get(reverse("admin:registry_secrets_secret_add")).status_code == 200
    assert admin.get(add).status_code == 200
    response = admin.post(add, {"organization": org.pk, **ADMIN_FORM})
    assert response.status_code == 302, response.content[:2000]

    from regsecrets.accounts.tokens import token_create

    api = Api(Client(), token_create(user=alice, organization=org, name="canary")[1])
    response = api.post("/v1/secrets", API_BODY)
    assert response.status_code == 200, response.content
    assert_clean("the API create reply", response.content.decode(), {CANARY, GCP_KEY_B64})
    refused = api.post(
        "/v1/secrets",
        {
            "name": "bad",
            "github_registry": {"username": "octocat", "password": f"github_pat_{CANARY}"},
        },
    )
    assert refused.status_code == 400
    assert CANARY not in refused.content.decode()

    out = io.StringIO()
    call_command(
        "create_registry_secret",
        org.slug,
        "command-github",
        "--provider",
        "github",
        "--stdin",
        stdin_stream=io.StringIO(json.dumps(COMMAND_STDIN)),
        stdout=out,
    )
    assert CANARY not in out.getvalue()
    return api


def use_in_services(org, secrets: Iterable[Secret]) -> None:
    images = {
        "gitlab_registry": "registry.gitlab.com/acme/app:1",
        "digital_ocean_registry": "registry.digitalocean.com/acme/app:1",
        "private_registry": "registry.example.com/team/app:1",
        "gcp_container_registry": "europe-west1-docker.pkg.dev/acme-prod/repo/app:1",
        "github_registry": "ghcr.io/octocat/app:1",
        "docker_config": "quay.io/acme/app:1",
        "docker_hub_registry": "octocat/app:1",
    }
    app = App.objects.filter(organization=org, name="web").first() or app_create(
        organization=org, name="web"
    )
    for secret in secrets:
        service_create(
            app=app,
            name=f"svc-{secret.name}"[:40],
            image=images[secret.provider],
            registry_secret=secret,
        )


def site_urls(secrets: Iterable[Secret]) -> list[str]:
    urls = [
        reverse("registry_secrets:list"),
        reverse("registry_secrets:list") + "?q=a",
        reverse("registry_secrets:new"),
        reverse("deploy:app_list"),
        reverse("audit:activity"),
        reverse("organization_detail"),
        reverse("api_tokens"),
    ]
    for secret in secrets:
        urls += [
            reverse("registry_secrets:detail", args=[secret.pk]),
            reverse("registry_secrets:edit", args=[secret.pk]),
            reverse("registry_secrets:delete", args=[secret.pk]),
        ]
        for service in secret.services.all():
            urls += [
                reverse("deploy:app_detail", args=[service.app_id]),
                reverse("deploy:service_create", args=[service.app_id]),
                reverse("deploy:service_detail", args=[service.pk]),
                reverse("deploy:service_edit", args=[service.pk]),
                reverse("deploy:service_delete", args=[service.pk]),
                reverse("deploy:app_delete", args=[service.app_id]),
                reverse("deploy:secret_suggestion") + f"?image={service.image}",
                reverse("deploy:secret_search") + f"?q={secret.name}",
            ]
    return list(dict.fromkeys(urls))


def admin_urls(secrets: Iterable[Secret]) -> list[str]:
    urls = [
        reverse("admin:index"),
        reverse("admin:registry_secrets_secret_changelist"),
        reverse("admin:registry_secrets_secret_changelist") + "?q=registry",
        reverse("admin:deploy_service_changelist"),
        reverse("admin:audit_auditevent_changelist"),
    ]
    for secret in secrets:
        urls += [
            reverse("admin:registry_secrets_secret_change", args=[secret.pk]),
            reverse("admin:registry_secrets_secret_history", args=[secret.pk]),
        ]
        urls += [reverse("admin:deploy_service_change", args=[s.pk]) for s in secret.services.all()]
    urls += [
        reverse("admin:audit_auditevent_change", args=[pk])
        for pk in AuditEvent.objects.values_list("pk", flat=True)
    ]
    return urls


def api_urls(secrets: Iterable[Secret]) -> list[str]:
    urls = ["/v1/secrets?limit=100", "/v1/apps", "/v1/services?limit=100"]
    for secret in secrets:
        urls.append(f"/v1/secrets/{secret.pk}")
        urls += [f"/v1/services/{s.pk}" for s in secret.services.all()]
    return urls


@pytest.mark.django_db
def test_the_canary_never_comes_back_from_any_face(alice, org, superuser, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("django.request", "django.db.backends", "django.server", "regsecrets"):
        caplog.set_level(logging.DEBUG, logger=name)
    with CaptureQueriesContext(connection) as queries:  # SQL is logged at DEBUG too
        api = submit_through_every_face(alice, org, superuser)
        secrets = list(Secret.objects.filter(organization=org).order_by("name"))
        assert [s.name for s in secrets] == [
            "admin-private",
            "api-gcp",
            "command-github",
            "inline-do",
            "web-config",
            "web-gitlab",
        ]
        use_in_services(org, secrets)
        needles = needles_for(secrets)

        web = Client()
        web.force_login(alice)
        for url in site_urls(secrets):
            get_ok(web, url, needles)
        admin = Client()
        admin.force_login(superuser)
        for url in admin_urls(secrets):
            get_ok(admin, url, needles)
        for url in api_urls(secrets):
            get_ok(api, url, needles)

    assert any(r.name == "django.db.backends" for r in caplog.records)
    assert scan_records(caplog.records, needles) > 50
    for query in queries.captured_queries:
        assert_clean("an SQL statement", query["sql"], needles)
    scan_audit(needles)
    assert AuditEvent.objects.filter(action="secret.created").count() == len(secrets)
    assert scan_database(needles) > 0
    scan_migrations(needles)

    # The explicit reveal path is the one way back, and the data is really there.
    for secret in secrets:
        revealed = api.post(f"/v1/secrets/{secret.pk}/reveal", {}).content.decode()
        assert CANARY in revealed or GCP_KEY_B64 in revealed, secret.name
    assert AuditEvent.objects.filter(action="secret.revealed").count() == len(secrets)


# --- error reports ----------------------------------------------------------------------


def _fail(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("forced failure while saving")


@pytest.mark.django_db
@pytest.mark.parametrize("face", ["web", "inline", "edit", "admin", "api"])
def test_a_500_report_hides_the_submitted_credentials(
    face, alice, org, superuser, caplog, monkeypatch, settings
):
    """The technical 500 report (what mail_admins sends, what DEBUG shows) of a
    request that carried credentials shows neither them nor the key ring."""
    from regsecrets.registry_secrets import services

    existing = services.secret_create(
        organization=org,
        name="existing",
        provider="private",
        data={"url": "registry.example.com", "username": "deploy", "password": CANARY},
        actor=alice,
    )
    monkeypatch.setattr(services, "audit_record", _fail)
    client = Client(raise_request_exception=False)
    client.force_login(superuser if face == "admin" else alice)
    if face == "web":
        response = client.post(
            reverse("registry_secrets:create", args=["docker-hub"]),
            {"name": "hub", "username": "octocat", "password": CANARY},
        )
    elif face == "inline":
        response = client.post(
            reverse("deploy:inline_secret_create", args=["docker-hub"]),
            {"name": "hub", "username": "octocat", "password": CANARY},
        )
    elif face == "edit":
        response = client.post(
            reverse("registry_secrets:edit", args=[existing.pk]),
            {"url": "registry.example.com", "username": "deploy", "password": f"new-{CANARY}"},
        )
    elif face == "admin":
        add = reverse("admin:registry_secrets_secret_add")
        response = client.post(
            f"{add}?organization={org.pk}&provider=private", {"organization": org.pk, **ADMIN_FORM}
        )
    else:
        from regsecrets.accounts.tokens import token_create

        api = Api(client, token_create(user=alice, organization=org, name="t")[1])
        response = api.post(
            "/v1/secrets",
            {"name": "hub", "docker_hub_registry": {"username": "octocat", "password": CANARY}},
        )
    assert response.status_code == 500
    assert CANARY not in response.content.decode()
    failures = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert failures, "the failure was logged with its traceback"
    needles = {CANARY, TEST_KEY_A, base64.b64encode(f"octocat:{CANARY}".encode()).decode()}
    for record in failures:
        reporter = ExceptionReporter(record.request, *record.exc_info)
        for report in (reporter.get_traceback_html(), reporter.get_traceback_text()):
            assert "forced failure while saving" in report
            assert_clean(f"the 500 report of {face}", report, needles)
    scan_records(caplog.records, needles)
    assert Secret.objects.count() == 1  # nothing half-written


# --- sensitive_post_parameters on every view that receives credentials --------------

# Web views whose POST carries a credential (password, token, config, key file).
RECEIVES_CREDENTIALS = {
    "signup",
    "login",
    "password_change",
    "registry_secrets:create",
    "registry_secrets:test_input",
    "registry_secrets:preview_host",
    "registry_secrets:edit",
    "registry_secrets:edit_test",
    "deploy:inline_secret_create",
    "registry_secrets:webhook",  # a hook URL may carry a token
}
# Web views that take no credential in their POST (or no POST at all).
NO_CREDENTIALS = {
    "home",
    "healthz",
    "readyz",
    "metrics",
    "api_unknown_path",
    "logout",
    "password_change_done",
    "organization_create",
    "organization_switch",
    "organization_detail",
    "membership_role",
    "registry_secrets:list",
    "registry_secrets:new",
    "registry_secrets:detail",
    "registry_secrets:test",
    "registry_secrets:delete",
    "deploy:app_list",
    "deploy:app_create",
    "deploy:app_detail",
    "deploy:app_delete",
    "deploy:service_create",
    "deploy:service_detail",
    "deploy:service_edit",
    "deploy:service_delete",
    "deploy:service_switch_secret",
    "deploy:secret_suggestion",
    "deploy:secret_search",
    "deploy:verify_image",
    "deploy:inline_secret_fields",
    "audit:activity",
    "api_tokens",
    "api_token_revoke",
}


def web_patterns(resolver: URLResolver | None = None, namespace: str = "", prefix: str = ""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith("admin/"):
                continue  # the admin wraps every view in sensitive_post where needed
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from web_patterns(entry, ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            if route.startswith("v1/"):
                continue  # JSON bodies: never in request.POST, so never in a report
            yield f"{namespace}{entry.name}", entry


@pytest.mark.django_db
def test_every_view_receiving_credentials_hides_its_post_from_error_reports(alice_client, org):
    from regsecrets.deploy.models import App
    from regsecrets.registry_secrets.services import secret_create

    secret = secret_create(
        organization=org,
        name="s1",
        provider="private",
        actor=None,
        data={"url": "r.example.com", "username": "u", "password": CANARY},
    )
    app = App.objects.create(organization=org, name="app")
    service = Service.objects.create(app=app, organization=org, name="svc", image="nginx")
    fill = {
        "pk": secret.pk,
        "app_id": app.pk,
        "service_id": service.pk,
        "slug": "private",
        "membership_id": 1,
        "token_id": 1,
    }
    names = dict(web_patterns())
    unknown = set(names) - RECEIVES_CREDENTIALS - NO_CREDENTIALS
    assert not unknown, f"classify these views in this test: {sorted(unknown)}"
    for name in sorted(RECEIVES_CREDENTIALS):
        pattern = names[name]
        kwargs = {k: fill[k] for k in pattern.pattern.converters}
        response = alice_client.post(reverse(name, kwargs=kwargs), {"password": CANARY})
        hidden = getattr(response.wsgi_request, "sensitive_post_parameters", None)
        assert (
            hidden == "__ALL__"
            or (hidden and "password" in str(hidden))
            or (name == "signup" and set(hidden or ()) >= {"password1", "password2"})
        ), f"{name} does not hide its POST from error reports"


# --- the browser face ---------------------------------------------------------------------


@pytest.mark.browser
def test_the_canary_typed_in_chromium_never_comes_back(
    login_context, browser_user, browser_org, caplog, csp_violations
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.request")
    page = login_context(browser_user, browser_org).new_page()
    page.goto("/secrets/new/docker-hub/")
    for name, value in BROWSER_FORM.items():
        page.locator(f"#id_{name}").fill(value)
    page.get_by_role("button", name="Save secret").click()
    page.wait_for_url("**/secrets/*-*/")
    secret = Secret.objects.get(organization=browser_org, name="browser-hub")
    use_in_services(browser_org, [secret])
    needles = needles_for([secret])
    service = secret.services.get()
    for url in [
        reverse("registry_secrets:list"),
        reverse("registry_secrets:detail", args=[secret.pk]),
        reverse("registry_secrets:edit", args=[secret.pk]),
        reverse("registry_secrets:delete", args=[secret.pk]),
        reverse("deploy:app_detail", args=[service.app_id]),
        reverse("deploy:service_detail", args=[service.pk]),
        reverse("deploy:service_edit", args=[service.pk]),
        reverse("audit:activity"),
    ]:
        page.goto(url)
        assert_clean(url, page.content(), needles)
        # Nothing reachable from the page either: inputs' live values and storage.
        values = page.eval_on_selector_all("input, textarea", "els => els.map(e => e.value)")
        assert_clean(f"{url} inputs", " ".join(values), needles)
        assert_clean(
            f"{url} storage",
            page.evaluate("() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage)"),
            needles,
        )
    scan_records(caplog.records, needles)
    scan_audit(needles)
    scan_database(needles)
    assert csp_violations == []
    # Reveal is the one way back.
    from regsecrets.registry_secrets.services import secret_reveal

    assert secret_reveal(secret=secret, actor=browser_user)["password"] == CANARY
