"""Detail, edit and delete of one secret."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from regsecrets.accounts.models import Membership, Role
from regsecrets.audit.models import AuditEvent
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_fields
from tests.conftest import CANARY, page_text
from tests.registry_secrets.conftest import corrupt_ciphertext
from tests.registry_secrets.samples import DOCKER_CONFIG, VALID

NEW_PASSWORD = "replaced-Pa55word-41c2"


@pytest.fixture
def secret(org, make_secret):
    return make_secret(
        org,
        "acr",
        "azure",
        {"registry_name": "myregistry", "username": "puller", "password": CANARY},
    )


def url(secret, action: str = "") -> str:
    return f"/secrets/{secret.pk}/{action + '/' if action else ''}"


# --- Detail ---------------------------------------------------------------------------


def test_detail_shows_metadata_services_and_key_id_but_no_credential(
    alice_client, secret, make_service
):
    make_service(secret, "shop", "web", "myregistry.azurecr.io/shop/web:2")
    response = alice_client.get(url(secret))
    assert response.status_code == 200
    html = page_text(response)
    assert "Azure Container Registry" in html
    assert "myregistry.azurecr.io" in html
    assert "puller" in html
    assert "by alice" in html
    assert "shop" in html
    assert "myregistry.azurecr.io/shop/web:2" in html
    # The encryption key id is operators' business: the admin shows it, not this page.
    assert secret.key_id
    assert 'id="secret-key-id"' not in html
    assert CANARY not in html


def test_detail_does_not_decrypt(alice_client, secret):
    corrupt_ciphertext(secret)
    assert alice_client.get(url(secret)).status_code == 200


def test_other_organizations_secret_is_a_404(alice_client, other_org, make_secret):
    theirs = make_secret(other_org, "theirs")
    for action in ("", "edit", "delete"):
        assert alice_client.get(url(theirs, action)).status_code == 404
    assert alice_client.post(url(theirs, "delete"), {"confirm_name": "theirs"}).status_code == 404
    assert Secret.objects.filter(pk=theirs.pk).exists()


def test_unknown_id_is_a_404(alice_client, org):
    assert alice_client.get(f"/secrets/{uuid.uuid4()}/").status_code == 404
    assert alice_client.get("/secrets/not-a-uuid/").status_code == 404


# --- Edit -----------------------------------------------------------------------------


def test_edit_form_starts_with_credentials_empty_and_metadata_filled(alice_client, secret):
    html = page_text(alice_client.get(url(secret, "edit")))
    password = re.search(r'<input[^>]*name="password"[^>]*>', html).group(0)
    assert "value=" not in password
    assert 'autocomplete="new-password"' in password
    assert 'value="myregistry"' in html
    assert 'value="puller"' in html
    assert 'name="name"' not in html  # the name is fixed
    assert CANARY not in html


def test_edit_with_empty_password_keeps_stored_value(alice_client, alice, secret):
    response = alice_client.post(
        url(secret, "edit"), {"registry_name": "myregistry", "username": "new-user", "password": ""}
    )
    assert response.status_code == 302
    secret.refresh_from_db()
    assert secret.username == "new-user"
    assert secret_fields(secret)["password"] == CANARY
    assert secret.updated_by == alice
    event = AuditEvent.objects.filter(action="secret.updated").latest("pk")
    assert event.details["secret_fields_replaced"] == []


def test_edit_with_new_password_replaces_it(alice_client, secret):
    response = alice_client.post(
        url(secret, "edit"),
        {"registry_name": "myregistry", "username": "puller", "password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    secret.refresh_from_db()
    assert secret_fields(secret)["password"] == NEW_PASSWORD
    html = page_text(alice_client.get(response["Location"]))
    assert NEW_PASSWORD not in html
    assert "updated" in html


def test_edit_ignores_a_posted_name_or_provider(alice_client, secret):
    alice_client.post(
        url(secret, "edit"),
        {
            "name": "renamed",
            "provider": "docker_hub_registry",
            "registry_name": "myregistry",
            "username": "puller",
            "password": "",
        },
    )
    secret.refresh_from_db()
    assert (secret.name, secret.provider) == ("acr", "azure_container_registry")


def test_edit_with_invalid_input_shows_field_error_and_keeps_input(alice_client, secret):
    response = alice_client.post(
        url(secret, "edit"),
        {"registry_name": "no", "username": "other-user", "password": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "registry_name" in response.context["form"].errors
    html = page_text(response)
    assert 'value="other-user"' in html
    assert NEW_PASSWORD not in html
    assert CANARY not in html
    secret.refresh_from_db()
    assert secret_fields(secret)["password"] == CANARY


def test_edit_clearing_a_required_text_field_is_refused(alice_client, secret):
    response = alice_client.post(
        url(secret, "edit"), {"registry_name": "myregistry", "username": "", "password": ""}
    )
    assert "username" in response.context["form"].errors


def test_edit_lists_the_services_the_change_applies_to(alice_client, secret, make_service):
    make_service(secret, "shop", "web")
    html = page_text(alice_client.get(url(secret, "edit")))
    assert "every service using this secret" in html
    assert "shop/web" in html


def test_edit_of_undecryptable_secret_shows_an_error_not_a_500(alice_client, secret):
    corrupt_ciphertext(secret)
    response = alice_client.get(url(secret, "edit"))
    assert response.status_code == 409
    html = page_text(response)
    assert 'id="decryption-error"' in html
    # Users' words: what to do, without the key id or setting (the admin has those).
    assert "Ask your operator" in html
    assert "test-a" not in html
    assert "REGSECRETS_" not in html
    response = alice_client.post(
        url(secret, "edit"), {"registry_name": "myregistry", "username": "x", "password": "y"}
    )
    assert response.status_code == 409


def test_edit_docker_config_keeps_or_replaces_the_document(alice_client, org, make_secret):
    secret = make_secret(org, "cfg", "docker-config", {"config": DOCKER_CONFIG})
    response = alice_client.post(url(secret, "edit"), {"config": ""})
    assert response.status_code == 302
    secret.refresh_from_db()
    assert secret.hosts == ["registry.example.com", "quay.io"]
    new = b'{"auths": {"ghcr.io": {"username": "octocat", "password": "ghp_x"}}}'
    response = alice_client.post(
        url(secret, "edit"),
        {"config": "", "config_file": SimpleUploadedFile("c.json", new, "application/json")},
    )
    assert response.status_code == 302
    secret.refresh_from_db()
    assert secret.hosts == ["ghcr.io"]


def test_edit_digital_ocean_token_does_not_keep_old_token_as_username(
    alice_client, org, make_secret
):
    secret = make_secret(org, "do", "digital-ocean", VALID["digital-ocean"][0])
    alice_client.post(url(secret, "edit"), {"password": "dop_v1_fresh"})
    secret.refresh_from_db()
    assert secret.username == ""
    assert secret_fields(secret) == {"username": "dop_v1_fresh", "password": "dop_v1_fresh"}


def test_edit_view_hides_post_data_from_error_reports(alice_client, secret):
    response = alice_client.post(url(secret, "edit"), {"password": "x"})
    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"


# --- Delete ---------------------------------------------------------------------------


def test_delete_asks_for_the_name(alice_client, secret):
    response = alice_client.post(url(secret, "delete"), {"confirm_name": "wrong"})
    assert response.status_code == 200
    assert "does not match" in page_text(response)
    assert Secret.objects.filter(pk=secret.pk).exists()


def test_delete_with_the_name_deletes_and_audits(alice_client, secret):
    response = alice_client.post(url(secret, "delete"), {"confirm_name": "acr"})
    assert response.status_code == 302
    assert response["Location"] == "/secrets/"
    assert not Secret.objects.filter(pk=secret.pk).exists()
    assert AuditEvent.objects.filter(action="secret.deleted", object_id=str(secret.pk)).exists()


def test_delete_is_refused_while_services_use_the_secret(alice_client, secret, make_service):
    make_service(secret, "shop", "web")
    make_service(secret, "shop", "worker")
    page = page_text(alice_client.get(url(secret, "delete")))
    assert 'id="delete-refused"' in page
    assert "shop/web" in page
    assert "shop/worker" in page
    assert 'id="delete-form"' not in page
    response = alice_client.post(url(secret, "delete"), {"confirm_name": "acr"})
    assert response.status_code == 409
    assert "shop/web" in page_text(response)
    assert Secret.objects.filter(pk=secret.pk).exists()


def test_members_cannot_delete(client, org, secret, make_user):
    member = make_user("member")
    Membership.objects.create(organization=org, user=member, role=Role.MEMBER)
    client.force_login(member)
    session = client.session
    session["organization_id"] = org.pk
    session.save()
    assert "Delete</a>" not in page_text(client.get(url(secret)))
    assert client.post(url(secret, "delete"), {"confirm_name": "acr"}).status_code == 403
    assert Secret.objects.filter(pk=secret.pk).exists()


# --- Every page: CSRF and CSP ---------------------------------------------------------


def test_forms_carry_csrf_tokens_and_pages_have_no_inline_code(alice_client, secret):
    pages = [
        "/secrets/",
        "/secrets/new/",
        *(f"/secrets/new/{slug}/" for slug in VALID),
        url(secret),
        url(secret, "edit"),
        url(secret, "delete"),
    ]
    post_forms = 0
    for page in pages:
        response = alice_client.get(page)
        assert response.status_code == 200, page
        assert "script-src 'self'" in response["Content-Security-Policy"]
        html = page_text(response)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page
        assert not re.search(r"\sstyle=", html), page
        assert not re.search(r"\son[a-z]+=", html), page
        for form in re.findall(r"<form[^>]*method=\"post\"[^>]*>.*?</form>", html, re.S):
            assert "csrfmiddlewaretoken" in form, page
            post_forms += 1
    # Each create page, the edit page and the delete page have one: the loop checked them.
    assert post_forms >= len(VALID) + 2


def test_posts_without_csrf_token_are_refused(alice, org, secret):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(alice)
    data, _, _ = VALID["private"]
    assert csrf_client.post("/secrets/new/private/", {"name": "x-y", **data}).status_code == 403
    assert csrf_client.post(url(secret, "edit"), {"password": "x"}).status_code == 403
    assert csrf_client.post(url(secret, "delete"), {"confirm_name": "acr"}).status_code == 403


def test_edit_preview_shows_the_stored_hosts_until_something_is_typed(
    alice_client, org, make_secret
):
    secret = make_secret(org, "cfg", "docker-config", {"config": DOCKER_CONFIG})
    html = page_text(alice_client.get(url(secret, "edit")))
    assert "registry.example.com, quay.io</output>" in html
