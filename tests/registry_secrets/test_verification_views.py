"""The secret pages' "Test credentials": the detail button and the JSON endpoints.

No outbound traffic here: the secrets point at loopback, which the SSRF guard
refuses by default (FORBIDDEN_ADDRESS) before any connection is made. Checks
against a real registry live in tests/verification/test_faces.py.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.cache import cache
from django.test import Client

from regsecrets.accounts.models import Membership, Role
from regsecrets.audit.models import AuditEvent
from regsecrets.registry_secrets.models import Secret
from tests.conftest import CANARY
from tests.registry_secrets.conftest import corrupt_ciphertext

LOOPBACK = "127.0.0.1:5999"
PRIVATE_INPUT = {"url": LOOPBACK, "username": "deploy", "password": CANARY}


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    # The budget lives in the cache, which outlives a test; start each one afresh.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def secret(org, make_secret):
    return make_secret(org, "loop", "private", PRIVATE_INPUT)


def member_client(org, make_user) -> Client:
    member = make_user("member")
    Membership.objects.create(organization=org, user=member, role=Role.MEMBER)
    client = Client()
    client.force_login(member)
    session = client.session
    session["organization_id"] = org.pk
    session.save()
    return client


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- The detail page's button ------------------------------------------------------


def test_detail_page_has_a_test_credentials_form(alice_client, secret):
    html = alice_client.get(f"/secrets/{secret.pk}/").content.decode()
    assert f'action="/secrets/{secret.pk}/test/"' in html
    assert "Test credentials" in html


def test_testing_reports_each_host_with_code_and_reason_and_audits(alice_client, secret):
    response = alice_client.post(f"/secrets/{secret.pk}/test/", follow=True)
    assert response.redirect_chain == [(f"/secrets/{secret.pk}/", 302)]
    (message,) = page_messages(response)
    # A sentence and what to do, the code last; no setting names on a user's page.
    assert message.startswith(f"{LOOPBACK} failed: ")
    assert "ask your operator" in message
    assert message.endswith("(code FORBIDDEN_ADDRESS)")
    assert "REGSECRETS_" not in message
    event = AuditEvent.objects.get(action="secret.verified")
    assert event.object_id == str(secret.pk)
    assert event.actor.username == "alice"
    assert event.details == {
        "check": "credentials",
        "host": LOOPBACK,
        "success": False,
        "code": "FORBIDDEN_ADDRESS",
    }
    html = response.content.decode()
    assert CANARY not in html
    assert CANARY not in json.dumps(event.details)


def test_members_may_test_credentials(org, secret, make_user):
    client = member_client(org, make_user)
    response = client.post(f"/secrets/{secret.pk}/test/", follow=True)
    assert response.status_code == 200
    assert "FORBIDDEN_ADDRESS" in page_messages(response)[0]


def test_testing_needs_a_post(alice_client, secret):
    assert alice_client.get(f"/secrets/{secret.pk}/test/").status_code == 405
    assert not AuditEvent.objects.filter(action="secret.verified").exists()


def test_testing_another_organizations_secret_is_a_404(alice_client, other_org, make_secret):
    theirs = make_secret(other_org, "theirs", "private", PRIVATE_INPUT)
    assert alice_client.post(f"/secrets/{theirs.pk}/test/").status_code == 404
    assert alice_client.post(f"/secrets/{uuid.uuid4()}/test/").status_code == 404
    assert not AuditEvent.objects.filter(action="secret.verified").exists()


def test_an_undecryptable_secret_gives_a_clear_message_not_a_500(alice_client, secret):
    corrupt_ciphertext(secret)
    response = alice_client.post(f"/secrets/{secret.pk}/test/", follow=True)
    assert response.status_code == 200
    (message,) = page_messages(response)
    assert "cannot be decrypted" in message
    assert secret.key_id not in message  # the key id is for operators (the admin)
    assert not AuditEvent.objects.filter(action="secret.verified").exists()


def test_testing_is_rate_limited_per_user(alice_client, secret, settings):
    settings.REGSECRETS_VERIFY_RATE_LIMIT = 2
    for _ in range(2):
        assert alice_client.post(f"/secrets/{secret.pk}/test/").status_code == 302
    response = alice_client.post(f"/secrets/{secret.pk}/test/")
    assert response.status_code == 429
    assert "Too many verification requests" in response.content.decode()
    assert AuditEvent.objects.filter(action="secret.verified").count() == 2


# --- The create form's JSON endpoint ---------------------------------------------


def test_create_form_has_a_test_button_pointing_at_the_providers_endpoint(alice_client):
    html = alice_client.get("/secrets/new/private/").content.decode()
    assert 'data-test-url="/secrets/new/private/test/"' in html
    assert 'id="test-credentials"' in html
    fragment = alice_client.get("/secrets/new/github/?fragment=1").content.decode()
    assert 'data-test-url="/secrets/new/github/test/"' in fragment


def test_typed_input_is_tested_without_saving_anything(alice_client, org):
    response = alice_client.post("/secrets/new/private/test/", PRIVATE_INPUT)
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["host"] == LOOPBACK
    assert result["success"] is False
    assert result["code"] == "FORBIDDEN_ADDRESS"
    assert result["reason"]
    assert CANARY not in response.content.decode()
    assert not Secret.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="secret.").exists()


def test_every_host_of_a_pasted_config_is_tested(alice_client):
    config = {
        "auths": {
            "127.0.0.1:5001": {"username": "a", "password": CANARY},
            "10.0.0.7": {"username": "b", "password": CANARY},
        }
    }
    response = alice_client.post("/secrets/new/docker-config/test/", {"config": json.dumps(config)})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["host"] for r in results] == ["127.0.0.1:5001", "10.0.0.7"]
    assert {r["code"] for r in results} == {"FORBIDDEN_ADDRESS"}


def test_invalid_input_gives_field_errors_and_the_name_is_not_needed(alice_client):
    response = alice_client.post("/secrets/new/private/test/", {"username": "deploy"})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"url", "password"}
    assert "name" not in errors


def test_catalogue_errors_come_back_on_their_fields(alice_client):
    response = alice_client.post("/secrets/new/docker-config/test/", {"config": "{not json"})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["config"]
    response = alice_client.post(
        "/secrets/new/private/test/", {**PRIVATE_INPUT, "url": "https://bad host/"}
    )
    assert response.status_code == 400
    assert "url" in response.json()["errors"]
    assert CANARY not in response.content.decode()


def test_the_test_endpoint_needs_a_post_and_a_known_provider(alice_client):
    assert alice_client.get("/secrets/new/private/test/").status_code == 405
    assert alice_client.post("/secrets/new/nope/test/", PRIVATE_INPUT).status_code == 404


def test_the_test_endpoints_need_the_csrf_token(alice, org, secret):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/secrets/new/private/test/", PRIVATE_INPUT).status_code == 403
    assert client.post(f"/secrets/{secret.pk}/test/").status_code == 403
    assert client.post(f"/secrets/{secret.pk}/edit/test/", {}).status_code == 403
    assert not AuditEvent.objects.filter(action="secret.verified").exists()


def test_the_test_endpoint_is_rate_limited_with_a_json_429(alice_client, settings):
    settings.REGSECRETS_VERIFY_RATE_LIMIT = 1
    assert alice_client.post("/secrets/new/private/test/", PRIVATE_INPUT).status_code == 200
    response = alice_client.post("/secrets/new/private/test/", PRIVATE_INPUT)
    assert response.status_code == 429
    assert "Too many verification requests" in response.json()["error"]


def test_signed_out_users_are_sent_to_sign_in(client, secret):
    response = client.post("/secrets/new/private/test/", PRIVATE_INPUT)
    assert response.status_code == 302
    assert "/login" in response["Location"] or "login" in response["Location"]


# --- The edit form's JSON endpoint ----------------------------------------------------


def test_edit_form_has_a_test_button_for_its_own_endpoint(alice_client, secret):
    html = alice_client.get(f"/secrets/{secret.pk}/edit/").content.decode()
    assert f'data-test-url="/secrets/{secret.pk}/edit/test/"' in html


def test_edit_test_keeps_the_stored_password_when_empty_and_audits(alice_client, secret):
    response = alice_client.post(
        f"/secrets/{secret.pk}/edit/test/", {"url": LOOPBACK, "username": "deploy", "password": ""}
    )
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["code"] == "FORBIDDEN_ADDRESS"
    event = AuditEvent.objects.get(action="secret.verified")
    assert event.object_id == str(secret.pk)
    assert event.details["host"] == LOOPBACK
    # Nothing was saved.
    assert Secret.objects.get(pk=secret.pk).updated_at == secret.updated_at


def test_edit_test_reports_field_errors(alice_client, secret):
    response = alice_client.post(
        f"/secrets/{secret.pk}/edit/test/", {"url": "", "username": "deploy", "password": ""}
    )
    assert response.status_code == 400
    assert "url" in response.json()["errors"]


def test_edit_test_of_another_organizations_secret_is_a_404(alice_client, other_org, make_secret):
    theirs = make_secret(other_org, "theirs", "private", PRIVATE_INPUT)
    assert alice_client.post(f"/secrets/{theirs.pk}/edit/test/", PRIVATE_INPUT).status_code == 404
    assert alice_client.get(f"/secrets/{theirs.pk}/edit/test/").status_code == 405


def test_edit_test_of_an_undecryptable_secret_is_a_409(alice_client, secret):
    corrupt_ciphertext(secret)
    response = alice_client.post(f"/secrets/{secret.pk}/edit/test/", PRIVATE_INPUT)
    assert response.status_code == 409
    assert "cannot be decrypted" in response.json()["error"]
