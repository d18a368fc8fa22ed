"""The role matrix: what owners, admins and members may do, on the web and the API.

Rules (docs/security.md): everyone reads, creates and edits secrets, apps and
services and manages their own API tokens; owners and admins also reveal and
delete, and manage members; only owners grant or take away the owner role.
Nobody revokes another user's token from the site (operators can, in the admin).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from regsecrets.accounts.models import ApiToken, Membership
from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.models import App, Service
from regsecrets.registry_secrets.models import Secret
from tests.api.conftest import Api
from tests.conftest import CANARY

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "member"]
MANAGES = {"owner": True, "admin": True, "member": False}


@pytest.fixture
def users(alice, org, make_user) -> dict[str, Any]:
    """alice owns acme; adam is an admin and mallory a member; tess is a member too."""
    people = {"owner": alice}
    for role, name in (("admin", "adam"), ("member", "mallory")):
        people[role] = make_user(name)
        Membership.objects.create(organization=org, user=people[role], role=role)
    people["target"] = make_user("tess")
    Membership.objects.create(organization=org, user=people["target"], role="member")
    people["outsider"] = make_user("newbie")
    return people


def web(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user: Any, organization: Any) -> Api:
    from regsecrets.accounts.tokens import token_create

    return Api(Client(), token_create(user=user, organization=organization, name="roles")[1])


@pytest.fixture
def secret(org, alice):
    from regsecrets.registry_secrets.services import secret_create

    return secret_create(
        organization=org,
        name="ghcr",
        provider="github",
        actor=alice,
        data={"username": "octocat", "password": f"ghp_{CANARY}"},
    )


@pytest.fixture
def service(org, secret):
    from regsecrets.deploy.services import app_create, service_create

    app = app_create(organization=org, name="web")
    return service_create(app=app, name="api", image="nginx:1", registry_secret=None)


# --- reveal ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_reveal_is_for_owners_and_admins_and_audited(role, users, org, secret):
    response = api(users[role], org).post(f"/v1/secrets/{secret.pk}/reveal", {})
    revealed = AuditEvent.objects.filter(action="secret.revealed", actor=users[role])
    if MANAGES[role]:
        assert response.status_code == 200
        assert response.json()["value"]["password"] == f"ghp_{CANARY}"
        assert revealed.count() == 1
    else:
        assert response.status_code == 403
        assert CANARY not in response.content.decode()
        assert not revealed.exists()


# --- deleting -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_deleting_a_secret_on_the_web(role, users, secret):
    client = web(users[role])
    url = reverse("registry_secrets:delete", args=[secret.pk])
    assert client.get(url).status_code == (200 if MANAGES[role] else 403)
    response = client.post(url, {"confirm_name": secret.name})
    assert response.status_code == (302 if MANAGES[role] else 403)
    assert Secret.objects.filter(pk=secret.pk).exists() is not MANAGES[role]


@pytest.mark.parametrize("role", ROLES)
def test_deleting_a_secret_through_the_api(role, users, org, secret):
    response = api(users[role], org).delete(f"/v1/secrets/{secret.pk}")
    assert response.status_code == (200 if MANAGES[role] else 403)
    assert Secret.objects.filter(pk=secret.pk).exists() is not MANAGES[role]


@pytest.mark.parametrize("role", ROLES)
def test_deleting_services_and_apps_on_the_web(role, users, service):
    client = web(users[role])
    response = client.post(reverse("deploy:service_delete", args=[service.pk]))
    assert response.status_code == (302 if MANAGES[role] else 403)
    assert Service.objects.filter(pk=service.pk).exists() is not MANAGES[role]
    app = App.objects.get(pk=service.app_id)
    response = client.post(reverse("deploy:app_delete", args=[app.pk]), {"confirm_name": app.name})
    assert response.status_code == (302 if MANAGES[role] else 403)
    assert App.objects.filter(pk=app.pk).exists() is not MANAGES[role]


@pytest.mark.parametrize("role", ROLES)
def test_deleting_services_and_apps_through_the_api(role, users, org, service):
    client = api(users[role], org)
    response = client.delete(f"/v1/services/{service.pk}")
    assert response.status_code == (200 if MANAGES[role] else 403)
    assert Service.objects.filter(pk=service.pk).exists() is not MANAGES[role]
    response = client.delete(f"/v1/apps/{service.app_id}")
    assert response.status_code == (200 if MANAGES[role] else 403)
    assert App.objects.filter(pk=service.app_id).exists() is not MANAGES[role]


@pytest.mark.parametrize("role", ROLES)
def test_everyone_creates_and_edits_secrets(role, users, org, secret):
    client = web(users[role])
    response = client.post(
        reverse("registry_secrets:create", args=["docker-hub"]),
        {"name": f"hub-{role}", "username": "octocat", "password": CANARY},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("registry_secrets:edit", args=[secret.pk]), {"username": f"octo-{role}"}
    )
    assert response.status_code == 302
    assert Secret.objects.get(pk=secret.pk).username == f"octo-{role}"
    assert (
        api(users[role], org)
        .post(
            "/v1/secrets",
            {
                "name": f"api-{role}",
                "docker_hub_registry": {"username": "octocat", "password": CANARY},
            },
        )
        .status_code
        == 200
    )


# --- API tokens -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_everyone_issues_and_revokes_their_own_tokens(role, users, org):
    client = web(users[role])
    response = client.post(reverse("api_tokens"), {"name": "ci", "organization": org.pk})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=users[role], name="ci")
    assert token.prefix in response.content.decode()
    response = client.post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoked", actor=users[role]).count() == 1


@pytest.mark.parametrize("role", ROLES)
def test_nobody_revokes_another_users_token_on_the_site(role, users, org):
    """Not even an owner: a token is personal. Operators revoke others' in the admin."""
    from regsecrets.accounts.tokens import token_create

    other = users["target"] if role != "member" else users["owner"]
    token, _ = token_create(user=other, organization=org, name="theirs")
    client = web(users[role])
    response = client.post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert "theirs" not in client.get(reverse("api_tokens")).content.decode()


def test_a_token_acts_with_the_role_of_its_user_now(users, org, secret):
    """Demoting a user takes effect on their existing tokens at once."""
    client = api(users["admin"], org)
    assert client.post(f"/v1/secrets/{secret.pk}/reveal", {}).status_code == 200
    Membership.objects.filter(user=users["admin"], organization=org).update(role="member")
    assert client.post(f"/v1/secrets/{secret.pk}/reveal", {}).status_code == 403
    Membership.objects.filter(user=users["admin"], organization=org).delete()
    assert client.get("/v1/secrets").status_code == 401


# --- members ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_adding_a_member(role, users, org):
    client = web(users[role])
    response = client.post(reverse("organization_detail"), {"username": "newbie", "role": "member"})
    assert response.status_code == (302 if MANAGES[role] else 403)
    added = Membership.objects.filter(organization=org, user=users["outsider"])
    assert added.exists() is MANAGES[role]
    if MANAGES[role]:
        assert added.get().role == "member"
        assert AuditEvent.objects.filter(action="member.added", object_name="newbie").exists()


@pytest.mark.parametrize(("role", "allowed"), [("owner", True), ("admin", False)])
def test_only_owners_add_owners(role, allowed, users, org):
    response = web(users[role]).post(
        reverse("organization_detail"), {"username": "newbie", "role": "owner"}
    )
    added = Membership.objects.filter(organization=org, user=users["outsider"])
    if allowed:
        assert response.status_code == 302
        assert added.get().role == "owner"
    else:
        assert response.status_code == 200
        assert "role" in response.context["form"].errors
        assert not added.exists()


def _set_role(user: Any, membership: Membership, role: str) -> Any:
    return web(user).post(reverse("membership_role", args=[membership.pk]), {"role": role})


@pytest.mark.parametrize("role", ROLES)
def test_changing_a_members_role(role, users, org):
    target = Membership.objects.get(organization=org, user=users["target"])
    response = _set_role(users[role], target, "admin")
    target.refresh_from_db()
    if MANAGES[role]:
        assert response.status_code == 302
        assert target.role == "admin"
        assert AuditEvent.objects.filter(action="member.role_changed").count() == 1
    else:
        assert response.status_code == 403
        assert target.role == "member"


@pytest.mark.parametrize(("role", "allowed"), [("owner", True), ("admin", False)])
def test_only_owners_grant_the_owner_role(role, allowed, users, org):
    target = Membership.objects.get(organization=org, user=users["target"])
    response = _set_role(users[role], target, "owner")
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.role == ("owner" if allowed else "member")


def test_admins_cannot_demote_owners(users, org):
    owner = Membership.objects.get(organization=org, user=users["owner"])
    Membership.objects.create(organization=org, user=users["outsider"], role="owner")
    assert _set_role(users["admin"], owner, "member").status_code == 403
    owner.refresh_from_db()
    assert owner.role == "owner"


def test_owners_can_demote_another_owner_but_not_the_last(users, org):
    second = Membership.objects.create(organization=org, user=users["outsider"], role="owner")
    assert _set_role(users["owner"], second, "admin").status_code == 302
    second.refresh_from_db()
    assert second.role == "admin"
    last = Membership.objects.get(organization=org, user=users["owner"])
    _set_role(users["owner"], last, "member")
    last.refresh_from_db()
    assert last.role == "owner"
