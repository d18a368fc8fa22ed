"""Every admin page of a secret renders without its credential or its ciphertext."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from tests.admin.conftest import assert_no_secret, ciphertext_of
from tests.conftest import CANARY
from tests.registry_secrets.samples import GCP_KEY

pytestmark = pytest.mark.django_db


def _urls(secret) -> dict[str, str]:
    return {
        "changelist": reverse("admin:registry_secrets_secret_changelist"),
        "add": reverse("admin:registry_secrets_secret_add"),
        "add_provider": reverse("admin:registry_secrets_secret_add")
        + f"?organization={secret.organization_id}&provider=private",
        "change": reverse("admin:registry_secrets_secret_change", args=[secret.pk]),
        "history": reverse("admin:registry_secrets_secret_history", args=[secret.pk]),
        "delete": reverse("admin:registry_secrets_secret_delete", args=[secret.pk]),
        "audit": reverse("admin:audit_auditevent_changelist"),
        "audit_event": reverse(
            "admin:audit_auditevent_change",
            args=[AuditEvent.objects.filter(object_id=str(secret.pk)).latest("pk").pk],
        ),
    }


def test_every_secret_page_renders_without_the_canary_or_ciphertext(admin, secret):
    token = ciphertext_of(secret)
    for name, url in _urls(secret).items():
        response = admin.get(url)
        assert response.status_code == 200, name
        assert_no_secret(response.content, token)
    # The metadata is there, so the pages did render the secret.
    change = admin.get(_urls(secret)["change"]).content.decode()
    assert "registry.example.com" in change
    assert "deploy" in change


def test_pages_of_a_used_secret_and_a_key_file_secret_show_no_canary(
    admin, org, make_secret, make_service
):
    gcp = make_secret(
        org,
        "gcp",
        "gcp_container_registry",
        {"url": "europe-west1-docker.pkg.dev", "keyfile_content": GCP_KEY},
    )
    used = make_secret(org, "used")
    make_service(used)
    for secret in (gcp, used):
        for url in _urls(secret).values():
            assert_no_secret(admin.get(url).content, ciphertext_of(secret))


def test_change_and_failed_change_never_echo_credentials(admin, secret):
    url = reverse("admin:registry_secrets_secret_change", args=[secret.pk])
    # A rejected username: the page comes back with errors, the password stays out.
    response = admin.post(
        url, {"url": "registry.example.com", "username": "a:b", "password": CANARY}
    )
    assert response.status_code == 200
    assert response.context["errors"]
    assert_no_secret(response.content)
    response = admin.post(
        url, {"url": "registry.example.com", "username": "robot", "password": CANARY + "-new"}
    )
    assert response.status_code == 302
    assert_no_secret(admin.get(response.url).content)


def test_log_entries_name_changed_fields_never_values(admin, org, secret):
    add_url = reverse("admin:registry_secrets_secret_add")
    admin.post(
        f"{add_url}?organization={org.pk}&provider=github",
        {
            "organization": org.pk,
            "name": "ghcr",
            "username": "octocat",
            "password": f"ghp_{CANARY}",
        },
    )
    change_url = reverse("admin:registry_secrets_secret_change", args=[secret.pk])
    admin.post(
        change_url, {"url": "registry.example.com", "username": "deploy", "password": "x" + CANARY}
    )
    entries = list(LogEntry.objects.order_by("action_time"))
    assert [e.action_flag for e in entries] == [1, 2]
    for entry in entries:
        assert CANARY not in entry.change_message
        assert CANARY not in entry.object_repr
    assert json.loads(entries[1].change_message) == [{"changed": {"fields": ["Password"]}}]
    history = admin.get(reverse("admin:registry_secrets_secret_history", args=[secret.pk]))
    assert_no_secret(history.content)
    assert "Changed" in history.content.decode()


def test_failed_add_keeps_non_secret_inputs_and_drops_the_password(admin, org):
    url = reverse("admin:registry_secrets_secret_add") + f"?organization={org.pk}&provider=private"
    response = admin.post(
        url,
        {
            "organization": org.pk,
            "name": "reg",
            "url": "registry.example.com",
            "username": "dep:loy",
            "password": CANARY,
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "registry.example.com" in page
    assert_no_secret(page)


def test_add_and_change_requests_are_hidden_from_error_reports(admin, org, secret):
    url = reverse("admin:registry_secrets_secret_add") + f"?organization={org.pk}&provider=private"
    response = admin.post(url, {"organization": org.pk, "name": "x"})
    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"
    change = reverse("admin:registry_secrets_secret_change", args=[secret.pk])
    response = admin.post(change, {"url": ""})
    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"


def test_add_from_the_service_form_popup_returns_the_new_secret(admin, org):
    add = reverse("admin:registry_secrets_secret_add")
    step1 = admin.get(add, {"_popup": "1", "_to_field": "id"}).content.decode()
    assert 'name="_popup"' in step1
    assert 'name="_to_field"' in step1
    url = f"{add}?organization={org.pk}&provider=private&_popup=1&_to_field=id"
    page = admin.get(url).content.decode()
    assert 'name="_popup"' in page
    response = admin.post(
        url,
        {
            "_popup": "1",
            "_to_field": "id",
            "organization": org.pk,
            "name": "popped",
            "url": "registry.example.com",
            "username": "deploy",
            "password": CANARY,
        },
    )
    assert response.status_code == 200
    assert (
        "popup_response" in response.content.decode()
        or "popup-response" in response.content.decode()
    )
    assert_no_secret(response.content)
