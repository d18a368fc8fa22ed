"""/v1/secrets through the Django test client: every endpoint and error path."""

from __future__ import annotations

import pytest

from regsecrets.audit.models import AuditEvent
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_fields
from tests.api.conftest import GCP_KEY_B64, PROVIDER_PAYLOADS, create_body
from tests.conftest import CANARY

# --- create -----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(PROVIDER_PAYLOADS))
def test_create_each_registry_type(api, org, provider):
    response = api.post("/v1/secrets", create_body("creds", provider))
    assert response.status_code == 200, response.json()
    secret = response.json()["secret"]
    assert secret["type"] == "REGISTRY"
    assert secret["organization_id"] == str(org.pk)
    assert secret["created_at"].endswith("Z")
    assert provider in secret
    assert CANARY not in response.content.decode()
    stored = Secret.objects.get(pk=secret["id"])
    assert stored.provider == provider
    assert AuditEvent.objects.filter(action="secret.created", object_id=secret["id"]).exists()


def test_create_without_type_means_registry(api):
    body = create_body("creds", "github_registry")
    del body["type"]
    assert api.post("/v1/secrets", body).status_code == 200


def test_gcp_key_file_is_stored_base64_and_shown_only_by_reveal(api):
    secret = api.post("/v1/secrets", create_body("gar", "gcp_container_registry")).json()["secret"]
    assert secret["gcp_container_registry"] == {"url": "europe-west1-docker.pkg.dev"}
    value = api.post(f"/v1/secrets/{secret['id']}/reveal").json()["value"]
    assert value["url"] == "europe-west1-docker.pkg.dev"
    assert value["keyfile_content"] == GCP_KEY_B64


@pytest.mark.parametrize("kind", ["SIMPLE", "MANAGED"])
def test_simple_and_managed_secrets_are_refused_clearly(api, kind):
    response = api.post("/v1/secrets", {"name": "plain", "type": kind, "value": "x"})
    assert response.status_code == 400
    assert response.json()["fields"] == [
        {"field": "type", "description": "Only registry secrets (type REGISTRY) are supported; SIMPLE and MANAGED secrets are not."}
    ]


@pytest.mark.parametrize("provider", list(PROVIDER_PAYLOADS))
def test_the_sdks_default_type_with_one_registry_object_is_a_registry_secret(api, provider):
    # koyeb-sdk's CreateSecret sends type SIMPLE unless told otherwise.
    response = api.post("/v1/secrets", {**create_body("creds", provider), "type": "SIMPLE"})
    assert response.status_code == 200, response.json()
    secret = response.json()["secret"]
    assert (secret["type"], list(secret).count(provider)) == ("REGISTRY", 1)
    assert Secret.objects.get(pk=secret["id"]).provider == provider


@pytest.mark.parametrize(
    "body",
    [
        {**create_body("creds", "github_registry"), "type": "SIMPLE", "value": "x"},
        {"name": "plain", "type": "SIMPLE"},
        {**create_body("creds", "github_registry"), **create_body("creds", "docker_hub_registry"), "type": "SIMPLE"},
        {**create_body("creds", "github_registry"), "type": "MANAGED"},
    ],
    ids=["simple-with-a-value", "simple-alone", "simple-with-two-registries", "managed"],
)
def test_other_simple_and_managed_bodies_keep_their_clear_error(api, body):
    response = api.post("/v1/secrets", body)
    assert response.status_code == 400
    assert response.json()["fields"] == [
        {"field": "type", "description": "Only registry secrets (type REGISTRY) are supported; SIMPLE and MANAGED secrets are not."}
    ]
    assert not Secret.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x1", "type": "REGISTRY"}, "type"),
        ({"name": "x1", "type": "OTHER", "github_registry": {}}, "type"),
        ({"name": "x1", "type": 3}, "type"),
        ({**create_body("x1", "github_registry"), **create_body("x1", "docker_hub_registry")}, "type"),
        ({"type": "REGISTRY", "github_registry": PROVIDER_PAYLOADS["github_registry"]}, "name"),
        ({**create_body("x1", "github_registry"), "name": 7}, "name"),
        ({**create_body("x1", "github_registry"), "github_registry": "ghp_x"}, "github_registry"),
        (create_body("x1", "github_registry", password=123), "github_registry.password"),
        (create_body("x1", "github_registry", token="ghp_x"), "github_registry.token"),
        (create_body("Bad Name", "github_registry"), "name"),
        (create_body("x1", "github_registry", password=""), "github_registry.password"),
        (create_body("x1", "github_registry", password="github_pat_abc"), "github_registry.password"),
        (create_body("x1", "azure_container_registry", registry_name="no"), "azure_container_registry.registry_name"),
        (create_body("x1", "gcp_container_registry", keyfile_content="bm90IGpzb24="), "gcp_container_registry.keyfile_content"),
        (create_body("x1", "gcp_container_registry", url="quay.io"), "gcp_container_registry.url"),
        (create_body("x1", "private_registry", url="https://index.docker.io/v1/"), "private_registry.url"),
    ],
)
def test_create_reports_field_errors(api, body, field):
    response = api.post("/v1/secrets", body)
    assert response.status_code == 400, response.json()
    payload = response.json()
    assert payload["status"] == 400
    assert payload["code"] == "invalid_argument"
    assert field in [f["field"] for f in payload["fields"]]
    assert CANARY not in response.content.decode()
    assert not Secret.objects.exists()


def test_create_with_a_taken_name_is_409(api, make_secret):
    make_secret("ghcr")
    response = api.post("/v1/secrets", create_body("ghcr", "github_registry"))
    assert response.status_code == 409
    assert response.json()["code"] == "already_exists"
    assert response.json()["fields"][0]["field"] == "name"


def test_a_name_taken_in_another_organization_is_free(api, make_secret, other_org):
    make_secret("ghcr", organization=other_org)
    assert api.post("/v1/secrets", create_body("ghcr", "github_registry")).status_code == 200


def test_members_can_create_secrets(member_api):
    assert member_api.post("/v1/secrets", create_body("ghcr", "github_registry")).status_code == 200


# --- list ---------------------------------------------------------------------------------


def test_list_shows_metadata_without_credentials(api, make_secret):
    for provider in PROVIDER_PAYLOADS:
        make_secret(provider.replace("_", "-"), provider)
    response = api.get("/v1/secrets", {"limit": "100"})
    body = response.json()
    assert body["count"] == len(PROVIDER_PAYLOADS)
    assert CANARY not in response.content.decode()
    assert GCP_KEY_B64 not in response.content.decode()
    for secret in body["secrets"]:
        assert "password" not in secret[secret["name"].replace("-", "_")]


def test_list_pages_with_limit_and_offset(api, make_secret):
    for n in range(12):
        make_secret(f"s{n:02d}")
    first = api.get("/v1/secrets").json()
    assert (first["limit"], first["offset"], first["count"]) == (10, 0, 12)
    assert len(first["secrets"]) == 10
    rest = api.get("/v1/secrets", {"limit": "5", "offset": "10"}).json()
    assert [s["name"] for s in rest["secrets"]] == ["s10", "s11"]
    assert api.get("/v1/secrets", {"offset": "50"}).json()["secrets"] == []


def test_list_filters_by_name_types_and_ids(api, make_secret):
    a = make_secret("alpha")
    make_secret("beta")
    assert [s["name"] for s in api.get("/v1/secrets", {"name": "ALP"}).json()["secrets"]] == ["alpha"]
    assert api.get("/v1/secrets?types=REGISTRY").json()["count"] == 2
    assert api.get("/v1/secrets?types=SIMPLE&types=MANAGED").json()["count"] == 0
    assert api.get("/v1/secrets?types=SIMPLE,REGISTRY").json()["count"] == 2
    assert [s["name"] for s in api.get(f"/v1/secrets?ids={a.pk}").json()["secrets"]] == ["alpha"]


def test_list_and_get_read_no_ciphertext(api, make_secret, settings):
    from tests.conftest import TEST_KEY_B

    secret = make_secret("broken")
    settings.REGSECRETS_ENCRYPTION_KEYS = f"other:{TEST_KEY_B}"  # nothing opens it now
    assert api.get("/v1/secrets").json()["count"] == 1
    assert api.get(f"/v1/secrets/{secret.pk}").status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=101", "limit"),
        ("limit=1e3", "limit"),
        ("offset=%00", "offset"),
        ("offset=99999999999999999999", "offset"),
        ("types=BOGUS", "types"),
        ("ids=not-a-uuid", "ids"),
        ("name=%00", "name"),
        ("name=" + "x" * 300, "name"),
    ],
)
def test_list_refuses_bad_parameters(api, query, field):
    response = api.get(f"/v1/secrets?{query}")
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == field


# --- get --------------------------------------------------------------------------------


def test_get_one_secret(api, make_secret):
    secret = make_secret("ghcr")
    body = api.get(f"/v1/secrets/{secret.pk}").json()["secret"]
    assert body["id"] == str(secret.pk)
    assert body["github_registry"] == {"username": "octocat"}


@pytest.mark.parametrize("secret_id", ["00000000-0000-0000-0000-000000000000", "nope", "%00", "1" * 300])
def test_get_unknown_is_404(api, secret_id):
    response = api.get(f"/v1/secrets/{secret_id}")
    assert response.status_code == 404
    assert response.json() == {"status": 404, "code": "not_found", "message": "No such object.", "fields": []}


def test_another_organizations_secret_is_404_for_every_method(api, make_secret, other_org):
    theirs = make_secret("theirs", organization=other_org)
    path = f"/v1/secrets/{theirs.pk}"
    assert api.get(path).status_code == 404
    assert api.put(path, {"github_registry": {"username": "x"}}).status_code == 404
    assert api.patch(path, {}).status_code == 404
    assert api.delete(path).status_code == 404
    assert api.post(f"{path}/reveal", {}).status_code == 404
    assert Secret.objects.filter(pk=theirs.pk).exists()


# --- update -----------------------------------------------------------------------------


def test_put_replaces_the_registry_object_and_keeps_an_omitted_password(api, make_secret):
    secret = make_secret("lab", "gitlab_registry", url="gitlab.example.com:5050")
    body = {"gitlab_registry": {"username": "deployer", "url": "gitlab.example.com:5050"}}
    response = api.put(f"/v1/secrets/{secret.pk}", body)
    assert response.status_code == 200, response.json()
    assert response.json()["secret"]["gitlab_registry"] == {"username": "deployer", "url": "gitlab.example.com:5050"}
    secret.refresh_from_db()
    assert secret_fields(secret)["password"] == CANARY
    assert AuditEvent.objects.filter(action="secret.updated").count() == 1


def test_put_that_omits_the_url_moves_the_registry_and_needs_the_password(api, make_secret):
    secret = make_secret("lab", "gitlab_registry", url="gitlab.example.com:5050")
    # url omitted by PUT means the default registry: a registry change.
    response = api.put(f"/v1/secrets/{secret.pk}", {"gitlab_registry": {"username": "deployer"}})
    assert response.status_code == 400
    assert [f["field"] for f in response.json()["fields"]] == ["gitlab_registry.password"]
    response = api.put(
        f"/v1/secrets/{secret.pk}", {"gitlab_registry": {"username": "deployer", "password": "n3w"}}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["secret"]["gitlab_registry"] == {"username": "deployer", "url": "registry.gitlab.com"}


def test_patch_changes_only_the_fields_sent(api, make_secret):
    secret = make_secret("lab", "gitlab_registry", url="gitlab.example.com:5050")
    response = api.patch(f"/v1/secrets/{secret.pk}", {"gitlab_registry": {"password": "rotated"}})
    assert response.json()["secret"]["gitlab_registry"] == {"username": "gitlab+deploy-token-1", "url": "gitlab.example.com:5050"}
    secret.refresh_from_db()
    assert secret_fields(secret)["password"] == "rotated"


def test_update_mask_limits_the_change(api, make_secret):
    secret = make_secret("priv", "private_registry")
    body = {"private_registry": {"username": "ignored", "password": "new-pass", "url": "other.example.com"}}
    response = api.put(f"/v1/secrets/{secret.pk}?update_mask=private_registry.password", body)
    assert response.status_code == 200
    assert response.json()["secret"]["private_registry"] == {"username": "robot", "url": "registry.example.com:5000"}
    secret.refresh_from_db()
    assert secret_fields(secret)["password"] == "new-pass"
    whole = api.patch(f"/v1/secrets/{secret.pk}?update_mask=private_registry", body).json()["secret"]
    assert whole["private_registry"] == {"username": "ignored", "url": "other.example.com"}


@pytest.mark.parametrize(
    ("query", "body", "field"),
    [
        ("", {"type": ["REGISTRY"], "github_registry": {"username": "hubot"}}, "type"),
        ("?update_mask=", {"name": {}, "github_registry": {"username": "hubot"}}, "name"),
        ("?update_mask=github_registry.username", {"name": 5, "github_registry": {"username": "hubot"}}, "name"),
    ],
)
def test_update_checks_the_types_of_fields_it_ignores(api, make_secret, query, body, field):
    secret = make_secret("ghcr")
    response = api.patch(f"/v1/secrets/{secret.pk}{query}", body)
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == field


def test_create_checks_the_type_of_a_value_it_ignores(api):
    response = api.post("/v1/secrets", {**create_body("creds", "github_registry"), "value": {}})
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "value"


def test_update_ignores_the_sdks_default_type(api, make_secret):
    secret = make_secret("ghcr")
    body = {"type": "SIMPLE", "github_registry": {"username": "hubot"}}
    assert api.patch(f"/v1/secrets/{secret.pk}", body).status_code == 200
    assert api.patch(f"/v1/secrets/{secret.pk}?update_mask=type", body).status_code == 400


@pytest.mark.parametrize(
    ("query", "body", "field"),
    [
        ("", {"name": "renamed"}, "name"),
        ("", {"docker_hub_registry": {"username": "x"}}, "docker_hub_registry"),
        ("", {"github_registry": {"username": "-bad-"}}, "github_registry.username"),
        ("", {"github_registry": {"username": ["x"]}}, "github_registry.username"),
        ("", {"github_registry": []}, "github_registry"),
        ("?update_mask=github_registry.nope", {}, "update_mask"),
        ("?update_mask=labels", {}, "update_mask"),
    ],
)
def test_update_reports_field_errors(api, make_secret, query, body, field):
    secret = make_secret("ghcr")
    response = api.patch(f"/v1/secrets/{secret.pk}{query}", body)
    assert response.status_code == 400, response.json()
    assert response.json()["fields"][0]["field"] == field


def test_put_needs_the_registry_object(api, make_secret):
    secret = make_secret("ghcr")
    response = api.put(f"/v1/secrets/{secret.pk}", {"name": "ghcr"})
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "github_registry"


# --- delete -------------------------------------------------------------------------------


def test_delete_a_secret(api, make_secret):
    secret = make_secret("ghcr")
    response = api.delete(f"/v1/secrets/{secret.pk}")
    assert (response.status_code, response.json()) == (200, {})
    assert not Secret.objects.exists()
    assert AuditEvent.objects.filter(action="secret.deleted").exists()


def test_delete_is_refused_while_a_service_uses_the_secret(api, make_secret):
    secret = make_secret("ghcr")
    app = api.post("/v1/apps", {"name": "web"}).json()["app"]
    definition = {"name": "front", "docker": {"image": "ghcr.io/octocat/app", "image_registry_secret": "ghcr"}}
    api.post("/v1/services", {"app_id": app["id"], "definition": definition})
    response = api.delete(f"/v1/secrets/{secret.pk}")
    assert response.status_code == 409
    assert response.json()["code"] == "failed_precondition"
    assert "web/front" in response.json()["message"]
    assert Secret.objects.filter(pk=secret.pk).exists()


def test_members_cannot_delete_secrets(member_api, make_secret):
    secret = make_secret("ghcr")
    response = member_api.delete(f"/v1/secrets/{secret.pk}")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


# --- reveal -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(PROVIDER_PAYLOADS))
def test_reveal_returns_the_providers_fields_and_is_audited(api, make_secret, provider):
    secret = make_secret("creds", provider)
    response = api.post(f"/v1/secrets/{secret.pk}/reveal", {})
    assert response.status_code == 200
    value = response.json()["value"]
    for field, given in PROVIDER_PAYLOADS[provider].items():
        assert value[field] == given
    event = AuditEvent.objects.get(action="secret.revealed")
    assert event.object_id == str(secret.pk)
    assert event.api_token is not None


def test_reveal_accepts_an_empty_body(api, make_secret):
    secret = make_secret("ghcr")
    assert api.post(f"/v1/secrets/{secret.pk}/reveal").status_code == 200


def test_members_cannot_reveal(member_api, make_secret):
    secret = make_secret("ghcr")
    assert member_api.post(f"/v1/secrets/{secret.pk}/reveal", {}).status_code == 403
    assert not AuditEvent.objects.filter(action="secret.revealed").exists()


@pytest.mark.parametrize("damage", ["ciphertext", "key"])
def test_reveal_of_an_undecryptable_secret_is_409_decryption_failed(api, make_secret, settings, damage):
    from tests.conftest import TEST_KEY_B

    secret = make_secret("ghcr")
    if damage == "ciphertext":
        token = Secret.objects.get(pk=secret.pk).document
        Secret.objects.filter(pk=secret.pk).update(document=token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB"))
    else:
        settings.REGSECRETS_ENCRYPTION_KEYS = f"other:{TEST_KEY_B}"
    response = api.post(f"/v1/secrets/{secret.pk}/reveal", {})
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "DECRYPTION_FAILED"
    assert "cannot be decrypted" in body["message"]
    assert "Traceback" not in response.content.decode()
    put = api.patch(f"/v1/secrets/{secret.pk}", {"github_registry": {"password": "x"}})
    assert put.status_code == 409
    assert put.json()["code"] == "DECRYPTION_FAILED"
