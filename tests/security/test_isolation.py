"""Another organization's objects are a 404 on every URL, never the object.

The walk is systematic: it iterates over the project's URL resolver, and every
route with an object parameter is requested with the other organization's ids,
with every method. A new route whose parameter the walk cannot fill fails the
test, so future URLs are covered as they are added. The admin is the operators'
cross-organization view by design: it is excluded from the walk, and a separate
test shows that non-staff users are sent to its login page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from regsecrets.accounts.models import ApiToken, Membership
from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.models import App, Service
from regsecrets.registry_secrets.models import Secret
from tests.api.conftest import Api
from tests.conftest import CANARY

pytestmark = pytest.mark.django_db


@pytest.fixture
def issue_token():
    from regsecrets.accounts.tokens import token_create

    return lambda user, organization: token_create(
        user=user, organization=organization, name="isolation"
    )[1]


WEB_METHODS = ("GET", "POST")
API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Route parameters that are not object ids: provider slugs of the catalogue.
CATALOGUE_PARAMETERS = {"slug"}


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    parameters: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("v1/")


def walk(
    resolver: URLResolver | None = None, namespace: str = "", prefix: str = ""
) -> Iterator[Route]:
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith("admin/"):
                continue
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry, ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield Route(
                f"{namespace}{entry.name}",
                prefix + str(entry.pattern),
                tuple(entry.pattern.converters),
            )


@dataclass
class Other:
    """globex's objects, with names that appear nowhere else."""

    secret: Secret
    app: App
    service: Service
    membership: Membership
    token: ApiToken

    def value(self, route: Route, parameter: str) -> Any:
        """The other organization's id for ``parameter`` of ``route``; fail if unknown."""
        if parameter in CATALOGUE_PARAMETERS:
            return "github"
        ids = {
            "secret_id": self.secret.pk,
            "app_id": self.app.pk,
            "service_id": self.service.pk,
            "deployment_id": self.service.latest_deployment_id,
            "membership_id": self.membership.pk,
            "token_id": self.token.pk,
        }
        if parameter == "pk" and route.name.startswith("registry_secrets:"):
            return self.secret.pk
        if parameter in ids:
            return ids[parameter]
        pytest.fail(
            f"{route.name} ({route.route}) has a parameter {parameter!r} that the isolation "
            "walk does not know how to fill: teach Other.value about it."
        )

    def secrets_in_body(self) -> list[str]:
        return [
            self.secret.name,
            str(self.secret.pk),
            self.secret.pk.hex,
            self.app.name,
            str(self.app.pk),
            self.app.pk.hex,
            self.service.name,
            str(self.service.pk),
            self.service.pk.hex,
            self.token.name,
            self.token.prefix,
            "globex",
            "Globex",
        ]


@pytest.fixture
def other(bob, other_org) -> Other:
    from regsecrets.accounts.tokens import token_create
    from regsecrets.deploy.services import app_create, service_create
    from regsecrets.registry_secrets.services import secret_create

    secret = secret_create(
        organization=other_org,
        name="zz-globex-secret",
        provider="github",
        data={"username": "globexbot", "password": f"ghp_{CANARY}"},
        actor=bob,
    )
    app = app_create(organization=other_org, name="zz-globex-app")
    service = service_create(
        app=app, name="zz-globex-svc", image="ghcr.io/globex/app:1", registry_secret=secret
    )
    token, _ = token_create(user=bob, organization=other_org, name="zz-globex-token")
    membership = Membership.objects.get(organization=other_org, user=bob)
    return Other(secret, app, service, membership, token)


def state(other: Other) -> dict[str, Any]:
    """Everything a successful cross-organization request could have changed."""
    org = other.secret.organization
    return {
        "secrets": list(Secret.objects.filter(organization=org).values_list("pk", "document")),
        "apps": list(App.objects.filter(organization=org).values_list("pk", "name")),
        "services": list(
            Service.objects.filter(organization=org).values_list(
                "pk", "name", "image", "registry_secret"
            )
        ),
        "memberships": list(Membership.objects.filter(organization=org).values_list("pk", "role")),
        "tokens": list(ApiToken.objects.filter(organization=org).values_list("pk", "revoked_at")),
        "events": AuditEvent.objects.filter(organization=org).count(),
    }


def assert_hidden(response: Any, other: Other, what: str, allowed: tuple[int, ...]) -> None:
    assert response.status_code in allowed, f"{what}: {response.status_code}"
    body = response.content.decode(errors="replace")
    for needle in other.secrets_in_body():
        assert needle not in body, f"{what} shows {needle!r}"
    assert CANARY not in body


def post_data(other: Other) -> dict[str, str]:
    """Input that would act, if the object were reachable: names that confirm deletes."""
    return {
        "confirm_name": other.secret.name,
        "role": "admin",
        "name": "renamed",
        "image": "ghcr.io/acme/app:2",
        "username": "x",
        "password": "x",
        "url": "x",
    }


def object_routes() -> list[Route]:
    return [r for r in walk() if r.parameters and set(r.parameters) - CATALOGUE_PARAMETERS]


def test_the_walk_finds_every_object_route():
    names = {r.name for r in object_routes()}
    # A floor, not the list: new routes are walked without being named here.
    assert {
        "registry_secrets:detail",
        "registry_secrets:edit",
        "registry_secrets:delete",
        "deploy:app_detail",
        "deploy:service_edit",
        "membership_role",
        "api_token_revoke",
        "api_secret",
        "api_secret_reveal",
        "api_app",
        "api_service",
    } <= names


@pytest.mark.parametrize("role", ["owner", "member"])
def test_every_web_route_with_an_id_is_404_for_another_organizations_objects(
    role, client, alice, org, other, make_user
):
    user = alice
    if role != "owner":
        user = make_user("mallory")
        Membership.objects.create(organization=org, user=user, role=role)
    client.force_login(user)
    before = state(other)
    walked = 0
    for route in object_routes():
        if route.is_api:
            continue
        url = reverse(route.name, kwargs={p: other.value(route, p) for p in route.parameters})
        for method in WEB_METHODS:
            response = client.get(url) if method == "GET" else client.post(url, post_data(other))
            assert_hidden(response, other, f"{method} {url} ({route.name})", (404, 405))
            walked += 1
    assert walked >= 24
    assert state(other) == before


def test_every_api_route_with_an_id_is_404_for_another_organizations_objects(
    client, alice, org, other, issue_token
):
    api = Api(client, issue_token(alice, org))
    before = state(other)
    walked = 0
    for route in object_routes():
        if not route.is_api:
            continue
        url = reverse(route.name, kwargs={p: other.value(route, p) for p in route.parameters})
        for method in API_METHODS:
            response = api.call(method, url, {"name": other.secret.name})
            assert_hidden(response, other, f"{method} {url} ({route.name})", (404, 405))
            walked += 1
    assert walked >= 20
    assert state(other) == before


def test_ids_in_query_strings_and_bodies_are_scoped_too(alice_client, org, other):
    """Ids that travel outside the route: filters, selects, prefills, verify."""
    from regsecrets.deploy.services import app_create

    app = app_create(organization=org, name="own-app")
    before = state(other)
    response = alice_client.post(
        reverse("deploy:service_create", args=[app.pk]),
        {"name": "web", "image": "ghcr.io/acme/app:1", "registry_secret": str(other.secret.pk)},
    )
    assert_hidden(response, other, "service form with another org's secret", (200,))
    assert "registry_secret" in response.context["form"].errors
    assert not Service.objects.filter(app=app).exists()

    prefill = reverse("deploy:service_create", args=[app.pk]) + f"?secret={other.secret.pk}"
    assert_hidden(alice_client.get(prefill), other, "service form prefill", (200,))

    response = alice_client.post(
        reverse("deploy:verify_image"),
        {"image": "ghcr.io/acme/app:1", "secret": str(other.secret.pk)},
    )
    assert_hidden(response, other, "verify image", (404,))

    suggestion = reverse("deploy:secret_suggestion") + "?image=ghcr.io/acme/app:1"
    assert_hidden(alice_client.get(suggestion), other, "secret suggestion", (200,))

    search = reverse("deploy:secret_search") + f"?q={other.secret.name}"
    assert_hidden(alice_client.get(search), other, "secret search", (200,))

    response = alice_client.post(reverse("organization_switch"), {"organization": "globex"})
    assert_hidden(response, other, "switch to another organization", (404,))

    for url in [
        reverse("registry_secrets:list") + "?q=zz",
        reverse("audit:activity"),
        reverse("deploy:app_list"),
        reverse("api_tokens"),
        reverse("organization_detail"),
    ]:
        assert_hidden(alice_client.get(url), other, url, (200,))
    assert state(other) == before


def test_a_session_pointing_at_another_organization_falls_back_to_ones_own(
    client, alice, org, other
):
    from regsecrets.accounts.context import SESSION_KEY

    client.force_login(alice)
    session = client.session
    session[SESSION_KEY] = other.secret.organization_id
    session.save()
    response = client.get(reverse("registry_secrets:list"))
    assert_hidden(response, other, "list with a tampered session", (200,))
    assert response.wsgi_request.organization == org


def test_api_filters_and_bodies_with_another_organizations_ids(
    client, alice, org, other, issue_token
):
    api = Api(client, issue_token(alice, org))
    before = state(other)
    for url in [
        f"/v1/secrets?ids={other.secret.pk}",
        f"/v1/apps?ids={other.app.pk}",
        f"/v1/services?ids={other.service.pk}",
        f"/v1/services?app_id={other.app.pk}",
        f"/v1/secrets?name={other.secret.name}",
    ]:
        response = api.get(url)
        assert_hidden(response, other, url, (200,))
        assert response.json()["count"] == 0
    response = api.get(
        "/v1/docker-helper/verify",
        {"image": "ghcr.io/acme/app:1", "secret_id": str(other.secret.pk)},
    )
    assert_hidden(response, other, "verify with another org's secret", (404,))
    body = {
        "app_id": str(other.app.pk),
        "definition": {"name": "x", "docker": {"image": "ghcr.io/acme/app:1"}},
    }
    assert_hidden(api.post("/v1/services", body), other, "service in another org's app", (400,))
    from regsecrets.deploy.services import app_create

    own = app_create(organization=org, name="own-app")
    body = {
        "app_id": str(own.pk),
        "definition": {
            "name": "x",
            "docker": {"image": "ghcr.io/acme/app:1", "image_registry_secret": other.secret.name},
        },
    }
    response = api.post("/v1/services", body)
    assert response.status_code == 400
    assert not Service.objects.filter(app=own).exists()
    assert state(other) == before


def test_a_token_of_one_organization_never_reaches_another(
    client, alice, org, other, make_org, issue_token
):
    """Alice is in both organizations; her acme token still sees acme only."""
    Membership.objects.create(organization=other.secret.organization, user=alice, role="owner")
    api = Api(client, issue_token(alice, org))
    response = api.get(f"/v1/secrets/{other.secret.pk}")
    assert_hidden(response, other, "acme token on a globex secret", (404,))
    assert api.get("/v1/secrets").json()["count"] == 0


# --- the admin: operators only --------------------------------------------------------


def test_non_staff_users_are_sent_to_the_admin_login(alice_client, other):
    urls = [
        reverse("admin:index"),
        reverse("admin:registry_secrets_secret_changelist"),
        reverse("admin:registry_secrets_secret_change", args=[other.secret.pk]),
        reverse("admin:registry_secrets_secret_add"),
        reverse("admin:deploy_service_change", args=[other.service.pk]),
        reverse("admin:audit_auditevent_changelist"),
    ]
    for url in urls:
        for response in (alice_client.get(url), alice_client.post(url, {})):
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("admin:login")), url
            assert_hidden(response, other, url, (302,))


def test_staff_without_permissions_see_nothing_of_the_secrets(client, make_user, other):
    staff = make_user("staffer", is_staff=True)
    client.force_login(staff)
    for url in [
        reverse("admin:registry_secrets_secret_changelist"),
        reverse("admin:registry_secrets_secret_change", args=[other.secret.pk]),
    ]:
        assert_hidden(client.get(url), other, url, (403,))


def test_json_404_bodies_name_nothing(client, alice, org, other, issue_token):
    api = Api(client, issue_token(alice, org))
    response = api.get(f"/v1/secrets/{other.secret.pk}")
    assert json.loads(response.content) == {
        "status": 404,
        "code": "not_found",
        "message": "No such object.",
        "fields": [],
    }
