"""Status, version and life_cycle of apps and services, and the list filters on them.

regsecrets runs nothing: a service's status is its pull credential's health
(regsecrets.deploy.status), an app's the worst of its services'.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regsecrets.registry_secrets.models import HealthStatus, Secret
from tests.api.test_apps_and_services import service_body

pytestmark = pytest.mark.django_db

IMAGES = {"ghcr": "ghcr.io/octocat/app:1", "hub": "docker.io/acme/app:1"}


@pytest.fixture
def app(api):
    return api.post("/v1/apps", {"name": "web"}).json()["app"]


@pytest.fixture
def secrets(make_secret):
    return {"ghcr": make_secret("ghcr"), "hub": make_secret("hub", "docker_hub_registry")}


def health(secret: Secret, status: str, code: str = "") -> None:
    Secret.objects.filter(pk=secret.pk).update(health_status=status, health_code=code)


def create(api, app, name: str, secret: str | None = None) -> dict:
    image = IMAGES[secret] if secret else "nginx:1.27"
    response = api.post("/v1/services", service_body(app["id"], image, secret, name=name))
    assert response.status_code == 200, response.json()
    return response.json()["service"]


def get(api, kind: str, obj: dict) -> dict:
    return api.get(f"/v1/{kind}s/{obj['id']}").json()[kind]


@pytest.mark.parametrize(
    ("secret_health", "code", "status", "message"),
    [
        (HealthStatus.UNKNOWN, "", "STARTING", "The registry secret “ghcr” has not been checked yet."),
        (HealthStatus.HEALTHY, "", "HEALTHY", "The registry secret “ghcr” passed its last check."),
        (HealthStatus.EXPIRING, "EXPIRING", "DEGRADED", "The registry secret “ghcr” expires soon."),
        (HealthStatus.FAILING, "AUTH_ACCESS_DENIED", "UNHEALTHY", "The registry secret “ghcr” fails its checks (AUTH_ACCESS_DENIED)."),
    ],
)
def test_a_services_status_is_its_secrets_health(api, app, secrets, secret_health, code, status, message):
    service = create(api, app, "front", "ghcr")
    health(secrets["ghcr"], secret_health, code)
    got = get(api, "service", service)
    assert (got["status"], got["messages"]) == (status, [message])
    assert get(api, "app", app)["status"] == status


def test_a_public_image_is_healthy_and_the_honest_constants_are_set(api, app):
    service = create(api, app, "front")
    assert service["status"] == "HEALTHY"
    assert service["messages"] == ["Public image: no registry secret to check."]
    assert service["life_cycle"] == {"delete_after_sleep": 0, "delete_after_create": 0}
    assert service["version"] == "1"
    assert service["type"] == "WEB"
    got_app = get(api, "app", app)
    assert got_app["life_cycle"] == {"delete_when_empty": False}
    assert "version" not in got_app  # documented omission: apps have no versions here


def test_an_empty_app_is_healthy_and_an_app_is_its_worst_service(api, app, secrets):
    assert (app["status"], app["messages"]) == ("HEALTHY", ["No services."])
    create(api, app, "public")
    create(api, app, "pulls-ghcr", "ghcr")
    create(api, app, "pulls-hub", "hub")
    health(secrets["ghcr"], HealthStatus.HEALTHY)
    health(secrets["hub"], HealthStatus.HEALTHY)
    assert (get(api, "app", app)["status"], get(api, "app", app)["messages"]) == ("HEALTHY", [])
    health(secrets["hub"], HealthStatus.EXPIRING)
    assert get(api, "app", app)["status"] == "DEGRADED"
    health(secrets["ghcr"], HealthStatus.FAILING)
    got = get(api, "app", app)
    assert (got["status"], got["messages"]) == ("UNHEALTHY", ["1 of 3 services UNHEALTHY."])
    assert [a["status"] for a in api.get("/v1/apps").json()["apps"]] == ["UNHEALTHY"]


def test_list_services_honours_statuses(api, app, secrets):
    create(api, app, "public")
    create(api, app, "pulls-ghcr", "ghcr")
    create(api, app, "pulls-hub", "hub")
    health(secrets["ghcr"], HealthStatus.FAILING, "AUTH_ACCESS_DENIED")

    def names(**params) -> list[str]:
        return [s["name"] for s in api.get("/v1/services", params).json()["services"]]

    assert names(statuses="HEALTHY") == ["public"]
    assert names(statuses="UNHEALTHY") == ["pulls-ghcr"]
    assert names(statuses="STARTING") == ["pulls-hub"]
    assert names(statuses=["HEALTHY", "UNHEALTHY"]) == ["public", "pulls-ghcr"]
    assert names(statuses="HEALTHY,STARTING") == ["public", "pulls-hub"]
    assert names(statuses="PAUSED") == []  # a status that never applies here
    # Every status the reply shows is one the filter finds it by.
    for service in api.get("/v1/services").json()["services"]:
        assert service["name"] in names(statuses=service["status"])


def test_list_services_honours_types_and_regions(api, app):
    create(api, app, "front")
    assert api.get("/v1/services", {"types": "WEB"}).json()["count"] == 1
    assert api.get("/v1/services", {"types": ["WORKER", "WEB"]}).json()["count"] == 1
    assert api.get("/v1/services", {"types": "WORKER"}).json()["count"] == 0
    assert api.get("/v1/services", {"regions": "fra"}).json()["count"] == 0
    assert api.get("/v1/services", {"name": "fro", "types": "WEB", "statuses": "HEALTHY"}).json()["count"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"statuses": "RUNNING"}, "statuses"),
        ({"statuses": ["HEALTHY", "healthy"]}, "statuses"),
        ({"types": "WEBB"}, "types"),
        ({"app_id": "nope"}, "app_id"),
        ({"ids": "nope"}, "ids"),
        ({"regions": "fra\x01"}, "regions"),
    ],
)
def test_unknown_filter_values_are_400_as_koyeb_answers(api, params, field):
    response = api.get("/v1/services", params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_argument"
    assert body["fields"][0]["field"] == field


def _queries(api, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert api.get(path, {"limit": "100"}).status_code == 200
    return len(captured)


def test_lists_with_statuses_cost_the_same_queries_for_one_or_many(api, app, secrets):
    create(api, app, "one", "ghcr")
    few = {path: _queries(api, path) for path in ("/v1/apps", "/v1/services")}
    for n in range(4):
        other = api.post("/v1/apps", {"name": f"app-{n}"}).json()["app"]
        create(api, other, f"s{n}", "hub" if n % 2 else "ghcr")
        create(api, other, f"p{n}")
    assert {path: _queries(api, path) for path in few} == few
    assert few == {"/v1/apps": 3, "/v1/services": 3}  # token, count, page
