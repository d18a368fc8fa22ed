"""The aws-ecr provider on every face: site form, admin, API, command; isolation.

Nothing here reaches AWS: saving never mints (a token is minted when a consumer
needs one), and the suite's boto3 endpoint is a closed loopback port.
"""

from __future__ import annotations

import io
import json
import re
from html import unescape

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from regsecrets.accounts.tokens import token_create
from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.services import app_create, service_create
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_config, secret_create, secret_fields
from tests.admin.conftest import assert_no_secret
from tests.api.conftest import Api
from tests.conftest import CANARY, page_text

pytestmark = pytest.mark.django_db

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = f"wJalrXUtnFEMI/K7MDENG/{CANARY}"
HOST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
ROLE = "arn:aws:iam::123456789012:role/ecr-pull"
INPUT = {
    "access_key_id": KEY_ID,
    "secret_access_key": SECRET_KEY,
    "region": "eu-west-1",
    "registry_id": "123456789012",
    "role_arn": ROLE,
}


def api_for(user, org) -> Api:
    return Api(Client(), token_create(user=user, organization=org, name="t")[1])


@pytest.fixture
def api(alice, org) -> Api:
    return api_for(alice, org)


@pytest.fixture
def ecr(org, alice) -> Secret:
    return secret_create(
        organization=org, name="ecr", provider="aws-ecr", data=INPUT, actor=alice
    )


def no_mint_happened() -> bool:
    return not AuditEvent.objects.filter(action="secret.token_minted").exists()


# --------------------------------------------------------------------- the site


def test_the_form_explains_the_permissions_and_where_to_create_the_key(alice_client):
    response = alice_client.get("/secrets/new/aws-ecr/")
    html = response.content.decode()
    help_text = unescape(html)
    for permission in (
        "ecr:GetAuthorizationToken",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ):
        assert permission in help_text
    assert 'href="https://console.aws.amazon.com/iam/home#/users"' in html
    assert 'src="/static/img/providers/aws-ecr.svg"' in html
    secret_input = re.search(r'<input[^>]*name="secret_access_key"[^>]*>', html).group(0)
    assert 'type="password"' in secret_input
    assert "value=" not in secret_input
    # The preview sends the text fields only, never the secret key.
    assert 'data-preview-fields="access_key_id,region,registry_id,role_arn"' in html


def test_the_host_preview_follows_region_and_account(alice_client):
    url = reverse("registry_secrets:preview_host", args=["aws-ecr"])
    answer = alice_client.post(url, {"region": "eu-west-1", "registry_id": "123456789012"})
    assert answer.json()["host"] == HOST
    half = alice_client.post(url, {"region": "eu-west-1", "registry_id": "1234"})
    assert half.json()["host"] in (None, "")


def test_create_stores_the_key_and_no_login(alice_client, org):
    response = alice_client.post("/secrets/new/aws-ecr/", {"name": "ecr", **INPUT})
    assert response.status_code == 302
    secret = Secret.objects.get(organization=org, name="ecr")
    assert (secret.provider, secret.hosts, secret.username) == ("aws_ecr_registry", [HOST], KEY_ID)
    assert secret_fields(secret) == INPUT
    # No docker password exists until one is minted: the stored document holds none.
    assert secret_config(secret) == {"auths": {HOST: {}}}
    page = page_text(alice_client.get(response["Location"]))
    assert HOST in page
    assert KEY_ID in page
    assert CANARY not in page
    assert no_mint_happened()


def test_every_field_error_at_once_keeping_what_was_typed(alice_client, org):
    response = alice_client.post(
        "/secrets/new/aws-ecr/",
        {
            "name": "ecr",
            "access_key_id": "akia-lower",
            "secret_access_key": f"{CANARY} with spaces",
            "region": "Europe",
            "registry_id": "12345",
            "role_arn": "arn:aws:iam::1:user/x",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"access_key_id", "secret_access_key", "region", "registry_id", "role_arn"}
    html = response.content.decode()
    assert 'value="akia-lower"' in html
    assert 'value="12345"' in html
    assert CANARY not in html
    assert not Secret.objects.filter(organization=org).exists()


def test_edit_keeps_the_stored_key_and_a_new_registry_needs_it_again(ecr, alice_client):
    edit = alice_client.get(f"/secrets/{ecr.pk}/edit/").content.decode()
    assert CANARY not in edit
    assert 'value="eu-west-1"' in edit
    kept = {**INPUT, "secret_access_key": "", "role_arn": ""}
    assert alice_client.post(f"/secrets/{ecr.pk}/edit/", kept).status_code == 302
    ecr.refresh_from_db()
    assert secret_fields(ecr)["secret_access_key"] == SECRET_KEY
    assert secret_fields(ecr)["role_arn"] == ""
    moved = alice_client.post(
        f"/secrets/{ecr.pk}/edit/", {**kept, "region": "us-east-1"}
    )
    assert moved.status_code == 200
    assert "secret_access_key" in moved.context["form"].errors
    ecr.refresh_from_db()
    assert ecr.hosts == [HOST]


# -------------------------------------------------------------------- the admin


def test_the_admin_change_page_never_shows_the_secret_key(ecr, admin_client):
    page = admin_client.get(reverse("admin:registry_secrets_secret_change", args=[ecr.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="secret_access_key"' in html
    assert 'value="123456789012"' in html
    assert_no_secret(html, SECRET_KEY)


# ---------------------------------------------------------------------- the API


def test_api_create_get_list_and_reveal(api, org):
    body = {"name": "ecr", "type": "REGISTRY", "aws_ecr_registry": INPUT}
    created = api.post("/v1/secrets", body)
    assert created.status_code == 200, created.json()
    shown = {"access_key_id": KEY_ID, "region": "eu-west-1", "registry_id": "123456789012"}
    assert created.json()["secret"]["aws_ecr_registry"] == shown
    secret_id = created.json()["secret"]["id"]
    got = api.get(f"/v1/secrets/{secret_id}")
    assert got.json()["secret"]["aws_ecr_registry"] == shown
    listed = api.get("/v1/secrets")
    assert [s["aws_ecr_registry"] for s in listed.json()["secrets"]] == [shown]
    for reply in (created, got, listed):
        assert CANARY not in reply.content.decode()
    revealed = api.post(f"/v1/secrets/{secret_id}/reveal", {})
    assert revealed.json() == {"value": INPUT}  # the stored fields, never a token
    assert no_mint_happened()


def test_api_field_errors_name_the_payload_paths(api):
    body = {
        "name": "ecr",
        "aws_ecr_registry": {**INPUT, "region": "mars-1", "registry_id": "42", "extra": "x"},
    }
    unknown = api.post("/v1/secrets", body)
    assert unknown.status_code == 400
    assert unknown.json()["fields"] == [
        {"field": "aws_ecr_registry.extra", "description": "Unknown field for this registry."}
    ]
    del body["aws_ecr_registry"]["extra"]
    invalid = api.post("/v1/secrets", body)
    assert invalid.status_code == 400
    fields = {f["field"]: f["description"] for f in invalid.json()["fields"]}
    assert fields == {
        "aws_ecr_registry.region": "Enter an AWS region name such as eu-west-1.",
        "aws_ecr_registry.registry_id": "Enter the registry's 12-digit AWS account ID.",
    }
    missing = api.post("/v1/secrets", {"name": "ecr", "aws_ecr_registry": {"region": "eu-west-1"}})
    assert {f["field"] for f in missing.json()["fields"]} == {
        "aws_ecr_registry.access_key_id",
        "aws_ecr_registry.secret_access_key",
        "aws_ecr_registry.registry_id",
    }
    assert CANARY not in invalid.content.decode() + missing.content.decode()


def test_api_updates_keep_the_key_and_a_new_registry_needs_it_again(api, ecr):
    rotated = "n3w/" + "x" * 36
    patched = api.patch(
        f"/v1/secrets/{ecr.pk}?update_mask=aws_ecr_registry.secret_access_key",
        {"aws_ecr_registry": {"secret_access_key": rotated}},
    )
    assert patched.status_code == 200, patched.json()
    ecr.refresh_from_db()
    assert secret_fields(ecr) == {**INPUT, "secret_access_key": rotated}
    assert rotated not in patched.content.decode()

    moved = api.patch(f"/v1/secrets/{ecr.pk}", {"aws_ecr_registry": {"region": "us-east-1"}})
    assert moved.status_code == 400
    assert [f["field"] for f in moved.json()["fields"]] == ["aws_ecr_registry.secret_access_key"]

    put = api.put(
        f"/v1/secrets/{ecr.pk}",
        {"aws_ecr_registry": {**INPUT, "region": "us-east-1", "role_arn": None}},
    )
    assert put.status_code == 200, put.json()
    ecr.refresh_from_db()
    assert ecr.hosts == ["123456789012.dkr.ecr.us-east-1.amazonaws.com"]
    assert secret_fields(ecr)["role_arn"] == ""


# ------------------------------------------------------------------ the command


def test_the_create_command_takes_the_secret_key_on_stdin(org, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"secret_access_key": SECRET_KEY})))
    out = io.StringIO()
    call_command(
        "create_registry_secret",
        org.slug,
        "ecr",
        "--provider",
        "aws_ecr_registry",
        "--field",
        f"access_key_id={KEY_ID}",
        "--field",
        "region=eu-west-1",
        "--field",
        "registry_id=123456789012",
        "--stdin",
        stdout=out,
    )
    secret = Secret.objects.get(name="ecr")
    assert secret_fields(secret)["secret_access_key"] == SECRET_KEY
    assert CANARY not in out.getvalue()


# ------------------------------------------------------------------- isolation


def test_another_organization_can_neither_see_nor_use_it(ecr, bob, other_org, org, alice):
    intruder = Client()
    intruder.force_login(bob)
    session = intruder.session
    session["organization_id"] = other_org.pk
    session.save()
    for method, url in (
        ("get", f"/secrets/{ecr.pk}/"),
        ("get", f"/secrets/{ecr.pk}/edit/"),
        ("post", f"/secrets/{ecr.pk}/test/"),
        ("post", f"/secrets/{ecr.pk}/edit/test/"),
    ):
        assert getattr(intruder, method)(url).status_code == 404, url
    verify = intruder.post(
        "/services/verify-image/", {"image": f"{HOST}/team/app:v1", "secret": ecr.pk}
    )
    assert verify.status_code == 404
    listing = intruder.get("/secrets/").content.decode()
    assert str(ecr.pk) not in listing
    assert HOST not in listing

    api = api_for(bob, other_org)
    for reply in (
        api.get(f"/v1/secrets/{ecr.pk}"),
        api.post(f"/v1/secrets/{ecr.pk}/reveal", {}),
        api.get("/v1/docker-helper/verify", {"image": f"{HOST}/a:1", "secret_id": str(ecr.pk)}),
    ):
        assert reply.status_code == 404
        assert reply.json()["code"] == "not_found"
    assert api.get("/v1/secrets").json()["secrets"] == []
    # Nor can a service of the other organization pull with it.
    app = app_create(organization=other_org, name="shop", actor=bob)
    with pytest.raises(ValidationError) as refused:
        service_create(
            app=app, name="web", image=f"{HOST}/team/app:v1", registry_secret=ecr, actor=bob
        )
    assert refused.value.message_dict == {
        "registry_secret": ["No such secret in this organization."]
    }
    assert no_mint_happened()
    assert not AuditEvent.objects.filter(
        action__in=["secret.verified", "secret.revealed"], object_id=str(ecr.pk)
    ).exists()
