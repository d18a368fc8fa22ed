"""The official koyeb-sdk client against a live regsecrets server.

koyeb-sdk 1.5.5 sends ``Authorization`` only from ``api_key["Bearer"]`` (its
``auth_settings()`` ignores ``access_token``), so that is how it is configured here.
"""

from __future__ import annotations

import json

import pytest
from koyeb.api import ApiClient, Configuration
from koyeb.api.api.apps_api import AppsApi
from koyeb.api.api.docker_helper_api import DockerHelperApi
from koyeb.api.api.secrets_api import SecretsApi
from koyeb.api.api.services_api import ServicesApi
from koyeb.api.exceptions import (
    ApiException,
    BadRequestException,
    ForbiddenException,
    NotFoundException,
    UnauthorizedException,
)
from koyeb.api.models import (
    AzureContainerRegistryConfiguration,
    CreateApp,
    CreateSecret,
    CreateService,
    DeploymentDefinition,
    DigitalOceanRegistryConfiguration,
    DockerHubRegistryConfiguration,
    DockerSource,
    GCPContainerRegistryConfiguration,
    GitHubRegistryConfiguration,
    GitLabRegistryConfiguration,
    PrivateRegistryConfiguration,
    Secret,
    SecretType,
)

from tests.api.conftest import PROVIDER_PAYLOADS
from tests.conftest import CANARY

MODELS = {
    "docker_hub_registry": DockerHubRegistryConfiguration,
    "github_registry": GitHubRegistryConfiguration,
    "gitlab_registry": GitLabRegistryConfiguration,
    "digital_ocean_registry": DigitalOceanRegistryConfiguration,
    "azure_container_registry": AzureContainerRegistryConfiguration,
    "gcp_container_registry": GCPContainerRegistryConfiguration,
    "private_registry": PrivateRegistryConfiguration,
}

pytestmark = pytest.mark.django_db(transaction=True)


def sdk_client(url: str, token: str | None) -> ApiClient:
    config = Configuration(host=url)
    if token is not None:
        config.api_key = {"Bearer": token}
        config.api_key_prefix = {"Bearer": "Bearer"}
    return ApiClient(config)


@pytest.fixture
def sdk(live_url, alice, org, issue_token) -> ApiClient:
    return sdk_client(live_url, issue_token(alice, org))


def create(sdk: ApiClient, name: str, provider: str):
    body = CreateSecret(name=name, type=SecretType.REGISTRY, **{provider: MODELS[provider](**PROVIDER_PAYLOADS[provider])})
    return SecretsApi(sdk).create_secret(body).secret


def error_body(exc: ApiException) -> dict:
    return json.loads(exc.body)


def test_sdk_creates_a_secret_of_every_registry_type_and_never_gets_credentials_back(sdk):
    secrets_api = SecretsApi(sdk)
    for provider in MODELS:
        secret = create(sdk, provider.replace("_", "-"), provider)
        assert secret.type == SecretType.REGISTRY
        assert secret.name == provider.replace("_", "-")
        assert secret.created_at is not None
        assert secret.created_at.tzinfo is not None
        sub = getattr(secret, provider)
        assert sub is not None
        assert getattr(sub, "password", None) is None
        assert getattr(sub, "keyfile_content", None) is None
        fetched = secrets_api.get_secret(secret.id).secret
        assert fetched.id == secret.id
        assert CANARY not in fetched.to_json()
    listed = secrets_api.list_secrets(limit="100")
    assert listed.count == len(MODELS)
    assert CANARY not in listed.to_json()
    gcp = next(s for s in listed.secrets if s.gcp_container_registry)
    assert gcp.gcp_container_registry.url == "europe-west1-docker.pkg.dev"
    azure = next(s for s in listed.secrets if s.azure_container_registry)
    assert azure.azure_container_registry.registry_name == "acmeregistry"


def test_sdk_lists_with_each_filter_and_pages(sdk):
    secrets_api = SecretsApi(sdk)
    for n in range(5):
        create(sdk, f"ghcr-{n}", "github_registry")
    create(sdk, "hub", "docker_hub_registry")
    page1 = secrets_api.list_secrets(limit="2", offset="0")
    page2 = secrets_api.list_secrets(limit="2", offset="2")
    assert (page1.count, page1.limit, page1.offset) == (6, 2, 0)
    assert [s.name for s in page1.secrets] == ["ghcr-0", "ghcr-1"]
    assert [s.name for s in page2.secrets] == ["ghcr-2", "ghcr-3"]
    assert secrets_api.list_secrets(offset="6").secrets == []
    by_name = secrets_api.list_secrets(name="hub")
    assert [s.name for s in by_name.secrets] == ["hub"]
    assert secrets_api.list_secrets(types=["REGISTRY"]).count == 6
    assert secrets_api.list_secrets(types=["SIMPLE"]).count == 0
    assert secrets_api.list_secrets(types=["SIMPLE", "REGISTRY"]).count == 6
    one = page1.secrets[0]
    assert [s.id for s in secrets_api.list_secrets(ids=[one.id]).secrets] == [one.id]


def test_sdk_updates_with_put_and_patch_and_reveals(sdk):
    secrets_api = SecretsApi(sdk)
    secret = create(sdk, "lab", "gitlab_registry")
    put = secrets_api.update_secret(
        secret.id,
        Secret(gitlab_registry=GitLabRegistryConfiguration(username="deployer", password="new-" + CANARY)),
    ).secret
    assert put.gitlab_registry.username == "deployer"
    patched = secrets_api.update_secret2(
        secret.id,
        Secret(gitlab_registry=GitLabRegistryConfiguration(password="newer-" + CANARY)),
        update_mask="gitlab_registry.password",
    ).secret
    assert patched.gitlab_registry.username == "deployer"
    assert patched.updated_at >= put.updated_at
    revealed = secrets_api.reveal_secret(secret.id, {}).value
    assert revealed == {"username": "deployer", "password": "newer-" + CANARY, "url": "registry.gitlab.com"}


def test_sdk_deletes_a_secret_unless_a_service_uses_it(sdk):
    secrets_api = SecretsApi(sdk)
    used = create(sdk, "ghcr", "github_registry")
    unused = create(sdk, "hub", "docker_hub_registry")
    app = AppsApi(sdk).create_app(CreateApp(name="web")).app
    ServicesApi(sdk).create_service(
        CreateService(
            app_id=app.id,
            definition=DeploymentDefinition(
                name="front", docker=DockerSource(image="ghcr.io/octocat/app:1", image_registry_secret="ghcr")
            ),
        )
    )
    assert secrets_api.delete_secret(unused.id) == {}
    with pytest.raises(ApiException) as caught:
        secrets_api.delete_secret(used.id)
    assert caught.value.status == 409
    assert error_body(caught.value)["code"] == "failed_precondition"
    with pytest.raises(NotFoundException):
        secrets_api.get_secret(unused.id)


def test_sdk_apps_and_services_with_an_image_registry_secret(sdk):
    create(sdk, "ghcr", "github_registry")
    apps_api, services_api = AppsApi(sdk), ServicesApi(sdk)
    app = apps_api.create_app(CreateApp(name="web")).app
    assert apps_api.get_app(app.id).app.name == "web"
    assert [a.name for a in apps_api.list_apps().apps] == ["web"]
    definition = DeploymentDefinition(
        name="front", docker=DockerSource(image="ghcr.io/octocat/app:1", image_registry_secret="ghcr")
    )
    service = services_api.create_service(CreateService(app_id=app.id, definition=definition)).service
    assert (service.name, service.app_id) == ("front", app.id)
    assert services_api.get_service(service.id).service.id == service.id
    listed = services_api.list_services(app_id=app.id)
    assert [s.name for s in listed.services] == ["front"]
    assert listed.count == 1
    assert listed.has_next is False

    mismatched = DeploymentDefinition(
        name="back", docker=DockerSource(image="docker.io/acme/app:1", image_registry_secret="ghcr")
    )
    with pytest.raises(BadRequestException) as caught:
        services_api.create_service(CreateService(app_id=app.id, definition=mismatched))
    fields = error_body(caught.value)["fields"]
    assert fields[0]["field"] == "definition.docker.image_registry_secret"
    assert caught.value.data.fields[0].var_field == "definition.docker.image_registry_secret"

    unknown = DeploymentDefinition(
        name="back", docker=DockerSource(image="ghcr.io/octocat/app:1", image_registry_secret="nope")
    )
    with pytest.raises(BadRequestException) as caught:
        services_api.create_service(CreateService(app_id=app.id, definition=unknown))
    assert error_body(caught.value)["fields"][0]["field"] == "definition.docker.image_registry_secret"

    assert services_api.delete_service(service.id) == {}
    assert apps_api.delete_app(app.id) == {}
    with pytest.raises(NotFoundException):
        apps_api.get_app(app.id)


def test_sdk_verify_reports_a_malformed_image(sdk):
    reply = DockerHelperApi(sdk).verify_docker_image(image="INVALID")
    assert reply.success is False
    assert reply.code.value == "MALFORMED"


def test_sdk_error_replies(sdk, live_url, member, org, issue_token):
    secrets_api = SecretsApi(sdk)
    create(sdk, "ghcr", "github_registry")
    with pytest.raises(ApiException) as caught:
        create(sdk, "ghcr", "github_registry")
    assert caught.value.status == 409
    assert error_body(caught.value)["code"] == "already_exists"

    with pytest.raises(BadRequestException) as caught:
        secrets_api.create_secret(
            CreateSecret(name="bad", type=SecretType.REGISTRY, github_registry=GitHubRegistryConfiguration(username="octocat"))
        )
    body = error_body(caught.value)
    assert body["status"] == 400
    assert {"field": "github_registry.password", "description": "This field is required."} in body["fields"]

    with pytest.raises(BadRequestException) as caught:
        secrets_api.create_secret(CreateSecret(name="plain", type=SecretType.SIMPLE, value="x"))
    assert "Only registry secrets" in error_body(caught.value)["fields"][0]["description"]

    with pytest.raises(NotFoundException) as caught:
        secrets_api.get_secret("00000000-0000-0000-0000-000000000000")
    assert error_body(caught.value) == {"status": 404, "code": "not_found", "message": "No such object.", "fields": []}

    with pytest.raises(UnauthorizedException) as caught:
        SecretsApi(sdk_client(live_url, "rst_" + "x" * 43)).list_secrets()
    assert error_body(caught.value)["code"] == "unauthenticated"

    as_member = SecretsApi(sdk_client(live_url, issue_token(member, org)))
    secret_id = secrets_api.list_secrets().secrets[0].id
    with pytest.raises(ForbiddenException) as caught:
        as_member.reveal_secret(secret_id, {})
    assert error_body(caught.value)["code"] == "permission_denied"
