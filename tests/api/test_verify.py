"""/v1/docker-helper/verify without a registry (the real-registry tests live elsewhere)."""

from __future__ import annotations

import pytest

from regsecrets.audit.models import AuditEvent
from regsecrets.registries import client
from regsecrets.registry_secrets import verification
from regsecrets.registry_secrets.errors import RATE_LIMITED_MESSAGE, undecryptable_message
from regsecrets.registry_secrets.models import Secret


def test_malformed_image_is_reported_as_malformed(api):
    response = api.get("/v1/docker-helper/verify", {"image": "INVALID"})
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert body["code"] == "MALFORMED"
    assert body["reason"]


def test_verify_with_a_secret_decrypts_and_is_audited(api, make_secret):
    secret = make_secret("ghcr")
    response = api.get("/v1/docker-helper/verify", {"image": "INVALID", "secret_id": str(secret.pk)})
    assert response.json()["code"] == "MALFORMED"
    event = AuditEvent.objects.get(action="secret.verified")
    assert event.object_id == str(secret.pk)
    assert event.details["code"] == "MALFORMED"


def test_verify_maps_codes_koyeb_does_not_know(api, monkeypatch):
    def fake(image, config, *, options=None):
        return client.VerificationResult(False, client.FORBIDDEN_ADDRESS, "refused", "10.0.0.1")

    # The endpoint checks through the shared web/API verification path.
    monkeypatch.setattr(verification, "check_image", fake)
    body = api.get("/v1/docker-helper/verify", {"image": "10.0.0.1/app"}).json()
    assert (body["code"], body["detail_code"]) == ("REGISTRY_ERROR", "FORBIDDEN_ADDRESS")


def test_success_reports_koyebs_default_code(api, monkeypatch):
    monkeypatch.setattr(
        verification, "check_image", lambda image, config, *, options=None: client.VerificationResult(True, "", "ok", "ghcr.io")
    )
    body = api.get("/v1/docker-helper/verify", {"image": "ghcr.io/x/y"}).json()
    assert (body["success"], body["code"]) == (True, "UNKNOWN")


@pytest.mark.parametrize("params", [{}, {"image": ""}, {"image": "x" * 600}])
def test_image_is_required_and_bounded(api, params):
    response = api.get("/v1/docker-helper/verify", params)
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "image"


def test_unknown_or_foreign_secret_is_404(api, make_secret, other_org):
    theirs = make_secret("theirs", organization=other_org)
    for secret_id in (str(theirs.pk), "nope"):
        response = api.get("/v1/docker-helper/verify", {"image": "nginx", "secret_id": secret_id})
        assert response.status_code == 404


def test_undecryptable_secret_is_409_decryption_failed(api, make_secret, settings):
    from tests.conftest import TEST_KEY_B

    secret = make_secret("ghcr")
    settings.REGSECRETS_ENCRYPTION_KEYS = f"other:{TEST_KEY_B}"
    response = api.get("/v1/docker-helper/verify", {"image": "ghcr.io/x/y", "secret_id": str(secret.pk)})
    assert response.status_code == 409
    assert response.json()["code"] == "DECRYPTION_FAILED"
    # The same words as the site's buttons and the admin action.
    assert response.json()["message"] == undecryptable_message()
    assert Secret.objects.filter(pk=secret.pk).exists()


def test_verify_shares_the_per_user_budget_and_answers_429(api, settings):
    settings.REGSECRETS_VERIFY_RATE_LIMIT = 2
    for _ in range(2):
        assert api.get("/v1/docker-helper/verify", {"image": "INVALID"}).status_code == 200
    response = api.get("/v1/docker-helper/verify", {"image": "INVALID"})
    assert response.status_code == 429
    assert response.json()["code"] == "resource_exhausted"
    assert response.json()["message"] == RATE_LIMITED_MESSAGE
