"""Error reports hide credentials with DJANGO_DEBUG on too.

Django's own report filter switches itself off in debug, so the technical 500 page
printed the submitted POST and every frame's local variables. These tests force a
failure in the middle of a create or an edit, with DEBUG on, and read the page the
browser gets and the report an ``AdminEmailHandler`` would mail.
"""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

import pytest
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter, get_exception_reporter_filter
from django.views.decorators.debug import sensitive_variables

from regsecrets.core.debugfilter import CredentialReporterFilter
from regsecrets.registry_secrets.models import Secret
from tests.api.conftest import Api
from tests.conftest import CANARY, TEST_KEY_A
from tests.registry_secrets.samples import DOCKER_CONFIG

pytestmark = pytest.mark.django_db

NEEDLES = {
    CANARY,
    TEST_KEY_A,
    base64.b64encode(f"robot:{CANARY}".encode()).decode(),
    base64.b64encode(f"octocat:{CANARY}".encode()).decode(),
}


def assert_clean(where: str, text: str) -> None:
    for needle in NEEDLES:
        assert needle not in text, f"credential material in {where}"


def _fail_audit(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("forced failure while saving")


def _fail_seal(plaintext: bytes, *, aad: bytes) -> str:
    # This frame holds the whole credential document, unnamed by any decorator.
    raise RuntimeError("forced failure while saving")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "unused")


@pytest.fixture
def existing(org, alice):
    from regsecrets.registry_secrets.services import secret_create

    return secret_create(
        organization=org,
        name="existing",
        provider="private",
        data={"url": "registry.example.com", "username": "deploy", "password": f"old-{CANARY}"},
        actor=alice,
    )


def _submit(face: str, client: Client, org, existing) -> Any:
    if face == "create":
        return client.post(
            reverse("registry_secrets:create", args=["docker-hub"]),
            {"name": "hub", "username": "octocat", "password": CANARY},
        )
    if face == "create-config-upload":
        upload = io.BytesIO(DOCKER_CONFIG.encode())
        upload.name = "config.json"
        return client.post(
            reverse("registry_secrets:create", args=["docker-config"]),
            {"name": "cfg", "config_file": upload},
        )
    if face == "inline-create":
        return client.post(
            reverse("deploy:inline_secret_create", args=["docker-hub"]),
            {"name": "hub", "username": "octocat", "password": CANARY},
        )
    if face == "edit":
        return client.post(
            reverse("registry_secrets:edit", args=[existing.pk]),
            {"url": "registry.example.com", "username": "deploy", "password": CANARY},
        )
    if face == "admin-add":
        add = reverse("admin:registry_secrets_secret_add")
        return client.post(
            f"{add}?organization={org.pk}&provider=private",
            {
                "organization": org.pk,
                "name": "admin-private",
                "url": "registry.example.com",
                "username": "deploy",
                "password": CANARY,
            },
        )
    raise AssertionError(face)


FACES = ["create", "create-config-upload", "inline-create", "edit", "admin-add"]


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
@pytest.mark.parametrize("failure", ["audit", "seal"])
@pytest.mark.parametrize("face", FACES)
def test_the_500_page_and_the_mailed_report_show_no_credential(
    face, failure, debug, alice, org, existing, superuser, settings, monkeypatch, caplog
):
    from regsecrets.crypto import fields
    from regsecrets.registry_secrets import services

    settings.DEBUG = debug
    settings.ADMINS = [("Ops", "ops@example.com")]
    if failure == "audit":
        monkeypatch.setattr(services, "audit_record", _fail_audit)
    else:
        monkeypatch.setattr(fields, "seal", _fail_seal)
    client = Client(raise_request_exception=False)
    client.force_login(superuser if face == "admin-add" else alice)
    if face != "admin-add":
        session = client.session
        session["organization_id"] = org.pk
        session.save()

    response = _submit(face, client, org, existing)

    assert response.status_code == 500
    page = response.content.decode()
    if debug:
        # The technical page itself, with its POST table and local variables ...
        assert "forced failure while saving" in page
        assert "Local vars" in page
        assert "********************" in page
    else:
        assert "forced failure" not in page  # the friendly page, no traceback
    # ... and not one credential in it.
    assert_clean(f"the 500 page of {face}", page)

    failures = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    assert failures, "the failure was logged with its traceback"
    handler = AdminEmailHandler(include_html=True)
    for record in failures:
        handler.emit(record)
    assert mail.outbox, "the report was mailed"
    for message in mail.outbox:
        assert "forced failure while saving" in message.body
        assert_clean("the mailed report", message.body)
        for content, _ in message.alternatives:
            assert_clean("the mailed HTML report", content)
    assert Secret.objects.count() == 1  # nothing half-written


def test_the_api_in_debug_answers_json_and_its_report_shows_no_credential(
    alice, org, settings, monkeypatch, caplog
):
    from regsecrets.accounts.tokens import token_create
    from regsecrets.crypto import fields

    settings.DEBUG = True
    monkeypatch.setattr(fields, "seal", _fail_seal)
    api = Api(Client(raise_request_exception=False), token_create(user=alice, organization=org, name="t")[1])
    response = api.post(
        "/v1/secrets",
        {"name": "hub", "type": "REGISTRY", "docker_hub_registry": {"username": "octocat", "password": CANARY}},
    )
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert_clean("the API reply", response.content.decode())
    [record] = [r for r in caplog.records if r.name == "django.request" and r.exc_info]
    reporter = ExceptionReporter(record.request, *record.exc_info)
    assert_clean("the API report (HTML)", reporter.get_traceback_html())
    assert_clean("the API report (text)", reporter.get_traceback_text())


# --- the filter's rules, one by one ----------------------------------------------------


def test_the_filter_is_the_configured_one_and_stays_active_in_debug(settings, rf: RequestFactory):
    settings.DEBUG = True
    request = rf.post("/apps/new/", {"name": "web"})
    report_filter = get_exception_reporter_filter(request)
    assert isinstance(report_filter, CredentialReporterFilter)
    assert report_filter.is_active(request)


@pytest.mark.parametrize(
    "field", ["password", "token", "keyfile_content", "config", "client_secret", "api_key", "auth"]
)
def test_credential_named_post_fields_are_hidden_on_every_path(settings, rf, field):
    settings.DEBUG = True
    request = rf.post("/apps/new/", {field: CANARY, "name": "web"})
    cleansed = CredentialReporterFilter().get_post_parameters(request)
    assert cleansed[field] == "********************"
    assert cleansed["name"] == "web"  # elsewhere, plain fields stay readable


@pytest.mark.parametrize(
    "path", ["/secrets/new/docker-hub/", "/services/inline-secret/docker-hub/create/", "/v1/secrets", "/accounts/login/", "/admin/registry_secrets/secret/add/"]
)
def test_every_post_value_and_local_variable_is_hidden_on_credential_paths(settings, rf, path):
    settings.DEBUG = True
    request = rf.post(path, {"harmless_looking": CANARY})
    report_filter = CredentialReporterFilter()
    assert report_filter.get_post_parameters(request)["harmless_looking"] == "********************"
    assert_clean(path, _report_of(request, _raise_with_local))


def _raise_with_local() -> None:
    harmless_looking = CANARY  # noqa: F841 - the report must not show it
    raise RuntimeError("boom")


@sensitive_variables("value")
def _raise_in_decorated(value: str) -> None:
    raise RuntimeError("boom")


def _call_decorated() -> None:
    _raise_in_decorated(CANARY)  # a global: no local of this frame holds it


def _raise_with_document() -> None:
    document = {"auths": {"r.example.com": {"password": CANARY}}}  # noqa: F841
    token = CANARY  # noqa: F841
    raise RuntimeError("boom")


def _report_of(request, function) -> str:
    try:
        function()
    except RuntimeError:
        import sys

        reporter = ExceptionReporter(request, *sys.exc_info())
        return reporter.get_traceback_html() + reporter.get_traceback_text()
    raise AssertionError("no exception")


def test_sensitive_variables_are_honoured_in_debug(settings, rf):
    settings.DEBUG = True
    report = _report_of(rf.get("/apps/"), _call_decorated)
    assert "_raise_in_decorated" in report
    assert_clean("a decorated frame", report)


def test_credential_named_variables_and_keys_are_hidden_elsewhere_in_debug(settings, rf):
    settings.DEBUG = True
    report = _report_of(rf.get("/apps/"), _raise_with_document)
    assert "r.example.com" in report or "********************" in report
    assert_clean("a frame holding a document", report)


def test_without_a_request_frames_are_still_cleansed(settings):
    settings.DEBUG = True
    report = _report_of(None, _raise_with_document)
    assert_clean("a report without a request", report)


def test_report_logging_reaches_the_filter(settings, rf, caplog):
    """The log record Django writes for a 500 carries the request the report needs."""
    settings.DEBUG = True
    logger = logging.getLogger("django.request")
    request = rf.post("/secrets/new/docker-hub/", {"password": CANARY})
    try:
        _raise_with_local()
    except RuntimeError:
        logger.error("Internal Server Error", exc_info=True, extra={"request": request, "status_code": 500})
    [record] = [r for r in caplog.records if r.exc_info]
    text = ExceptionReporter(record.request, *record.exc_info, is_email=True).get_traceback_text()
    assert_clean("an emailed report", text)
