"""GET /v1/deployments and /v1/deployments/{id}: each service definition, as it was set."""

from __future__ import annotations

import pytest

from regsecrets.deploy.models import Deployment
from tests.api.test_apps_and_services import service_body

pytestmark = pytest.mark.django_db

GHCR_IMAGE = "ghcr.io/octocat/app:1"
HUB_IMAGE = "docker.io/acme/app:1"


@pytest.fixture
def app(api):
    return api.post("/v1/apps", {"name": "web"}).json()["app"]


@pytest.fixture
def service(api, app, make_secret):
    make_secret("ghcr")
    make_secret("hub", "docker_hub_registry")
    return api.post("/v1/services", service_body(app["id"], GHCR_IMAGE, "ghcr")).json()["service"]


def put(api, service, image, secret=None, name="front"):
    docker = {"image": image, **({"image_registry_secret": secret} if secret else {})}
    response = api.put(f"/v1/services/{service['id']}", {"definition": {"name": name, "docker": docker}})
    assert response.status_code == 200, response.json()
    return response.json()["service"]


def test_a_new_service_has_its_first_deployment_as_latest_and_active(api, service):
    assert service["version"] == "1"
    assert service["latest_deployment_id"] == service["active_deployment_id"]
    deployment = api.get(f"/v1/deployments/{service['latest_deployment_id']}").json()["deployment"]
    assert deployment["service_id"] == service["id"]
    assert deployment["app_id"] == service["app_id"]
    assert deployment["version"] == "1"
    assert deployment["role"] == "ACTIVE"
    assert deployment["definition"] == {
        "name": "front",
        "type": "WEB",
        "docker": {"image": GHCR_IMAGE, "image_registry_secret": "ghcr"},
    }


def test_each_definition_change_is_one_deployment_and_earlier_ones_are_stopped(api, service):
    second = put(api, service, HUB_IMAGE, "hub")
    assert second["version"] == "2"
    assert second["latest_deployment_id"] != service["latest_deployment_id"]
    put(api, service, HUB_IMAGE, "hub")  # the same definition: no new deployment
    third = put(api, service, "nginx:1.27", name="edge")
    assert third["version"] == "3"

    listed = api.get("/v1/deployments", {"service_id": service["id"]}).json()
    assert (listed["count"], listed["has_next"]) == (3, False)
    versions = [(d["version"], d["status"], d.get("role")) for d in listed["deployments"]]
    assert versions == [("3", "HEALTHY", "ACTIVE"), ("2", "STOPPED", None), ("1", "STOPPED", None)]
    by_version = {d["version"]: d["definition"] for d in listed["deployments"]}
    assert by_version["1"]["docker"] == {"image": GHCR_IMAGE, "image_registry_secret": "ghcr"}
    assert by_version["2"]["docker"] == {"image": HUB_IMAGE, "image_registry_secret": "hub"}
    assert by_version["3"] == {"name": "edge", "type": "WEB", "docker": {"image": "nginx:1.27", "image_registry_secret": ""}}
    assert [m for d in listed["deployments"][1:] for m in d["messages"]] == ["Replaced by a later deployment."] * 2


def test_filters_and_paging(api, app, service):
    other = api.post("/v1/services", service_body(app["id"], "nginx", name="back")).json()["service"]
    put(api, service, HUB_IMAGE, "hub")
    assert api.get("/v1/deployments").json()["count"] == 3
    assert api.get("/v1/deployments", {"app_id": app["id"]}).json()["count"] == 3
    assert api.get("/v1/deployments", {"service_id": other["id"]}).json()["count"] == 1
    stopped = api.get("/v1/deployments", {"statuses": ["STOPPED"]}).json()["deployments"]
    assert [(d["service_id"], d["version"]) for d in stopped] == [(service["id"], "1")]
    # A public image is HEALTHY; the hub secret has not been checked yet: STARTING.
    healthy = api.get("/v1/deployments", {"statuses": ["HEALTHY", "PENDING"]}).json()["deployments"]
    assert [d["service_id"] for d in healthy] == [other["id"]]
    starting = api.get("/v1/deployments", {"statuses": "STARTING"}).json()["deployments"]
    assert [d["service_id"] for d in starting] == [service["id"]]
    both = api.get("/v1/deployments", {"service_id": service["id"], "statuses": ["STARTING", "STOPPED"]}).json()
    assert both["count"] == 2
    first = api.get("/v1/deployments", {"limit": "1"}).json()
    assert (len(first["deployments"]), first["has_next"]) == (1, True)
    one = first["deployments"][0]["id"]
    assert [d["id"] for d in api.get("/v1/deployments", {"ids": [one]}).json()["deployments"]] == [one]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"statuses": "NOPE"}, "statuses"),
        ({"service_id": "not-an-id"}, "service_id"),
        ({"app_id": "x"}, "app_id"),
        ({"ids": "x"}, "ids"),
        ({"limit": "101"}, "limit"),
        ({"offset": "-1"}, "offset"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(api, params, field):
    response = api.get("/v1/deployments", params)
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == field


def test_another_organizations_deployments_are_invisible(api, make_api, bob, other_org):
    theirs = make_api(bob, other_org)
    app = theirs.post("/v1/apps", {"name": "theirs"}).json()["app"]
    service = theirs.post("/v1/services", service_body(app["id"], "nginx")).json()["service"]
    assert api.get(f"/v1/deployments/{service['latest_deployment_id']}").status_code == 404
    assert api.get("/v1/deployments", {"service_id": service["id"]}).json()["count"] == 0
    assert api.get("/v1/deployments").json()["count"] == 0


@pytest.mark.parametrize("deployment_id", ["00000000-0000-0000-0000-000000000000", "nope"])
def test_unknown_deployments_are_404(api, deployment_id):
    response = api.get(f"/v1/deployments/{deployment_id}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_deleting_a_service_deletes_its_deployments(api, service):
    put(api, service, HUB_IMAGE, "hub")
    assert api.delete(f"/v1/services/{service['id']}").status_code == 200
    assert not Deployment.objects.exists()
    assert api.get(f"/v1/deployments/{service['latest_deployment_id']}").status_code == 404


def test_the_deployment_list_costs_the_same_queries_for_one_or_many(api, app, service, django_assert_num_queries):
    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert api.get("/v1/deployments", {"limit": "100"}).status_code == 200
        return len(captured)

    few = count_queries()
    for n in range(5):
        api.post("/v1/services", service_body(app["id"], "nginx", name=f"s{n}"))
        put(api, service, HUB_IMAGE if n % 2 else GHCR_IMAGE, "hub" if n % 2 else "ghcr")
    assert count_queries() == few
    with django_assert_num_queries(3):  # token, count, page with services and secrets
        api.get("/v1/deployments", {"limit": "100"})
