"""PUT and PATCH /v1/services/{id}: the site's rules and audit, through deploy.services."""

from __future__ import annotations

import pytest

from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.models import Deployment, Service
from tests.api.test_apps_and_services import service_body

pytestmark = pytest.mark.django_db

GHCR_IMAGE = "ghcr.io/octocat/app:1"
HUB_IMAGE = "docker.io/acme/app:1"


@pytest.fixture
def app(api):
    return api.post("/v1/apps", {"name": "web"}).json()["app"]


@pytest.fixture
def secrets(make_secret):
    return {"ghcr": make_secret("ghcr"), "hub": make_secret("hub", "docker_hub_registry")}


@pytest.fixture
def service(api, app, secrets):
    response = api.post("/v1/services", service_body(app["id"], GHCR_IMAGE, "ghcr"))
    assert response.status_code == 200, response.json()
    return response.json()["service"]


def definition(name="front", image=GHCR_IMAGE, secret=None) -> dict:
    docker = {"image": image}
    if secret is not None:
        docker["image_registry_secret"] = secret
    return {"definition": {"name": name, "docker": docker}}


def stored(service) -> tuple[str, str, str | None]:
    row = Service.objects.select_related("registry_secret").get(pk=service["id"])
    return row.name, row.image, row.registry_secret.name if row.registry_secret else None


# --- PUT ----------------------------------------------------------------------------------


def test_put_switches_the_secret_and_image_and_answers_the_new_definition(api, service):
    response = api.put(f"/v1/services/{service['id']}", definition(image=HUB_IMAGE, secret="hub"))
    assert response.status_code == 200, response.json()
    body = response.json()["service"]
    assert body["definition"]["docker"] == {"image": HUB_IMAGE, "image_registry_secret": "hub"}
    assert stored(service) == ("front", HUB_IMAGE, "hub")
    event = AuditEvent.objects.get(action="service.updated")
    assert event.details["changed_fields"] == ["image", "registry_secret"]
    assert event.details["registry_secret"] == "hub"
    assert event.details["version"] == 2


def test_put_without_a_secret_makes_the_image_public(api, service):
    response = api.put(f"/v1/services/{service['id']}", definition())
    assert response.status_code == 200
    assert response.json()["service"]["definition"]["docker"]["image_registry_secret"] == ""
    assert stored(service) == ("front", GHCR_IMAGE, None)


def test_put_renames_and_a_taken_name_is_409(api, app, service):
    api.post("/v1/services", service_body(app["id"], "nginx", name="back"))
    renamed = api.put(f"/v1/services/{service['id']}", definition(name="edge", secret="ghcr"))
    assert renamed.json()["service"]["name"] == "edge"
    taken = api.put(f"/v1/services/{service['id']}", definition(name="back", secret="ghcr"))
    assert taken.status_code == 409
    assert taken.json()["code"] == "already_exists"
    assert taken.json()["fields"][0]["field"] == "definition.name"
    assert stored(service)[0] == "edge"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "definition"),
        ({"definition": {"docker": {"image": GHCR_IMAGE}}}, "definition.name"),
        ({"definition": {"name": "front"}}, "definition.docker.image"),
        ({"definition": {"name": "front", "docker": {"image": ""}}}, "definition.docker.image"),
        ({"definition": {"name": "front", "docker": {"image": 5}}}, "definition.docker.image"),
        ({"definition": {"name": "Front!", "docker": {"image": GHCR_IMAGE}}}, "definition.name"),
        ({"definition": {"name": "front", "docker": "x"}}, "definition.docker"),
        ({"definition": {"name": "front", "git": {"repository": "x"}}}, "definition.git"),
        (definition(image=HUB_IMAGE, secret="ghcr"), "definition.docker.image_registry_secret"),
        (definition(secret="missing"), "definition.docker.image_registry_secret"),
        (definition(image="https://ghcr.io/x"), "definition.docker.image"),
        ({**definition(), "life_cycle": {"delete_after_sleep": 60}}, "life_cycle.delete_after_sleep"),
        ({**definition(), "life_cycle": {"delete_after_create": "x"}}, "life_cycle.delete_after_create"),
        ({**definition(), "life_cycle": {"other": 0}}, "life_cycle.other"),
        ({**definition(), "skip_build": "yes"}, "skip_build"),
        ({**definition(), "save_only": 0}, "save_only"),
        ({**definition(), "metadata": "x"}, "metadata"),
        ({"definition": {"name": "front", "type": 5, "docker": {"image": GHCR_IMAGE}}}, "definition.type"),
    ],
)
def test_put_field_errors_change_nothing(api, service, body, field):
    response = api.put(f"/v1/services/{service['id']}", body)
    assert response.status_code == 400, response.json()
    assert field in [f["field"] for f in response.json()["fields"]]
    assert stored(service) == ("front", GHCR_IMAGE, "ghcr")
    assert not AuditEvent.objects.filter(action="service.updated").exists()
    assert Deployment.objects.count() == 1


def test_a_life_cycle_of_zeros_and_koyeb_fields_we_do_not_use_are_accepted(api, service):
    body = {
        "definition": {
            "name": "front",
            "type": "WEB",
            "ports": [{"port": 8000, "protocol": "http"}],
            "docker": {"image": HUB_IMAGE, "image_registry_secret": "hub", "command": "run"},
        },
        "life_cycle": {"delete_after_sleep": 0, "delete_after_create": 0},
        "skip_build": True,
        "save_only": False,
    }
    response = api.put(f"/v1/services/{service['id']}", body)
    assert response.status_code == 200, response.json()
    assert stored(service) == ("front", HUB_IMAGE, "hub")


def test_dry_run_is_refused_on_update(api, service):
    response = api.put(f"/v1/services/{service['id']}?dry_run=true", definition(secret="ghcr"))
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "dry_run"


# --- PATCH and update_mask ------------------------------------------------------------------


def test_patch_changes_only_what_the_body_carries(api, service):
    body = {"definition": {"docker": {"image": "ghcr.io/octocat/app:2"}}}
    response = api.patch(f"/v1/services/{service['id']}", body)
    assert response.status_code == 200, response.json()
    assert stored(service) == ("front", "ghcr.io/octocat/app:2", "ghcr")
    body = {"definition": {"docker": {"image_registry_secret": ""}}}
    api.patch(f"/v1/services/{service['id']}", body)
    assert stored(service) == ("front", "ghcr.io/octocat/app:2", None)


def test_patch_checks_the_kept_image_against_a_new_secret(api, service):
    body = {"definition": {"docker": {"image_registry_secret": "hub"}}}
    response = api.patch(f"/v1/services/{service['id']}", body)
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "definition.docker.image_registry_secret"
    assert stored(service) == ("front", GHCR_IMAGE, "ghcr")


def test_patch_with_a_mask_takes_only_the_named_paths(api, service):
    # The body names a new image too, but the mask limits the change to the secret.
    body = {"definition": {"name": "ignored", "docker": {"image": HUB_IMAGE, "image_registry_secret": ""}}}
    path = f"/v1/services/{service['id']}?update_mask=definition.docker.image_registry_secret"
    response = api.patch(path, body)
    assert response.status_code == 200, response.json()
    assert stored(service) == ("front", GHCR_IMAGE, None)


def test_a_mask_path_the_body_leaves_out_is_cleared_or_required(api, service):
    path = f"/v1/services/{service['id']}?update_mask=definition.docker"
    required = api.patch(path, {"definition": {"docker": {"image_registry_secret": "ghcr"}}})
    assert required.status_code == 400
    assert required.json()["fields"][0]["field"] == "definition.docker.image"
    cleared = api.patch(path, {"definition": {"docker": {"image": "nginx:1"}}})
    assert cleared.status_code == 200, cleared.json()
    assert stored(service) == ("front", "nginx:1", None)


def test_put_with_a_mask_changes_only_the_name(api, service):
    path = f"/v1/services/{service['id']}?update_mask=definition.name"
    response = api.put(path, {"definition": {"name": "edge"}})
    assert response.status_code == 200, response.json()
    assert stored(service) == ("edge", GHCR_IMAGE, "ghcr")


def test_what_the_body_carries_is_checked_even_where_the_mask_does_not_look(api, service):
    path = f"/v1/services/{service['id']}?update_mask=definition.name"
    body = {"definition": {"name": "edge", "docker": {"image_registry_secret": ["x"]}}}
    response = api.patch(path, body)
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "definition.docker.image_registry_secret"
    assert stored(service) == ("front", GHCR_IMAGE, "ghcr")


def test_an_empty_mask_is_no_mask(api, service):
    body = {"definition": {"docker": {"image": "ghcr.io/octocat/app:2"}}}
    assert api.patch(f"/v1/services/{service['id']}?update_mask=", body).status_code == 200
    assert stored(service) == ("front", "ghcr.io/octocat/app:2", "ghcr")


@pytest.mark.parametrize("value", ["yes", "1"])
def test_dry_run_must_be_a_boolean(api, service, value):
    response = api.put(f"/v1/services/{service['id']}?dry_run={value}", definition(secret="ghcr"))
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "dry_run"


def test_unknown_mask_paths_are_refused(api, service):
    response = api.patch(f"/v1/services/{service['id']}?update_mask=definition.env", {})
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "update_mask"


def test_an_update_that_changes_nothing_records_no_deployment_but_is_audited(api, service):
    response = api.put(f"/v1/services/{service['id']}", definition(secret="ghcr"))
    assert response.status_code == 200
    assert response.json()["service"]["version"] == "1"
    assert Deployment.objects.count() == 1
    event = AuditEvent.objects.get(action="service.updated")
    assert event.details["changed_fields"] == []


# --- who and which -------------------------------------------------------------------------


def test_members_may_update_as_on_the_site(member_api, service):
    response = member_api.put(f"/v1/services/{service['id']}", definition(image=HUB_IMAGE, secret="hub"))
    assert response.status_code == 200
    assert AuditEvent.objects.get(action="service.updated").actor.username == "mallory"


def test_another_organizations_service_or_secret_cannot_be_used(api, make_api, bob, other_org, make_secret, service):
    make_secret("theirs", "docker_hub_registry", organization=other_org)
    response = api.put(f"/v1/services/{service['id']}", definition(image=HUB_IMAGE, secret="theirs"))
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "definition.docker.image_registry_secret"
    theirs = make_api(bob, other_org)
    assert theirs.put(f"/v1/services/{service['id']}", definition()).status_code == 404
    assert theirs.patch(f"/v1/services/{service['id']}", definition()).status_code == 404
    assert stored(service) == ("front", GHCR_IMAGE, "ghcr")


@pytest.mark.parametrize("service_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_unknown_services_are_404(api, service_id):
    assert api.put(f"/v1/services/{service_id}", definition()).status_code == 404
    assert api.patch(f"/v1/services/{service_id}", definition()).status_code == 404


@pytest.mark.parametrize("raw", ["", "[]", "{", '{"definition": null}'])
def test_malformed_update_bodies_are_400(api, service, raw):
    response = api.call("PUT", f"/v1/services/{service['id']}", raw=raw)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_argument"
