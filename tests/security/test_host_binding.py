"""Stored credentials are only ever sent to the hosts they were stored for.

A member may edit a secret but not reveal it. If an edit could point the secret at
a host the member controls while keeping the stored password (empty keeps), "Test
credentials" would hand the password to that host. Here the "attacker" is a real
HTTP server on loopback that records every Authorization header; the operator
settings that would let the verification client reach it are on, so a failing rule
would show up as the canary in its records. Every face is driven: the site's edit
form and its "Test credentials", the admin change form, API PATCH and PUT, then the
API's verify with the secret and the detail page's "Test credentials".
"""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from regsecrets.accounts.models import Membership
from regsecrets.accounts.tokens import token_create
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_create, secret_fields, secret_update
from tests.conftest import CANARY
from tests.registry_secrets.samples import GCP_KEY
from tests.security.recording_registry import RecordingRegistry

pytestmark = pytest.mark.django_db

HOST_CHANGED = "The registry changed: enter the {} again"


@pytest.fixture(params=["basic", "bearer"])
def registries(request, settings):
    """(legitimate, attacker) registries, both reachable by the verification client."""
    legit, attacker = RecordingRegistry(request.param), RecordingRegistry(request.param)
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    settings.REGSECRETS_INSECURE_REGISTRIES = frozenset({legit.host, attacker.host})
    settings.REGSECRETS_VERIFY_TIMEOUT = 5.0
    yield legit, attacker
    legit.close()
    attacker.close()


@pytest.fixture
def mallory(make_user, org):
    user = make_user("mallory")
    Membership.objects.create(organization=org, user=user, role="member")
    return user


@pytest.fixture
def member_client(mallory, org):
    client = Client()
    client.force_login(mallory)
    session = client.session
    session["organization_id"] = org.pk
    session.save()
    return client


@pytest.fixture
def admin_client_(django_user_model):
    root = django_user_model.objects.create_superuser(
        username="root", email="root@example.com", password="unused-in-tests"
    )
    client = Client()
    client.force_login(root)
    return client


def _api(client: Client, raw: str, method: str, path: str, body=None, **params):
    if params:
        path += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return client.generic(
        method,
        path,
        json.dumps(body) if body is not None else "",
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )


PROVIDERS = {
    # provider key -> (stored input for host H, form input moving it to host A)
    "private_registry": (
        lambda h: {"url": h, "username": "deploy", "password": CANARY},
        lambda a: {"url": a, "username": "deploy", "password": ""},
    ),
    "gitlab_registry": (
        lambda h: {"url": h, "username": "gitlab+deploy-token-1", "password": CANARY},
        lambda a: {"url": a, "username": "gitlab+deploy-token-1", "password": ""},
    ),
}
CREDENTIAL_LABEL = {"private_registry": "password", "gitlab_registry": "token"}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_stored_credentials_never_reach_a_host_an_edit_points_the_secret_at(
    registries, org, alice, mallory, member_client, admin_client_, provider
):
    legit, attacker = registries
    stored_input, moved_input = PROVIDERS[provider]
    secret = secret_create(
        organization=org, name="prod", provider=provider, data=stored_input(legit.host), actor=alice
    )
    move = moved_input(attacker.host)
    message = HOST_CHANGED.format(CREDENTIAL_LABEL[provider])
    _, raw = token_create(user=mallory, organization=org, name="mallory")
    api = Client()

    # Every path first, judged after: so that a failing rule shows as the canary
    # in the attacker's records, not merely as an unexpected status.
    edit = member_client.post(f"/secrets/{secret.pk}/edit/", move)
    edit_test = member_client.post(f"/secrets/{secret.pk}/edit/test/", move)
    admin_change = admin_client_.post(f"/admin/registry_secrets/secret/{secret.pk}/change/", move)
    patch = _api(api, raw, "PATCH", f"/v1/secrets/{secret.pk}", {provider: {"url": attacker.host}})
    put = _api(
        api,
        raw,
        "PUT",
        f"/v1/secrets/{secret.pk}",
        {provider: {k: v for k, v in move.items() if v}},
    )
    # After the attempts, the API's verify with the secret for an image on the
    # attacker's host, and the detail page's "Test credentials".
    verify = _api(
        api, raw, "GET", "/v1/docker-helper/verify",
        image=f"{attacker.host}/team/app:1", secret_id=str(secret.pk),
    )  # fmt: skip
    detail_test = member_client.post(f"/secrets/{secret.pk}/test/")

    assert not attacker.received(CANARY), "the attacker's registry received the stored credential"
    assert attacker.requests, "the attacker's registry was reachable: the test can fail"
    # Control: the detail page's check did send the stored credential, where it belongs.
    assert legit.received(CANARY)

    # The site's edit form: refused on the credential field, other inputs kept.
    assert edit.status_code == 200
    assert message in edit.content.decode()
    assert edit.context["form"].errors["password"][0].startswith(message)
    assert attacker.host in edit.content.decode()
    # The edit form's "Test credentials": the same field error (nothing was sent).
    assert edit_test.status_code == 400
    assert edit_test.json()["errors"]["password"][0].startswith(message)
    # The admin's change form.
    assert admin_change.status_code == 200
    assert admin_change.context["adminform"].form.errors["password"][0].startswith(message)
    # API PATCH (only the url) and PUT (the whole object without the password).
    for response in (patch, put):
        assert response.status_code == 400, response.json()
        fields = response.json()["fields"]
        assert [f["field"] for f in fields] == [f"{provider}.password"]
        assert fields[0]["description"].startswith(message)
    # The verify went to the attacker's host anonymously; the detail test ran.
    assert verify.status_code == 200
    assert verify.json()["success"] is False
    assert detail_test.status_code == 302

    secret.refresh_from_db()
    assert secret.hosts == [legit.host]
    assert secret_fields(secret)["url"] == legit.host


def test_test_credentials_with_the_credential_typed_again_reaches_the_new_host(
    registries, org, alice, member_client
):
    """Control: the attacker registry records what it is sent, so the test above can fail."""
    legit, attacker = registries
    secret = secret_create(
        organization=org,
        name="prod",
        provider="private_registry",
        data={"url": legit.host, "username": "deploy", "password": CANARY},
        actor=alice,
    )
    typed = {"url": attacker.host, "username": "deploy", "password": "typed-again-pw"}
    response = member_client.post(f"/secrets/{secret.pk}/edit/test/", typed)
    assert response.status_code == 200
    assert response.json()["results"][0]["host"] == attacker.host
    assert attacker.received("deploy:typed-again-pw")
    assert not attacker.received(CANARY)

    # Saving with the credential typed again moves the secret.
    response = member_client.post(f"/secrets/{secret.pk}/edit/", typed)
    assert response.status_code == 302
    secret.refresh_from_db()
    assert secret.hosts == [attacker.host]
    assert secret_fields(secret)["password"] == "typed-again-pw"


# Every provider whose registry an edit can change, at the service (the one place
# the rule lives): (provider, stored input, change of registry, credential fields).
MOVES = [
    (
        "private_registry",
        {"url": "registry.example.com", "username": "deploy", "password": CANARY},
        {"url": "evil.example.net"},
        ["password"],
    ),
    (
        "private_registry",
        {"url": "registry.example.com", "username": "deploy", "password": CANARY},
        {"url": "registry.example.com:8443"},
        ["password"],
    ),
    (
        "gitlab_registry",
        {"url": "gitlab.example.com:5050", "username": "deployer", "password": CANARY},
        {"url": ""},  # cleared: back to registry.gitlab.com
        ["password"],
    ),
    (
        "azure_container_registry",
        {"registry_name": "acmeregistry", "username": "acme", "password": CANARY},
        {"registry_name": "evilregistry"},
        ["password"],
    ),
    (
        "gcp_container_registry",
        {"url": "europe-west1-docker.pkg.dev", "keyfile_content": GCP_KEY},
        {"url": "gcr.io"},
        ["keyfile_content"],
    ),
]


@pytest.mark.parametrize(("provider", "stored", "change", "credentials"), MOVES)
def test_edit_that_changes_host_needs_the_credentials_again(
    org, alice, provider, stored, change, credentials
):
    secret = secret_create(
        organization=org, name="prod", provider=provider, data=stored, actor=alice
    )
    hosts = list(secret.hosts)
    with pytest.raises(ValidationError) as caught:
        secret_update(secret=secret, data=change, actor=alice)
    assert sorted(caught.value.message_dict) == credentials
    assert all(
        m.startswith("The registry changed: enter the ")
        for field in credentials
        for m in caught.value.message_dict[field]
    )
    secret.refresh_from_db()
    assert secret.hosts == hosts
    # With every credential given again, the same change is accepted.
    again = {**change, **{name: stored[name] for name in credentials}}
    updated = secret_update(secret=secret, data=again, actor=alice)
    assert updated.hosts != hosts


def test_edit_that_keeps_the_host_still_keeps_an_empty_credential(org, alice):
    secret = secret_create(
        organization=org,
        name="prod",
        provider="private_registry",
        data={"url": "registry.example.com", "username": "deploy", "password": CANARY},
        actor=alice,
    )
    # Another spelling of the same registry is not a change of host.
    secret_update(
        secret=secret,
        data={"url": "https://REGISTRY.example.com/", "username": "robot", "password": ""},
        actor=alice,
    )
    secret = Secret.objects.get(pk=secret.pk)
    assert secret.hosts == ["registry.example.com"]
    assert secret.username == "robot"
    assert secret_fields(secret)["password"] == CANARY
