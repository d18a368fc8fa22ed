"""The official koyeb-sdk client against a live regsecrets server.

koyeb-sdk 1.5.5 sends ``Authorization`` only from ``api_key["Bearer"]`` (its
``auth_settings()`` ignores ``access_token``), so that is how it is configured here.
"""

from __future__ import annotations

import json

import pytest
from koyeb.api import ApiClient, Configuration
from koyeb.api.api.apps_api import AppsApi
from koyeb.api.api.deployments_api import DeploymentsApi
from koyeb.api.api.docker_helper_api import DockerHelperApi
from koyeb.api.api.instances_api import InstancesApi
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
    AppStatus,
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
    ServiceStatus,
    UpdateApp,
    UpdateService,
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


# --- round 2: services change, deployments, honest statuses, filters, defaults, errors ------


def _service_with_secret(sdk, image="ghcr.io/octocat/app:1", secret="ghcr"):
    app = AppsApi(sdk).create_app(CreateApp(name="web")).app
    definition = DeploymentDefinition(name="front", docker=DockerSource(image=image, image_registry_secret=secret))
    return app, ServicesApi(sdk).create_service(CreateService(app_id=app.id, definition=definition)).service


def _docker(deployment) -> tuple[str, str]:
    return deployment.definition.docker.image, deployment.definition.docker.image_registry_secret


def test_sdk_switches_a_service_to_another_secret_with_put_and_patch(sdk):
    create(sdk, "ghcr", "github_registry")
    create(sdk, "ghcr-rotated", "github_registry")
    create(sdk, "hub", "docker_hub_registry")
    services_api = ServicesApi(sdk)
    _, service = _service_with_secret(sdk)

    put = services_api.update_service(
        service.id,
        UpdateService(definition=DeploymentDefinition(name="front", docker=DockerSource(image="docker.io/acme/app:2", image_registry_secret="hub"))),
    ).service
    assert put.version == "2"
    patched = services_api.update_service2(
        service.id,
        UpdateService(definition=DeploymentDefinition(docker=DockerSource(image="ghcr.io/octocat/app:3", image_registry_secret="ghcr-rotated"))),
        update_mask="definition.docker",
    ).service
    assert patched.version == "3"
    latest = DeploymentsApi(sdk).get_deployment(patched.latest_deployment_id).deployment
    assert _docker(latest) == ("ghcr.io/octocat/app:3", "ghcr-rotated")

    with pytest.raises(BadRequestException) as caught:  # the secret must serve the image, as on the site
        services_api.update_service2(
            service.id,
            UpdateService(definition=DeploymentDefinition(docker=DockerSource(image_registry_secret="hub"))),
            update_mask="definition.docker.image_registry_secret",
        )
    assert caught.value.data.fields[0].var_field == "definition.docker.image_registry_secret"
    assert services_api.get_service(service.id).service.version == "3"


def test_sdk_reads_back_image_and_secret_from_the_services_deployments(sdk):
    create(sdk, "ghcr", "github_registry")
    create(sdk, "hub", "docker_hub_registry")
    _, service = _service_with_secret(sdk)
    got = ServicesApi(sdk).get_service(service.id).service
    assert got.latest_deployment_id == got.active_deployment_id == service.latest_deployment_id
    deployments_api = DeploymentsApi(sdk)
    first = deployments_api.get_deployment(got.latest_deployment_id).deployment
    assert _docker(first) == ("ghcr.io/octocat/app:1", "ghcr")
    assert (first.service_id, first.version, first.definition.name) == (service.id, "1", "front")

    ServicesApi(sdk).update_service(
        service.id,
        UpdateService(definition=DeploymentDefinition(name="front", docker=DockerSource(image="docker.io/acme/app:1", image_registry_secret="hub"))),
    )
    listed = deployments_api.list_deployments(service_id=service.id)
    assert listed.count == 2
    assert [(d.version, d.status.value, _docker(d)) for d in listed.deployments] == [
        ("2", "STARTING", ("docker.io/acme/app:1", "hub")),
        ("1", "STOPPED", ("ghcr.io/octocat/app:1", "ghcr")),
    ]
    assert deployments_api.list_deployments(service_id=service.id, statuses=["STOPPED"]).count == 1


def test_sdk_status_version_and_life_cycle_are_set_never_the_sdks_defaults(sdk, org):
    from regsecrets.registry_secrets.models import HealthStatus
    from regsecrets.registry_secrets.models import Secret as SecretRow

    create(sdk, "ghcr", "github_registry")
    app, service = _service_with_secret(sdk)
    apps_api, services_api = AppsApi(sdk), ServicesApi(sdk)
    public = services_api.create_service(
        CreateService(app_id=app.id, definition=DeploymentDefinition(name="public", docker=DockerSource(image="nginx:1.27")))
    ).service
    assert public.status == ServiceStatus.HEALTHY
    assert public.life_cycle.to_dict() == {"delete_after_sleep": 0, "delete_after_create": 0}
    assert public.version == "1"
    # Not checked yet: STARTING is what the server says, and it says why.
    got = services_api.get_service(service.id).service
    assert (got.status, got.messages) == (ServiceStatus.STARTING, ["The registry secret “ghcr” has not been checked yet."])
    SecretRow.objects.filter(organization=org, name="ghcr").update(health_status=HealthStatus.FAILING, health_code="AUTH_ACCESS_DENIED")
    assert services_api.get_service(service.id).service.status == ServiceStatus.UNHEALTHY
    got_app = apps_api.get_app(app.id).app
    assert got_app.status == AppStatus.UNHEALTHY
    assert got_app.life_cycle.delete_when_empty is False
    # The raw reply carries every status field: none is left to the SDK's default.
    raw = json.loads(services_api.get_service_without_preload_content(service.id).data)["service"]
    assert {"status", "version", "life_cycle", "latest_deployment_id", "active_deployment_id"} <= set(raw)


def test_sdk_list_services_filters(sdk):
    create(sdk, "ghcr", "github_registry")
    app, service = _service_with_secret(sdk)
    services_api = ServicesApi(sdk)
    services_api.create_service(
        CreateService(app_id=app.id, definition=DeploymentDefinition(name="public", docker=DockerSource(image="nginx:1.27")))
    )
    assert [s.name for s in services_api.list_services(statuses=["HEALTHY"]).services] == ["public"]
    assert [s.name for s in services_api.list_services(statuses=["STARTING"]).services] == ["front"]
    assert services_api.list_services(types=["WEB"]).count == 2
    assert services_api.list_services(types=["WORKER"]).count == 0
    assert services_api.list_services(regions=["fra"]).count == 0
    assert services_api.list_services(app_id=app.id, name="fro", ids=[service.id]).count == 1
    for kwargs, field in [({"statuses": ["RUNNING"]}, "statuses"), ({"types": ["CRON"]}, "types")]:
        with pytest.raises(BadRequestException) as caught:
            services_api.list_services(**kwargs)
        assert caught.value.data.fields[0].var_field == field


def test_sdk_create_secret_with_the_default_type(sdk):
    body = CreateSecret(name="ghcr", github_registry=GitHubRegistryConfiguration(**PROVIDER_PAYLOADS["github_registry"]))
    assert body.type == SecretType.SIMPLE  # what the SDK sends when nobody says
    secret = SecretsApi(sdk).create_secret(body).secret
    assert secret.type == SecretType.REGISTRY
    assert secret.github_registry.username == "octocat"
    with pytest.raises(BadRequestException) as caught:
        SecretsApi(sdk).create_secret(CreateSecret(name="plain", value="x"))
    assert "Only registry secrets" in caught.value.data.fields[0].description


def test_sdk_calls_to_what_is_not_served_answer_json_errors(sdk):
    app = AppsApi(sdk).create_app(CreateApp(name="web")).app
    with pytest.raises(NotFoundException) as caught:  # an unknown path
        AppsApi(sdk).pause_app(app.id)
    assert error_body(caught.value) == {"status": 404, "code": "not_found", "message": "No such API path.", "fields": []}
    assert caught.value.data.code == "not_found"
    with pytest.raises(ApiException) as caught:  # a method the path does not serve
        AppsApi(sdk).update_app(app.id, UpdateApp(name="renamed"))
    assert caught.value.status == 405
    assert caught.value.headers["Allow"] == "DELETE, GET"
    assert error_body(caught.value)["code"] == "method_not_allowed"
    with pytest.raises(NotFoundException):
        InstancesApi(sdk).list_instances()
