"""The service form's "Verify image" JSON endpoint (no outbound traffic here).

Images on loopback are refused by the SSRF guard before any connection, which is
enough to see the plumbing; real pulls are in tests/verification/test_faces.py.
"""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.models import Service
from tests.conftest import CANARY
from tests.registry_secrets.conftest import corrupt_ciphertext

pytestmark = pytest.mark.django_db

URL = "/services/verify-image/"
IMAGE = "127.0.0.1:5999/team/app:v1"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def loop_secret(org, make_secret):
    return make_secret(
        org,
        "loop",
        provider="private_registry",
        data={"url": "127.0.0.1:5999", "username": "deploy", "password": CANARY},
    )


def test_the_url_is_named():
    assert reverse("deploy:verify_image") == URL


def test_service_form_has_the_verify_button_and_endpoint(alice_client, app):
    html = alice_client.get(f"/apps/{app.pk}/services/new/").content.decode()
    assert f'data-verify-url="{URL}"' in html
    assert 'id="verify-image"' in html


def test_without_a_secret_the_check_is_anonymous_and_not_audited(alice_client):
    response = alice_client.post(URL, {"image": IMAGE, "secret": ""})
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert body["code"] == "FORBIDDEN_ADDRESS"
    assert body["registry"] == "127.0.0.1:5999"
    assert body["reason"]
    assert not AuditEvent.objects.filter(action="secret.verified").exists()


def test_with_a_secret_the_check_is_audited_without_credentials(alice_client, loop_secret):
    response = alice_client.post(URL, {"image": IMAGE, "secret": str(loop_secret.pk)})
    assert response.status_code == 200
    assert response.json()["code"] == "FORBIDDEN_ADDRESS"
    assert CANARY not in response.content.decode()
    event = AuditEvent.objects.get(action="secret.verified")
    assert event.object_id == str(loop_secret.pk)
    assert event.details == {
        "check": "image",
        "image": IMAGE,
        "host": "127.0.0.1:5999",
        "success": False,
        "code": "FORBIDDEN_ADDRESS",
    }


def test_the_new_secret_placeholder_counts_as_no_secret(alice_client):
    response = alice_client.post(URL, {"image": IMAGE, "secret": "new"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("image", "message"),
    [("", "Enter an image reference."), ("Not An Image!", None), ("a/" * 300, "512")],
)
def test_a_bad_image_is_a_field_error(alice_client, image, message):
    response = alice_client.post(URL, {"image": image})
    assert response.status_code == 400
    (text,) = response.json()["errors"]["image"]
    if message:
        assert message in text


def test_another_organizations_secret_is_a_404(alice_client, other_org, make_secret):
    theirs = make_secret(other_org, "theirs")
    for secret_id in (str(theirs.pk), str(uuid.uuid4()), "not-a-uuid"):
        response = alice_client.post(URL, {"image": IMAGE, "secret": secret_id})
        assert response.status_code == 404, secret_id
    assert not AuditEvent.objects.filter(action="secret.verified").exists()


def test_an_undecryptable_secret_is_a_409_with_a_clear_message(alice_client, loop_secret):
    corrupt_ciphertext(loop_secret)
    response = alice_client.post(URL, {"image": IMAGE, "secret": str(loop_secret.pk)})
    assert response.status_code == 409
    assert "cannot be decrypted" in response.json()["error"]


def test_it_needs_a_post(alice_client):
    assert alice_client.get(URL, {"image": IMAGE}).status_code == 405


def test_it_needs_the_csrf_token(alice, org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(URL, {"image": IMAGE}).status_code == 403


def test_it_is_rate_limited_per_user_with_a_json_429(alice_client, settings, bob, org):
    settings.REGSECRETS_VERIFY_RATE_LIMIT = 2
    for _ in range(2):
        assert alice_client.post(URL, {"image": IMAGE}).status_code == 200
    response = alice_client.post(URL, {"image": IMAGE})
    assert response.status_code == 429
    assert "Too many verification requests" in response.json()["error"]
    # Another user has a budget of their own.
    from regsecrets.accounts.models import Membership, Role

    Membership.objects.create(organization=org, user=bob, role=Role.MEMBER)
    other = Client()
    other.force_login(bob)
    session = other.session
    session["organization_id"] = org.pk
    session.save()
    assert other.post(URL, {"image": IMAGE}).status_code == 200


def test_saving_the_service_does_not_depend_on_verification(alice_client, app, loop_secret):
    # The registry is unreachable (refused by the guard), yet the service saves.
    response = alice_client.post(
        f"/apps/{app.pk}/services/new/",
        {"name": "web", "image": IMAGE, "registry_secret": str(loop_secret.pk)},
    )
    assert response.status_code == 302
    assert Service.objects.filter(app=app, name="web", image=IMAGE).exists()
