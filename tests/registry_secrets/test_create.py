"""Creating secrets: the picker, one form per provider, names, uploads, previews."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from regsecrets.audit.models import AuditEvent
from regsecrets.registries import PROVIDERS
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_config, secret_fields
from tests.conftest import CANARY, page_text
from tests.registry_secrets.samples import DOCKER_CONFIG, GCP_KEY, INVALID, VALID

SLUGS = [
    "docker-hub",
    "github",
    "gitlab",
    "digital-ocean",
    "azure",
    "gcp",
    "aws-ecr",
    "private",
    "docker-config",
]


def create_url(slug: str) -> str:
    return f"/secrets/new/{slug}/"


def test_samples_cover_every_provider():
    assert sorted(p.slug for p in PROVIDERS) == sorted(SLUGS) == sorted(VALID) == sorted(INVALID)


def test_picker_links_to_every_provider(alice_client):
    html = page_text(alice_client.get("/secrets/new/"))
    for slug in SLUGS:
        assert f'href="{create_url(slug)}"' in html
    for provider in PROVIDERS:
        assert provider.label in html
        assert f"/static/img/providers/{provider.icon}.svg" in html


def test_unknown_provider_is_a_404(alice_client):
    assert alice_client.get(create_url("quay")).status_code == 404
    assert alice_client.post(create_url("quay"), {"name": "x"}).status_code == 404


@pytest.mark.parametrize("slug", SLUGS)
def test_form_shows_the_provider_help_and_fields(alice_client, slug):
    from regsecrets.registries import provider_by_slug

    provider = provider_by_slug(slug)
    response = alice_client.get(create_url(slug))
    assert response.status_code == 200
    html = page_text(response)
    text = unescape(html)
    assert 'id="provider-help"' in html
    # The help's first words (links are turned into anchors, so compare a prefix).
    assert provider.help.split(" http")[0][:40] in text
    for spec in provider.fields:
        assert f'name="{spec.name}"' in html
        assert spec.help_text in text
    assert 'id="host-preview"' in html


@pytest.mark.parametrize("slug", SLUGS)
def test_create_valid_secret(alice_client, alice, org, slug):
    data, hosts, username = VALID[slug]
    response = alice_client.post(create_url(slug), {"name": "my-secret", **data})
    assert response.status_code == 302
    secret = Secret.objects.get(organization=org, name="my-secret")
    assert response["Location"] == f"/secrets/{secret.pk}/"
    assert secret.provider == next(p.key for p in PROVIDERS if p.slug == slug)
    assert secret.username == username
    assert secret.created_by == alice
    assert len(secret_config(secret)["auths"]) == len(hosts)
    assert AuditEvent.objects.filter(action="secret.created", object_id=str(secret.pk)).exists()
    detail = page_text(alice_client.get(response["Location"]))
    for host in hosts:
        assert host in detail
    assert CANARY not in detail
    assert CANARY not in json.dumps(list(AuditEvent.objects.values("details")))


@pytest.mark.parametrize("slug", SLUGS)
def test_create_invalid_secret_shows_field_error_and_keeps_inputs(alice_client, org, slug):
    data, field, kept = INVALID[slug]
    response = alice_client.post(create_url(slug), {"name": "my-secret", **data})
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors, form.errors
    html = page_text(response)
    assert f'id="id_{field}_error"' in html or f'id="error_1_id_{field}"' in html
    assert 'value="my-secret"' in html
    if kept is not None:
        assert f'value="{kept}"' in html
    assert CANARY not in html
    assert not Secret.objects.filter(organization=org).exists()


@pytest.mark.parametrize("slug", SLUGS)
def test_empty_submission_reports_required_fields(alice_client, org, slug):
    response = alice_client.post(create_url(slug), {})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "name" in errors
    assert len(errors) >= 2
    assert not Secret.objects.exists()


def test_view_takes_the_provider_from_the_url_not_the_post(alice_client, org):
    data, _, _ = VALID["github"]
    alice_client.post(
        create_url("github"), {"name": "gh", "provider": "docker_hub_registry", **data}
    )
    assert Secret.objects.get(name="gh").provider == "github_registry"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a", "at least 2"),
        ("x" * 65, "at most 64"),
        ("1abc", "Start with a lowercase letter"),
        ("Abc", "Start with a lowercase letter"),
        ("abc-", "end with a dash"),
        ("ab_c", "lowercase letters, digits and dashes"),
        ("aBc", "lowercase letters, digits and dashes"),
        ("", "required"),
    ],
)
def test_bad_names_are_refused_with_a_clear_message(alice_client, org, name, message):
    data, _, _ = VALID["private"]
    response = alice_client.post(create_url("private"), {"name": name, **data})
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get("name", []))
    assert message in errors
    assert not Secret.objects.exists()


def test_names_are_unique_within_the_organization(alice_client, org, other_org, make_secret):
    make_secret(org, "taken")
    make_secret(other_org, "free-here")
    data, _, _ = VALID["private"]
    response = alice_client.post(create_url("private"), {"name": "taken", **data})
    assert "already exists" in " ".join(response.context["form"].errors["name"])
    assert 'value="registry.example.com:5000"' in page_text(response)
    response = alice_client.post(create_url("private"), {"name": "free-here", **data})
    assert response.status_code == 302


def test_password_inputs_are_write_only_and_not_autofilled(alice_client):
    data, _, _ = INVALID["private"]
    html = page_text(alice_client.post(create_url("private"), {"name": "x-y", **data}))
    password = re.search(r"<input[^>]*name=\"password\"[^>]*>", html).group(0)
    assert 'type="password"' in password
    assert 'autocomplete="new-password"' in password
    assert "value=" not in password
    username = re.search(r"<input[^>]*name=\"username\"[^>]*>", html).group(0)
    assert 'autocomplete="off"' in username


def test_pasted_config_is_not_echoed_after_an_error(alice_client, org):
    response = alice_client.post(
        create_url("docker-config"), {"name": "BAD", "config": DOCKER_CONFIG}
    )
    assert "name" in response.context["form"].errors
    html = page_text(response)
    assert CANARY not in html
    assert "quayrobot" not in html


def test_create_views_hide_post_data_from_error_reports(alice_client, org):
    response = alice_client.post(create_url("private"), {"name": "x"})
    assert response.wsgi_request.sensitive_post_parameters == "__ALL__"


# --- Uploads --------------------------------------------------------------------------


def upload(content: bytes, name: str = "config.json") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/json")


def test_docker_config_upload_lists_its_registries(alice_client, org):
    response = alice_client.post(
        create_url("docker-config"),
        {"name": "from-file", "config": "", "config_file": upload(DOCKER_CONFIG.encode())},
    )
    assert response.status_code == 302
    secret = Secret.objects.get(name="from-file")
    assert secret.hosts == ["registry.example.com", "quay.io"]
    html = page_text(alice_client.get(response["Location"]))
    assert "Registries" in html
    assert '<li class="mono">registry.example.com</li>' in html
    assert '<li class="mono">quay.io</li>' in html
    assert CANARY not in html


def test_uploaded_file_wins_over_pasted_text(alice_client, org):
    other = json.dumps({"auths": {"other.example.com": {"username": "u", "password": "p"}}})
    alice_client.post(
        create_url("docker-config"),
        {"name": "both", "config": other, "config_file": upload(DOCKER_CONFIG.encode())},
    )
    assert Secret.objects.get(name="both").hosts == ["registry.example.com", "quay.io"]


def test_gcp_key_file_upload(alice_client, org):
    response = alice_client.post(
        create_url("gcp"),
        {
            "name": "gcp-key",
            "url": "gcr.io",
            "keyfile_content": "",
            "keyfile_content_file": upload(GCP_KEY.encode(), "key.json"),
        },
    )
    assert response.status_code == 302
    secret = Secret.objects.get(name="gcp-key")
    assert secret.hosts == ["gcr.io"]
    assert secret.username == "puller@demo-project.iam.gserviceaccount.com"  # its service account


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{" + b" " * (64 * 1024) + b"}", "larger than 64 KiB"),
        (b"{" + b" " * (300 * 1024) + b"}", "larger than 64 KiB"),  # dropped by the handler
        (b'{"auths": {"\xff\xfe\xfa": {}}}', "not UTF-8"),
        (b"this is not json", "not valid JSON"),
        (b"[1, 2]", ""),
        (b"", ""),
    ],
)
def test_bad_uploads_are_refused_on_the_file_field(alice_client, org, content, message):
    response = alice_client.post(
        create_url("docker-config"),
        {"name": "upload", "config": "", "config_file": upload(content)},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors, "the upload was accepted"
    messages = " ".join(errors.get("config_file", []) + errors.get("config", []))
    assert message in messages
    assert 'value="upload"' in page_text(response)
    assert not Secret.objects.exists()


def test_bad_gcp_key_file_upload_is_refused_on_the_file_field(alice_client, org):
    response = alice_client.post(
        create_url("gcp"),
        {
            "name": "gcp-key",
            "url": "gcr.io",
            "keyfile_content_file": upload(b'{"type": "authorized_user"}', "key.json"),
        },
    )
    assert "not a service-account key" in " ".join(
        response.context["form"].errors["keyfile_content_file"]
    )


@pytest.mark.parametrize(
    "data",
    [
        {"name": "a\x00b", "url": "r.example.com", "username": "u", "password": "p"},
        {"name": "ok-name", "url": "r.example.com\x00", "username": "u\x00", "password": "p\x00"},
        {"name": ["a", "b"], "url": ["x", "y"], "username": "u", "password": "p"},
        {"name": "ok-name", "url": "http://[::1", "username": "u", "password": "p"},
        {
            "name": "ok-name",
            "url": "r.example.com",
            "username": "u" * 10000,
            "password": "p" * 10000,
        },
        {"name": "ok-name", "url": "r.example.com", "username": "ü ñ", "password": "\u202e\ufeff"},
    ],
)
def test_odd_input_never_answers_500(alice_client, org, data):
    response = alice_client.post(create_url("private"), data)
    assert response.status_code in (200, 302)


def test_invalid_utf8_in_the_body_never_answers_500(alice_client, org):
    body = "name=raw-bytes&url=r.example.com&username=%FF%FE&password=%C3%28"
    response = alice_client.post(
        create_url("private"), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (200, 302)


def test_docker_config_with_control_characters_never_answers_500(alice_client, org):
    config = json.dumps({"auths": {"r.example.com": {"username": "a\u0000b", "password": "p"}}})
    response = alice_client.post(create_url("docker-config"), {"name": "ctl", "config": config})
    assert response.status_code in (200, 302)


# --- JavaScript helpers: the fields fragment and the host preview ----------------------


def test_fragment_is_just_the_provider_fields(alice_client):
    response = alice_client.get(create_url("azure"), {"fragment": "1"})
    html = page_text(response)
    assert html.lstrip().startswith('<div id="provider-fields"')
    assert "<html" not in html
    assert 'name="registry_name"' in html
    assert 'name="name"' not in html


@pytest.mark.parametrize(
    ("slug", "data", "host"),
    [
        ("azure", {"registry_name": "myreg01"}, "myreg01.azurecr.io"),
        ("azure", {"registry_name": "https://MyReg01.azurecr.io/"}, "myreg01.azurecr.io"),
        ("azure", {"registry_name": "x"}, None),
        ("docker-hub", {}, "docker.io"),
        ("gitlab", {"url": ""}, "registry.gitlab.com"),
        ("gitlab", {"url": "gitlab.example.com:5050"}, "gitlab.example.com:5050"),
        ("gcp", {"url": "europe-west1-docker.pkg.dev/proj/repo"}, "europe-west1-docker.pkg.dev"),
        ("private", {"url": "https://registry.example.com:5000"}, "registry.example.com:5000"),
        ("private", {"url": "::::"}, None),
        ("docker-config", {"config": DOCKER_CONFIG}, "registry.example.com"),
        ("docker-config", {"config": "{"}, None),
    ],
)
def test_host_preview_uses_the_provider_catalogue(alice_client, slug, data, host):
    response = alice_client.post(f"/secrets/preview-host/{slug}/", data)
    assert response.status_code == 200
    assert response.json() == {"host": host}


def test_host_preview_needs_post_and_a_known_provider(alice_client):
    assert alice_client.get("/secrets/preview-host/azure/").status_code == 405
    assert alice_client.post("/secrets/preview-host/nope/").status_code == 404


def test_host_preview_needs_csrf(alice, org, client):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(alice)
    response = csrf_client.post("/secrets/preview-host/azure/", {"registry_name": "myreg01"})
    assert response.status_code == 403


def test_create_form_without_javascript_needs_no_hidden_provider_field(alice_client):
    html = page_text(alice_client.get(create_url("gitlab")))
    assert 'action="/secrets/new/gitlab/"' in html
    assert 'name="provider"' not in html
    # The JavaScript switch starts hidden; the picker link is the no-JavaScript path.
    assert 'id="provider-switch-group" hidden' in html
    assert 'href="/secrets/new/"' in html


def test_secret_fields_store_the_typed_credential(alice_client, org):
    data, _, _ = VALID["private"]
    alice_client.post(create_url("private"), {"name": "stored", **data})
    assert secret_fields(Secret.objects.get(name="stored"))["password"] == CANARY


# --- Returning to the page that asked for a new secret (e.g. the service form) ---------


def test_next_travels_from_picker_to_form_and_back_with_the_secret(alice_client, org):
    back = "/apps/123/services/new/?name=web"
    html = page_text(alice_client.get("/secrets/new/", {"next": back}))
    assert 'href="/secrets/new/github/?next=%2Fapps%2F123%2Fservices%2Fnew%2F%3Fname%3Dweb"' in html
    form_url = "/secrets/new/github/?next=%2Fapps%2F123%2Fservices%2Fnew%2F%3Fname%3Dweb"
    html = page_text(alice_client.get(form_url))
    assert f'action="{form_url}"'.replace("&", "&amp;") in html
    data, _, _ = VALID["github"]
    response = alice_client.post(form_url, {"name": "gh", **data})
    secret = Secret.objects.get(name="gh")
    assert response.status_code == 302
    assert response["Location"] == f"/apps/123/services/new/?name=web&secret={secret.pk}"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"],
)
def test_unsafe_next_is_ignored(alice_client, org, next_url):
    data, _, _ = VALID["github"]
    response = alice_client.post(
        "/secrets/new/github/?" + __import__("urllib.parse").parse.urlencode({"next": next_url}),
        {"name": "gh", **data},
    )
    secret = Secret.objects.get(name="gh")
    assert response["Location"] == f"/secrets/{secret.pk}/"
