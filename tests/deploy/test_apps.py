"""App pages: list, create, detail, delete; scoping and constant query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.models import App, Service
from regsecrets.deploy.services import app_create, service_create
from tests.conftest import page_text

pytestmark = pytest.mark.django_db


def test_app_list_shows_only_this_organizations_apps(alice_client, org, other_org):
    app_create(organization=org, name="shop")
    app_create(organization=other_org, name="secret-project")
    response = alice_client.get(reverse("deploy:app_list"))
    assert response.status_code == 200
    assert b"shop" in response.content
    assert b"secret-project" not in response.content


def test_nav_links_to_apps(alice_client):
    response = alice_client.get(reverse("deploy:app_list"))
    assert f'href="{reverse("deploy:app_list")}"'.encode() in response.content


def test_anonymous_user_is_sent_to_sign_in(client):
    response = client.get(reverse("deploy:app_list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


NEW_APP = {"app_name": "shop", "name": "web", "image": "nginx:1.27", "public_image": "on"}


def test_create_app_with_its_first_service_redirects_to_it_and_audits(alice_client, org):
    response = alice_client.post(reverse("deploy:app_create"), NEW_APP)
    app = App.objects.get(organization=org, name="shop")
    assert response.status_code == 302
    assert response["Location"] == reverse("deploy:app_detail", args=[app.pk])
    event = AuditEvent.objects.get(action="app.created")
    assert event.organization == org
    assert event.object_id == str(app.pk)
    service = Service.objects.get(app=app)
    assert (service.name, service.image, service.registry_secret) == ("web", "nginx:1.27", None)
    assert AuditEvent.objects.filter(action="service.created", object_id=str(service.pk)).exists()


def test_new_app_with_a_private_secret_in_one_post(alice_client, org, ghcr_secret):
    data = {**NEW_APP, "image": "ghcr.io/acme/web:1", "registry_secret": ghcr_secret.pk}
    del data["public_image"]
    assert alice_client.post(reverse("deploy:app_create"), data).status_code == 302
    assert Service.objects.get(app__name="shop").registry_secret == ghcr_secret


def test_new_app_reports_every_error_at_once_and_writes_nothing(alice_client, org, ghcr_secret):
    app_create(organization=org, name="shop")
    response = alice_client.post(
        reverse("deploy:app_create"),
        {
            "app_name": "shop",
            "name": "Bad!",
            "image": "docker.io/acme/web:1",
            "registry_secret": ghcr_secret.pk,
        },
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"app_name", "name", "registry_secret"}
    # The mismatch offers the way out: no secret serves docker.io here, so none is
    # offered; the message names the registries.
    assert "do not serve images on docker.io" in page_text(response)
    assert App.objects.filter(organization=org).count() == 1
    assert not Service.objects.exists()


def test_the_mismatch_error_offers_the_secrets_that_serve_the_image(
    alice_client, org, app, make_secret
):
    hub = make_secret(
        org, "hub", provider="docker_hub_registry", data={"username": "u", "password": "p"}
    )
    ghcr = make_secret(org, "ghcr-ok")
    response = alice_client.post(
        reverse("deploy:service_create", args=[app.pk]),
        {"name": "web", "image": "ghcr.io/acme/web:1", "registry_secret": hub.pk},
    )
    html = page_text(response)
    assert 'id="mismatch-matches"' in html
    assert f'name="use_secret" value="{ghcr.pk}"' in html
    # One click on it saves the service with that secret.
    response = alice_client.post(
        reverse("deploy:service_create", args=[app.pk]),
        {
            "name": "web",
            "image": "ghcr.io/acme/web:1",
            "registry_secret": hub.pk,
            "use_secret": ghcr.pk,
        },
    )
    assert response.status_code == 302
    assert Service.objects.get(app=app, name="web").registry_secret == ghcr


def test_create_app_form_page_renders(alice_client):
    assert alice_client.get(reverse("deploy:app_create")).status_code == 200


@pytest.mark.parametrize(
    ("name", "message"),
    [("Shop", "Start with a lowercase letter."), ("x", "at least 2"), ("shop-", "end with a dash")],
)
def test_create_app_with_bad_name_is_a_field_error(alice_client, name, message):
    response = alice_client.post(reverse("deploy:app_create"), {**NEW_APP, "app_name": name})
    assert response.status_code == 200
    assert message in page_text(response)
    assert not App.objects.exists()


def test_create_app_with_taken_name_is_a_field_error(alice_client, org, other_org):
    app_create(organization=org, name="shop")
    response = alice_client.post(reverse("deploy:app_create"), NEW_APP)
    assert response.status_code == 200
    assert "already exists" in page_text(response)
    # The same name in another organization is fine.
    app_create(organization=other_org, name="shop")


def test_app_detail_lists_services_and_the_pull_key(alice_client, app, service):
    response = alice_client.get(reverse("deploy:app_detail", args=[app.pk]))
    body = page_text(response)
    assert response.status_code == 200
    assert "web" in body
    assert "ghcr.io/acme/web:1.0" in body
    assert "ghcr-bot" in body


def test_other_organizations_app_is_404_everywhere(alice_client, other_org):
    foreign = app_create(organization=other_org, name="globex-app")
    for name in ("deploy:app_detail", "deploy:app_delete", "deploy:service_create"):
        assert alice_client.get(reverse(name, args=[foreign.pk])).status_code == 404
    assert (
        alice_client.post(
            reverse("deploy:app_delete", args=[foreign.pk]), {"confirm_name": "globex-app"}
        ).status_code
        == 404
    )
    assert App.objects.filter(pk=foreign.pk).exists()


def test_unknown_app_id_is_404(alice_client):
    assert alice_client.get("/apps/not-a-uuid/").status_code == 404
    assert alice_client.get("/apps/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_delete_app_needs_the_typed_name(alice_client, app):
    url = reverse("deploy:app_delete", args=[app.pk])
    assert alice_client.get(url).status_code == 200
    response = alice_client.post(url, {"confirm_name": "wrong"})
    assert response.status_code == 200
    assert "does not match" in page_text(response)
    assert App.objects.filter(pk=app.pk).exists()


def test_delete_app_deletes_its_services_and_audits_each(alice_client, app, service, ghcr_secret):
    response = alice_client.post(
        reverse("deploy:app_delete", args=[app.pk]), {"confirm_name": "shop"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("deploy:app_list")
    assert not App.objects.filter(pk=app.pk).exists()
    assert not Service.objects.exists()
    ghcr_secret.refresh_from_db()  # the secret is kept
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"app.deleted", "service.deleted"} <= actions


def test_members_cannot_delete_apps(client, make_user, make_org, alice):
    member = make_user("mallory")
    organization = make_org(alice, "initech", members={member: "member"})
    app = app_create(organization=organization, name="shop")
    client.force_login(member)
    session = client.session
    session["organization_id"] = organization.pk
    session.save()
    assert (
        client.post(
            reverse("deploy:app_delete", args=[app.pk]), {"confirm_name": "shop"}
        ).status_code
        == 403
    )
    assert App.objects.filter(pk=app.pk).exists()
    # ... but they can read and add services.
    assert client.get(reverse("deploy:app_detail", args=[app.pk])).status_code == 200


def _queries(client, url) -> int:
    client.get(url)  # warm up: session, organization chosen
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def test_app_list_query_count_does_not_grow_with_apps(alice_client, org, django_assert_num_queries):
    url = reverse("deploy:app_list")
    app_create(organization=org, name="app-0")
    small = _queries(alice_client, url)
    for i in range(1, 25):
        app = app_create(organization=org, name=f"app-{i}")
        service_create(app=app, name="web", image="nginx", registry_secret=None)
    with django_assert_num_queries(small):
        assert alice_client.get(url).status_code == 200


def test_app_detail_query_count_does_not_grow_with_services(
    alice_client, org, app, make_secret, django_assert_num_queries
):
    url = reverse("deploy:app_detail", args=[app.pk])
    secret = make_secret(org, "ghcr-bot")
    service_create(app=app, name="svc-0", image="ghcr.io/acme/a", registry_secret=secret)
    small = _queries(alice_client, url)
    for i in range(1, 25):
        other = make_secret(org, f"secret-{i}") if i % 3 == 0 else secret
        service_create(
            app=app,
            name=f"svc-{i}",
            image="ghcr.io/acme/a",
            registry_secret=other if i % 2 else None,
        )
    with django_assert_num_queries(small):
        assert alice_client.get(url).status_code == 200
