"""Every consumer logs in with a fresh token for ECR and GCP secrets, end to end.

moto's AWS server mints the ECR tokens and the local OAuth2 endpoint the Google ones;
a docker-registry on loopback, whose htpasswd holds the minted login, stands in for
ACCOUNT.dkr.ecr.REGION.amazonaws.com and gcr.io (see ``stored_secret``). The faces
are the real ones: the detail page's and the forms' "Test credentials", the scheduled
health check, "Verify image" on the site and /v1/docker-helper/verify, and the
``export_pull_secret`` command in both formats.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from html import unescape
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from regsecrets.accounts.tokens import token_create
from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.services import app_create, service_create
from regsecrets.registries.client import check_image
from regsecrets.registry_secrets import health, verification
from regsecrets.registry_secrets.minting import refresh_margin, secret_token
from regsecrets.registry_secrets.models import HealthStatus, Secret
from tests.api.conftest import Api
from tests.minting.conftest import (
    ROLE_ARN,
    ecr_input,
    make_ecr_secret,
    make_gcp_secret,
    restart_with_logins,
)
from tests.verification.conftest import options_for

pytestmark = [pytest.mark.registry, pytest.mark.django_db]

IMAGE_PATH = "team/app:v1"


def events(action: str, secret: Secret) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_id=str(secret.pk)).order_by("pk"))


def export(*args: str) -> tuple[dict, str]:
    out, err = StringIO(), StringIO()
    call_command("export_pull_secret", *args, stdout=out, stderr=err)
    return json.loads(out.getvalue()), err.getvalue()


def detail_messages(response) -> str:
    return unescape(response.content.decode())


@pytest.fixture
def ecr_secret(aws_env, ecr_registry, local_registries, org):
    local_registries(ecr_registry.host)
    return make_ecr_secret(org, aws_env.puller, host=ecr_registry.host)


@pytest.fixture
def api(alice, org) -> Api:
    return Api(Client(), token_create(user=alice, organization=org, name="test")[1])


@pytest.fixture
def shop(org, alice):
    return app_create(organization=org, name="shop", actor=alice)


def serve(shop, alice, secret, name="web"):
    return service_create(
        app=shop,
        name=name,
        image=f"{secret.hosts[0]}/{IMAGE_PATH}",
        registry_secret=secret,
        actor=alice,
    )


# ------------------------------------------------------------------ Test credentials


def test_test_credentials_logs_in_with_a_token_minted_from_the_stored_key(
    ecr_secret, ecr_registry, alice_client, alice
):
    response = alice_client.post(f"/secrets/{ecr_secret.pk}/test/", follow=True)
    assert response.status_code == 200
    assert f"{ecr_registry.host}: The credentials log in" in detail_messages(response)
    ecr_secret.refresh_from_db()
    assert ecr_secret.health_status == HealthStatus.HEALTHY
    [minted] = events("secret.token_minted", ecr_secret)
    assert minted.actor == alice
    assert minted.details["success"] is True
    [verified] = events("secret.verified", ecr_secret)
    assert verified.details == {
        "check": "credentials",
        "host": ecr_registry.host,
        "success": True,
        "code": "",
    }
    # The second test is served from the cache: no second mint.
    alice_client.post(f"/secrets/{ecr_secret.pk}/test/")
    assert len(events("secret.token_minted", ecr_secret)) == 1
    assert len(events("secret.verified", ecr_secret)) == 2


def test_the_admin_test_action_mints_too(ecr_secret, ecr_registry, admin_client):
    response = admin_client.post(
        "/admin/registry_secrets/secret/",
        {"action": "test_credentials", "_selected_action": [str(ecr_secret.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    assert f"{ecr_registry.host}: The credentials log in" in detail_messages(response)
    assert events("secret.token_minted", ecr_secret)[0].details["success"] is True


def test_a_denied_key_is_a_mint_denied_result_and_failing_health_never_a_500(
    aws_env, ecr_registry, local_registries, org, alice_client, settings
):
    local_registries(ecr_registry.host)
    settings.REGSECRETS_HEALTH_ALERT_AFTER = 2
    secret = make_ecr_secret(org, aws_env.nobody, host=ecr_registry.host)
    response = alice_client.post(f"/secrets/{secret.pk}/test/", follow=True)
    assert response.status_code == 200
    page = detail_messages(response)
    assert f"{ecr_registry.host} failed: " in page
    assert "(code MINT_DENIED)" in page
    assert "ecr:GetAuthorizationToken" in page
    assert events("secret.verified", secret)[0].details["code"] == "MINT_DENIED"
    # The scheduled check: the same result, and FAILING once the failures add up.
    outcome = health.health_check_secret(secret.pk, now=timezone.now() + timedelta(minutes=1))
    assert outcome.status == HealthStatus.FAILING
    secret.refresh_from_db()
    assert (secret.health_code, secret.consecutive_failures) == ("MINT_DENIED", 2)
    assert "ecr:GetAuthorizationToken" in secret.health_reason


def test_aws_unreachable_is_a_mint_unreachable_result(
    aws_env, ecr_registry, local_registries, org, monkeypatch
):
    local_registries(ecr_registry.host)
    closed = "http://127.0.0.1:9"
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", closed)
    secret = make_ecr_secret(org, aws_env.puller, host=ecr_registry.host)
    [check] = verification.verify_stored_secret(secret=secret, actor=None, rate_limit=False)
    assert (check.result.success, check.result.code) == (False, "MINT_UNREACHABLE")
    assert "127.0.0.1:9" in check.result.reason


def test_the_create_form_mints_from_the_typed_key(aws_env, alice_client):
    wrong = "wrong-" + "k" * 34
    response = alice_client.post(
        "/secrets/new/aws-ecr/test/",
        ecr_input(aws_env.puller, secret_access_key=wrong),
    )
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["host"] == "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
    assert (result["success"], result["code"]) == (False, "MINT_DENIED")
    assert wrong not in response.content.decode()
    # Field errors come before anything is sent, as for every provider.
    bad = alice_client.post("/secrets/new/aws-ecr/test/", ecr_input(aws_env.puller, region="x"))
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["region"]


def test_the_edit_form_mints_from_the_merged_input(ecr_secret, aws_env, alice_client):
    # A key typed over the stored one: the edit is judged, then minted from.
    response = alice_client.post(
        f"/secrets/{ecr_secret.pk}/edit/test/",
        {**ecr_input(aws_env.nobody), "secret_access_key": aws_env.nobody.secret_access_key},
    )
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["code"] == "MINT_DENIED"
    assert events("secret.verified", ecr_secret)[0].details["code"] == "MINT_DENIED"


# ------------------------------------------------------------------- health checks


def test_the_scheduled_check_mints_and_logs_in(ecr_secret, ecr_registry):
    outcome = health.health_check_secret(ecr_secret.pk)
    assert (outcome.state, outcome.status) == ("checked", HealthStatus.HEALTHY)
    [minted] = events("secret.token_minted", ecr_secret)
    assert minted.actor is None
    assert not events("secret.verified", ecr_secret)  # scheduled checks are not audited one by one


def test_the_token_is_refreshed_after_its_lifetime_with_a_frozen_clock(ecr_secret):
    start = timezone.now()
    refresh_at = start + timedelta(hours=12) - refresh_margin(timedelta(hours=12))
    for at in (start, start + timedelta(hours=6), refresh_at - timedelta(seconds=1)):
        assert health.health_check_secret(ecr_secret.pk, now=at).status == HealthStatus.HEALTHY
    assert len(events("secret.token_minted", ecr_secret)) == 1
    assert health.health_check_secret(ecr_secret.pk, now=refresh_at).status == HealthStatus.HEALTHY
    minted = events("secret.token_minted", ecr_secret)
    assert len(minted) == 2
    assert minted[1].details["expires_at"] == (refresh_at + timedelta(hours=12)).isoformat()


def test_the_assume_role_path_serves_every_consumer(
    aws_env, ecr_registry, local_registries, org, alice, shop
):
    local_registries(ecr_registry.host)
    secret = make_ecr_secret(org, aws_env.hopper, host=ecr_registry.host, role_arn=ROLE_ARN)
    assert health.health_check_secret(secret.pk).status == HealthStatus.HEALTHY
    serve(shop, alice, secret)
    manifest, _ = export("shop/web", "--format", "kubernetes")
    expires = manifest["metadata"]["annotations"]["regsecrets/token-expires-at"]
    left = datetime.fromisoformat(expires) - datetime.now(UTC)
    # The role's one-hour session bounds the token, not ECR's 12 hours.
    assert timedelta(minutes=50) < left <= timedelta(hours=1)


# -------------------------------------------------------------------- Verify image


def test_verify_image_on_the_site_and_the_api_pulls_with_the_minted_token(
    ecr_secret, ecr_registry, alice_client, api
):
    # An image the secret does not serve is checked anonymously: nothing is minted.
    elsewhere = api.get(
        "/v1/docker-helper/verify",
        {"image": "127.0.0.1:9/team/app:v1", "secret_id": str(ecr_secret.pk)},
    )
    assert elsewhere.status_code == 200
    assert not elsewhere.json()["detail_code"].startswith("MINT_")
    assert not events("secret.token_minted", ecr_secret)

    image = f"{ecr_registry.host}/{IMAGE_PATH}"
    site = alice_client.post("/services/verify-image/", {"image": image, "secret": ecr_secret.pk})
    assert site.json()["success"] is True, site.json()
    reply = api.get("/v1/docker-helper/verify", {"image": image, "secret_id": str(ecr_secret.pk)})
    assert reply.status_code == 200
    assert reply.json()["success"] is True, reply.json()
    assert len(events("secret.token_minted", ecr_secret)) == 1
    assert [e.details["success"] for e in events("secret.verified", ecr_secret)] == [
        False,
        True,
        True,
    ]


def test_verify_image_with_a_denied_key_answers_the_mint_code(
    aws_env, ecr_registry, local_registries, org, api
):
    local_registries(ecr_registry.host)
    secret = make_ecr_secret(org, aws_env.nobody, host=ecr_registry.host)
    reply = api.get(
        "/v1/docker-helper/verify",
        {"image": f"{ecr_registry.host}/{IMAGE_PATH}", "secret_id": str(secret.pk)},
    )
    assert reply.status_code == 200
    body = reply.json()
    assert (body["success"], body["code"], body["detail_code"]) == (
        False,
        "REGISTRY_ERROR",  # Koyeb's enum has no MINT_*; detail_code is precise
        "MINT_DENIED",
    )
    assert body["registry"] == ecr_registry.host


# ------------------------------------------------------------------------- export


def test_export_carries_a_fresh_token_that_pulls_and_its_expiry(
    ecr_secret, ecr_registry, alice, shop
):
    serve(shop, alice, ecr_secret)
    document, note = export("shop/web")
    entry = document["auths"][ecr_registry.host]
    assert (entry["username"], entry["password"]) == ("AWS", ecr_registry.extra["token"])
    assert "expires at" in note
    pull = check_image(
        f"{ecr_registry.host}/{IMAGE_PATH}", document, options=options_for(ecr_registry.host)
    )
    assert pull.success, pull.reason

    manifest, _ = export("shop/web", "--format", "kubernetes")
    carried = json.loads(base64.b64decode(manifest["data"][".dockerconfigjson"]))
    assert carried == document
    [minted] = events("secret.token_minted", ecr_secret)
    expires = manifest["metadata"]["annotations"]["regsecrets/token-expires-at"]
    assert expires.endswith("Z")
    stated = datetime.fromisoformat(minted.details["expires_at"]).replace(microsecond=0)
    assert datetime.fromisoformat(expires) == stated
    exported = events("secret.exported", ecr_secret)
    assert [e.details["format"] for e in exported] == ["dockerconfigjson", "kubernetes"]
    assert exported[0].details["token_expires_at"] == minted.details["expires_at"]
    assert ecr_registry.extra["token"] not in json.dumps([e.details for e in exported])


def test_export_long_lived_is_refused_for_ecr(ecr_secret, alice, shop):
    serve(shop, alice, ecr_secret)
    with pytest.raises(CommandError, match="Amazon ECR has no long-lived docker login"):
        export("shop/web", "--long-lived")
    assert not events("secret.exported", ecr_secret)
    assert not events("secret.token_minted", ecr_secret)


def test_export_with_a_denied_key_is_a_command_error_naming_the_code(
    aws_env, ecr_registry, local_registries, org, alice, shop
):
    local_registries(ecr_registry.host)
    secret = make_ecr_secret(org, aws_env.nobody, host=ecr_registry.host)
    serve(shop, alice, secret)
    with pytest.raises(CommandError, match=r"MINT_DENIED.*ecr:GetAuthorizationToken"):
        export("shop/web")
    assert not events("secret.exported", secret)


# --------------------------------------------------------------------------- GCP


@pytest.fixture
def gcp_setup(oauth_endpoint, service_account, registry_for, local_registries, org):
    """A GCP secret served by a local registry that accepts its first minted token.

    The secret names the registry's host, so the registry starts first (with a
    placeholder login); once the token is minted, the registry is restarted on the
    same port with it.
    """
    registry = registry_for(("oauth2accesstoken", "placeholder"))
    local_registries(registry.host)
    key_file = service_account.key_file(oauth_endpoint.token_uri)
    secret = make_gcp_secret(org, key_file, host=registry.host)
    token = secret_token(secret=secret)
    restart_with_logins(registry, (token.username, token.password))
    return secret, registry, token, key_file


def test_gcp_secrets_are_checked_and_exported_with_an_access_token(
    gcp_setup, oauth_endpoint, alice_client, alice, shop
):
    secret, registry, token, key_file = gcp_setup
    response = alice_client.post(f"/secrets/{secret.pk}/test/", follow=True)
    assert f"{registry.host}: The credentials log in" in detail_messages(response)
    assert health.health_check_secret(secret.pk).status == HealthStatus.HEALTHY
    serve(shop, alice, secret)
    document, _ = export("shop/web")
    entry = document["auths"][registry.host]
    assert (entry["username"], entry["password"]) == ("oauth2accesstoken", token.password)
    assert key_file["private_key"].splitlines()[1] not in json.dumps(document)
    manifest, _ = export("shop/web", "--format", "kubernetes")
    assert "regsecrets/token-expires-at" in manifest["metadata"]["annotations"]
    assert oauth_endpoint.mints == 1  # every consumer was served the one cached token


def test_gcp_long_lived_export_gives_the_json_key(gcp_setup, oauth_endpoint, alice, shop):
    secret, registry, _, key_file = gcp_setup
    serve(shop, alice, secret)
    document, note = export("shop/web", "--long-lived")
    entry = document["auths"][registry.host]
    assert entry["username"] == "_json_key"
    assert json.loads(entry["password"]) == key_file
    assert note == ""
    manifest, _ = export("shop/web", "--long-lived", "--format", "kubernetes")
    assert "annotations" not in manifest["metadata"]
    assert events("secret.exported", secret)[0].details["long_lived"] is True
    assert oauth_endpoint.mints == 1  # only the fixture's
