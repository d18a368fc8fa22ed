"""/v1/apps and /v1/services, and the shared secret-matches-image rule."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.models import App, Service
from regsecrets.deploy.services import check_secret_matches_image
from tests.api.conftest import PROVIDER_IMAGES, PROVIDER_PAYLOADS


@pytest.fixture
def app(api):
    return api.post("/v1/apps", {"name": "web"}).json()["app"]


def service_body(app_id: str, image: str, secret: str | None = None, name: str = "front") -> dict:
    docker = {"image": image}
    if secret is not None:
        docker["image_registry_secret"] = secret
    return {"app_id": app_id, "definition": {"name": name, "docker": docker}}


# --- apps -----------------------------------------------------------------------------------


def test_create_get_list_and_delete_an_app(api, org):
    created = api.post("/v1/apps", {"name": "web"})
    assert created.status_code == 200
    app = created.json()["app"]
    assert app["organization_id"] == str(org.pk)
    assert api.get(f"/v1/apps/{app['id']}").json()["app"]["name"] == "web"
    listed = api.get("/v1/apps").json()
    assert [a["name"] for a in listed["apps"]] == ["web"]
    assert (listed["count"], listed["has_next"]) == (1, False)
    assert api.delete(f"/v1/apps/{app['id']}").json() == {}
    assert not App.objects.exists()
    assert AuditEvent.objects.filter(action="app.deleted").exists()


def test_apps_list_pages_and_filters(api):
    for n in range(3):
        api.post("/v1/apps", {"name": f"app-{n}"})
    page = api.get("/v1/apps", {"limit": "2"}).json()
    assert [a["name"] for a in page["apps"]] == ["app-0", "app-1"]
    assert page["has_next"] is True
    assert [a["name"] for a in api.get("/v1/apps", {"name": "-2"}).json()["apps"]] == ["app-2"]


@pytest.mark.parametrize(("body", "status", "field"), [({}, 400, "name"), ({"name": 5}, 400, "name"), ({"name": "Web!"}, 400, "name"), ({"name": "web"}, 409, "name")])
def test_app_create_errors(api, app, body, status, field):
    response = api.post("/v1/apps", body)
    assert response.status_code == status
    assert response.json()["fields"][0]["field"] == field


def test_another_organizations_app_is_404(api, bob, other_org):
    from regsecrets.deploy.services import app_create

    theirs = app_create(organization=other_org, name="theirs", actor=bob)
    assert api.get(f"/v1/apps/{theirs.pk}").status_code == 404
    assert api.delete(f"/v1/apps/{theirs.pk}").status_code == 404
    assert api.post("/v1/services", service_body(str(theirs.pk), "nginx")).json()["fields"][0]["field"] == "app_id"
    assert App.objects.filter(pk=theirs.pk).exists()


def test_deleting_an_app_deletes_its_services(api, app):
    api.post("/v1/services", service_body(app["id"], "nginx"))
    api.delete(f"/v1/apps/{app['id']}")
    assert not Service.objects.exists()
    assert AuditEvent.objects.filter(action="service.deleted").count() == 1


# --- services -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", list(PROVIDER_PAYLOADS))
def test_service_with_a_matching_secret_of_each_provider(api, app, make_secret, provider):
    make_secret("creds", provider)
    response = api.post("/v1/services", service_body(app["id"], PROVIDER_IMAGES[provider], "creds"))
    assert response.status_code == 200, response.json()
    service = response.json()["service"]
    assert service["app_id"] == app["id"]
    assert service["definition"]["docker"] == {"image": PROVIDER_IMAGES[provider], "image_registry_secret": "creds"}
    event = AuditEvent.objects.get(action="service.created")
    assert event.details["registry_secret"] == "creds"


def test_service_without_a_secret(api, app):
    response = api.post("/v1/services", service_body(app["id"], "nginx:1.27"))
    assert response.status_code == 200
    assert response.json()["service"]["definition"]["docker"]["image_registry_secret"] == ""


def test_top_level_name_wins_over_the_deprecated_definition_name(api, app):
    body = {**service_body(app["id"], "nginx"), "name": "edge"}
    assert api.post("/v1/services", body).json()["service"]["name"] == "edge"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["definition"]["docker"].update(image_registry_secret="hub"), "definition.docker.image_registry_secret"),
        (lambda b: b["definition"]["docker"].update(image_registry_secret="missing"), "definition.docker.image_registry_secret"),
        (lambda b: b["definition"]["docker"].update(image_registry_secret=5), "definition.docker.image_registry_secret"),
        (lambda b: b["definition"]["docker"].update(image="https://ghcr.io/x/y"), "definition.docker.image"),
        (lambda b: b["definition"]["docker"].update(image=""), "definition.docker.image"),
        (lambda b: b["definition"]["docker"].update(image="x" * 600), "definition.docker.image"),
        (lambda b: b["definition"].pop("docker"), "definition.docker.image"),
        (lambda b: b["definition"].update(git={"repository": "x"}), "definition.git"),
        (lambda b: b.pop("definition"), "definition"),
        (lambda b: b.update(definition=[]), "definition"),
        (lambda b: b["definition"].update(name="Bad_Name"), "definition.name"),
        (lambda b: b.update(name="Bad_Name"), "name"),
        (lambda b: b.update(app_id="nope"), "app_id"),
        (lambda b: b.pop("app_id"), "app_id"),
    ],
)
def test_service_create_field_errors(api, app, make_secret, mutate, field):
    make_secret("ghcr")
    make_secret("hub", "docker_hub_registry")
    body = service_body(app["id"], "ghcr.io/octocat/app:1", "ghcr")
    mutate(body)
    response = api.post("/v1/services", body)
    assert response.status_code == 400, response.json()
    assert field in [f["field"] for f in response.json()["fields"]]
    assert not Service.objects.exists()


def test_another_organizations_secret_name_is_unknown(api, app, make_secret, other_org):
    make_secret("theirs", organization=other_org)
    response = api.post("/v1/services", service_body(app["id"], "ghcr.io/octocat/app", "theirs"))
    assert response.status_code == 400
    assert response.json()["fields"][0]["description"] == "No registry secret with this name in this organization."


def test_duplicate_service_name_is_409(api, app):
    api.post("/v1/services", service_body(app["id"], "nginx"))
    response = api.post("/v1/services", service_body(app["id"], "nginx"))
    assert response.status_code == 409
    assert response.json()["fields"][0]["field"] == "definition.name"


def test_dry_run_is_refused(api, app):
    response = api.post("/v1/services?dry_run=true", service_body(app["id"], "nginx"))
    assert response.status_code == 400


def test_list_get_and_delete_services(api, app):
    other = api.post("/v1/apps", {"name": "api"}).json()["app"]
    front = api.post("/v1/services", service_body(app["id"], "nginx")).json()["service"]
    api.post("/v1/services", service_body(other["id"], "nginx", name="back"))
    assert api.get("/v1/services").json()["count"] == 2
    listed = api.get("/v1/services", {"app_id": app["id"]}).json()
    assert [s["name"] for s in listed["services"]] == ["front"]
    assert api.get("/v1/services", {"app_id": "bad"}).status_code == 400
    assert api.get(f"/v1/services/{front['id']}").json()["service"]["id"] == front["id"]
    assert api.delete(f"/v1/services/{front['id']}").json() == {}
    assert api.get(f"/v1/services/{front['id']}").status_code == 404
    assert AuditEvent.objects.filter(action="service.deleted", object_id=front["id"]).exists()


def test_another_organizations_service_is_404(api, make_api, bob, other_org):
    theirs_api = make_api(bob, other_org)
    app = theirs_api.post("/v1/apps", {"name": "theirs"}).json()["app"]
    service = theirs_api.post("/v1/services", service_body(app["id"], "nginx")).json()["service"]
    assert api.get(f"/v1/services/{service['id']}").status_code == 404
    assert api.delete(f"/v1/services/{service['id']}").status_code == 404
    assert api.get("/v1/services", {"app_id": app["id"]}).json()["count"] == 0


# --- the shared rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "image", "ok"),
    [
        ("github_registry", "ghcr.io/octocat/app", True),
        ("github_registry", "octocat/app", False),
        ("docker_hub_registry", "nginx", True),
        ("docker_hub_registry", "docker.io/library/nginx:1", True),
        ("docker_hub_registry", "ghcr.io/octocat/app", False),
        ("private_registry", "registry.example.com:5000/x", True),
        ("private_registry", "registry.example.com/x", False),
        ("azure_container_registry", "acmeregistry.azurecr.io/app", True),
        ("azure_container_registry", "other.azurecr.io/app", False),
    ],
)
def test_check_secret_matches_image(make_secret, provider, image, ok):
    secret = make_secret("creds", provider)
    if ok:
        check_secret_matches_image(secret, image)
    else:
        with pytest.raises(ValidationError) as caught:
            check_secret_matches_image(secret, image)
        assert "registry_secret" in caught.value.message_dict


def test_check_secret_matches_image_reports_a_bad_image(make_secret):
    with pytest.raises(ValidationError) as caught:
        check_secret_matches_image(make_secret(), "https://ghcr.io/x/y")
    assert "image" in caught.value.message_dict
