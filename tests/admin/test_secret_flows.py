"""Adding, changing and deleting secrets through the admin, for several providers."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, DELETION, LogEntry
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from regsecrets.registries import display_host, get_provider
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_fields
from tests.admin.conftest import assert_no_secret
from tests.conftest import CANARY
from tests.registry_secrets.samples import INVALID, VALID

pytestmark = pytest.mark.django_db

ADD_URL = "admin:registry_secrets_secret_add"


def _add_url(org, slug: str) -> str:
    return reverse(ADD_URL) + f"?organization={org.pk}&provider={slug}"


def test_add_starts_by_choosing_organization_and_provider(admin, org):
    response = admin.get(reverse(ADD_URL))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="organization"' in page
    assert 'name="provider"' in page
    assert 'name="password"' not in page


def test_an_unknown_provider_goes_back_to_the_choice(admin, org):
    response = admin.get(reverse(ADD_URL) + f"?organization={org.pk}&provider=nope")
    assert response.status_code == 200
    assert "provider" in response.context["form"].errors


@pytest.mark.parametrize(
    "slug", ["github", "azure", "gcp", "aws-ecr", "docker-config", "docker-hub", "private"]
)
def test_add_creates_the_secret_through_the_service(admin, superuser, org, slug):
    data, hosts, username = VALID[slug]
    step2 = admin.get(_add_url(org, slug))
    assert step2.status_code == 200
    for spec in get_provider(slug).fields:
        assert f'name="{spec.name}"' in step2.content.decode()

    response = admin.post(_add_url(org, slug), {"organization": org.pk, "name": "reg", **data})

    assert response.status_code == 302, response.context["errors"] if response.context else ""
    secret = Secret.objects.get(organization=org, name="reg")
    assert secret.provider == get_provider(slug).key
    assert [display_host(h) for h in secret.hosts] == hosts
    assert secret.username == username
    assert secret.created_by == superuser
    assert AuditEvent.objects.filter(
        action="secret.created", object_id=str(secret.pk), actor=superuser
    ).exists()
    assert LogEntry.objects.get(object_id=str(secret.pk)).action_flag == ADDITION
    assert_no_secret(admin.get(response.url).content)


def test_add_with_an_uploaded_key_file(admin, org):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.registry_secrets.samples import GCP_KEY

    upload = SimpleUploadedFile("key.json", GCP_KEY.encode(), content_type="application/json")
    response = admin.post(
        _add_url(org, "gcp"),
        {"organization": org.pk, "name": "gcp", "url": "gcr.io", "keyfile_content_file": upload},
    )
    assert response.status_code == 302
    assert Secret.objects.get(name="gcp").username == "puller@demo-project.iam.gserviceaccount.com"


@pytest.mark.parametrize("slug", ["github", "azure", "gcp", "aws-ecr", "docker-config"])
def test_invalid_input_gets_field_errors_and_saves_nothing(admin, org, slug):
    data, field, kept = INVALID[slug]
    response = admin.post(_add_url(org, slug), {"organization": org.pk, "name": "reg", **data})
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert field in form.errors or f"{field}_file" in form.errors
    if kept:
        assert kept in response.content.decode()
    assert_no_secret(response.content)
    assert not Secret.objects.exists()


def test_a_taken_name_is_a_field_error(admin, org, secret):
    data, _, _ = VALID["github"]
    response = admin.post(
        _add_url(org, "github"), {"organization": org.pk, "name": secret.name, **data}
    )
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors


def test_the_add_form_keeps_the_chosen_organization(admin, org, other_org):
    response = admin.get(_add_url(other_org, "github"))
    assert response.context["adminform"].form.initial["organization"] == other_org
    data, _, _ = VALID["github"]
    admin.post(_add_url(org, "github"), {"organization": other_org.pk, "name": "x1", **data})
    assert Secret.objects.get(name="x1").organization == other_org


# --- change ---------------------------------------------------------------------------


def _change_url(secret) -> str:
    return reverse("admin:registry_secrets_secret_change", args=[secret.pk])


def test_change_page_prefills_non_secret_inputs_and_leaves_credentials_empty(admin, secret):
    page = admin.get(_change_url(secret)).content.decode()
    assert 'name="url" value="registry.example.com"' in page
    assert 'name="username" value="deploy"' in page
    assert 'name="password" ' in page
    assert 'name="password" value' not in page
    assert 'name="name"' not in page  # name and provider are read-only


def test_empty_password_keeps_the_stored_value(admin, superuser, secret):
    response = admin.post(
        _change_url(secret), {"url": "registry.example.com", "username": "robot", "password": ""}
    )
    assert response.status_code == 302
    secret.refresh_from_db()
    assert secret.username == "robot"
    assert secret_fields(secret)["password"] == CANARY
    assert secret.updated_by == superuser
    event = AuditEvent.objects.get(action="secret.updated")
    assert event.details["changed_fields"] == ["username"]


def test_new_password_replaces_the_stored_one(admin, secret):
    admin.post(
        _change_url(secret),
        {"url": "registry.example.com", "username": "deploy", "password": "n3w-pass"},
    )
    secret.refresh_from_db()
    assert secret_fields(secret)["password"] == "n3w-pass"


@pytest.mark.parametrize(
    ("slug", "change", "check"),
    [
        # Same registry, other inputs: a registry change needs the credentials again
        # (tests/security/test_host_binding.py).
        (
            "azure",
            {"registry_name": "myregistry", "username": "otheruser", "password": ""},
            "myregistry.azurecr.io",
        ),
        (
            "gcp",
            {"url": "https://europe-west1-docker.pkg.dev/", "keyfile_content": ""},
            "europe-west1-docker.pkg.dev",
        ),
        ("github", {"username": "hubot", "password": ""}, "ghcr.io"),
    ],
)
def test_change_keeps_credentials_across_providers(admin, org, make_secret, slug, change, check):
    data, _, _ = VALID[slug]
    secret = make_secret(org, "sec", get_provider(slug).key, data)
    before = secret_fields(secret)
    response = admin.post(_change_url(secret), change)
    assert response.status_code == 302
    secret.refresh_from_db()
    after = secret_fields(secret)
    for spec in get_provider(slug).fields:
        if spec.secret:
            assert after[spec.name] == before[spec.name]
    assert check in secret.hosts


def test_docker_config_change_with_empty_document_keeps_it(admin, org, make_secret):
    data, _, _ = VALID["docker-config"]
    secret = make_secret(org, "cfg", "docker_config", data)
    before = secret_fields(secret)["config"]
    response = admin.post(_change_url(secret), {"config": ""})
    assert response.status_code == 302
    secret.refresh_from_db()
    assert secret_fields(secret)["config"] == before
    assert set(secret.hosts) == {"registry.example.com", "quay.io"}


def test_name_and_provider_cannot_be_changed(admin, secret):
    admin.post(
        _change_url(secret),
        {
            "url": "registry.example.com",
            "username": "deploy",
            "name": "renamed",
            "provider": "github_registry",
        },
    )
    secret.refresh_from_db()
    assert (secret.name, secret.provider) == ("registry", "private_registry")


def test_undecryptable_secret_shows_its_metadata_and_an_error(admin, secret):
    from tests.registry_secrets.conftest import corrupt_ciphertext

    corrupt_ciphertext(secret)
    response = admin.get(_change_url(secret), follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "cannot be decrypted" in page
    assert 'name="password"' not in page
    response = admin.post(
        _change_url(secret), {"url": "x.example.com", "username": "u", "password": "p"}
    )
    assert response.status_code == 200
    secret.refresh_from_db()
    assert secret.hosts == ["registry.example.com"]


def test_view_only_staff_sees_metadata_without_inputs(client, django_user_model, secret):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_secret"))
    client.force_login(viewer)
    response = client.get(_change_url(secret))
    assert response.status_code == 200
    assert 'name="password"' not in response.content.decode()
    assert client.post(_change_url(secret), {"password": "x"}).status_code == 403
    assert client.get(reverse(ADD_URL)).status_code == 403


# --- delete ---------------------------------------------------------------------------


def _delete_url(secret) -> str:
    return reverse("admin:registry_secrets_secret_delete", args=[secret.pk])


def test_delete_an_unused_secret(admin, superuser, secret):
    page = admin.get(_delete_url(secret))
    assert_no_secret(page.content)
    response = admin.post(_delete_url(secret), {"post": "yes"})
    assert response.status_code == 302
    assert not Secret.objects.exists()
    assert AuditEvent.objects.filter(action="secret.deleted", actor=superuser).exists()
    assert LogEntry.objects.get(action_flag=DELETION).object_repr == "registry"


def test_delete_is_refused_while_services_use_the_secret(admin, secret, make_service):
    make_service(secret, name="api")
    make_service(secret, name="worker")
    page = admin.get(_delete_url(secret)).content.decode()
    assert "cannot be deleted while services use it" in page
    assert "web/api" in page
    assert "web/worker" in page
    assert 'name="post"' not in page  # no confirmation form
    admin.post(_delete_url(secret), {"post": "yes"})
    assert Secret.objects.filter(pk=secret.pk).exists()
    assert not AuditEvent.objects.filter(action="secret.deleted").exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_bulk_delete_refuses_when_any_selected_secret_is_used(
    admin, org, make_secret, make_service
):
    used, unused = make_secret(org, "used"), make_secret(org, "unused")
    make_service(used)
    url = reverse("admin:registry_secrets_secret_changelist")
    data = {"action": "delete_selected", "_selected_action": [used.pk, unused.pk]}
    page = admin.post(url, data).content.decode()
    assert "cannot be deleted while services use them" in page
    assert "web/api" in page
    admin.post(url, {**data, "post": "yes"})
    assert Secret.objects.count() == 2


def test_bulk_delete_of_unused_secrets(admin, org, make_secret):
    a, b = make_secret(org, "aa"), make_secret(org, "bb")
    url = reverse("admin:registry_secrets_secret_changelist")
    data = {"action": "delete_selected", "_selected_action": [a.pk, b.pk]}
    assert_no_secret(admin.post(url, data).content)
    response = admin.post(url, {**data, "post": "yes"})
    assert response.status_code == 302
    assert not Secret.objects.exists()
    assert AuditEvent.objects.filter(action="secret.deleted").count() == 2


def test_a_race_between_confirmation_and_delete_is_refused(
    admin, secret, make_service, monkeypatch
):
    """A service created after the confirmation page: secret_delete refuses, no 500."""
    from regsecrets.registry_secrets.admin import SecretAdmin

    monkeypatch.setattr(
        SecretAdmin, "get_deleted_objects", lambda self, objs, request: ([], {}, set(), [])
    )
    make_service(secret)
    response = admin.post(_delete_url(secret), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "is used by web/api; nothing was deleted" in response.content.decode()
    assert Secret.objects.filter(pk=secret.pk).exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()
