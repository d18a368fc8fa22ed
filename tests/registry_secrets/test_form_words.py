"""The secret forms read plainly: examples, required markers, stored values, console links."""

from __future__ import annotations

import re

import pytest

from regsecrets.registries import PROVIDERS
from regsecrets.registry_secrets.services import secret_create
from tests.conftest import CANARY, page_text
from tests.registry_secrets.samples import GCP_KEY

pytestmark = pytest.mark.django_db


def label_of(html: str, input_id: str) -> str:
    match = re.search(rf'<label[^>]*for="{input_id}"[^>]*>(.*?)</label>', html, re.S)
    assert match, input_id
    return match.group(1)


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.slug)
def test_every_required_input_is_marked_and_placeholders_are_examples(alice_client, provider):
    html = page_text(alice_client.get(f"/secrets/new/{provider.slug}/"))
    assert "asteriskField" in label_of(html, "id_name")
    for spec in provider.fields:
        marked = "asteriskField" in label_of(html, f"id_{spec.name}")
        assert marked == spec.required, spec.name
        if spec.kind == "json":  # the upload is the other half of the same input
            assert "asteriskField" in label_of(html, f"id_{spec.name}_file")
    for placeholder in re.findall(r'placeholder="([^"]*)"', html):
        if placeholder != "Search by name":
            assert placeholder.startswith("e.g. "), placeholder


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.slug)
def test_help_links_to_the_providers_console(alice_client, provider):
    html = page_text(alice_client.get(f"/secrets/new/{provider.slug}/"))
    if provider.slug == "private":
        assert "provider-console-link" not in html  # the user's own registry has no console
        return
    assert provider.console_url.startswith("https://")
    assert f'href="{provider.console_url.replace("&", "&amp;")}"' in html
    assert 'rel="noopener noreferrer"' in html


def test_gcp_help_explains_the_json_key_username(alice_client):
    html = page_text(alice_client.get("/secrets/new/gcp/"))
    assert "_json_key" in html
    assert "service account" in html


def test_edit_form_says_a_credential_is_stored_without_showing_it(alice_client, org, alice):
    secret = secret_create(
        organization=org,
        name="gh",
        provider="github_registry",
        data={"username": "octocat", "password": f"ghp_{CANARY}"},
        actor=alice,
    )
    html = page_text(alice_client.get(f"/secrets/{secret.pk}/edit/"))
    password = re.search(r'<input[^>]*name="password"[^>]*>', html).group(0)
    assert 'placeholder="stored — leave empty to keep"' in password
    assert "value=" not in password
    assert "asteriskField" not in label_of(html, "id_password")
    assert CANARY not in html


def test_paste_or_upload_needs_one_of_the_two(alice_client):
    response = alice_client.post("/secrets/new/docker-config/", {"name": "cfg"})
    assert response.status_code == 200
    assert "Paste the file or choose it below." in page_text(response)


def test_secrets_are_recognised_by_who_signs_in(alice_client, org, alice):
    secret_create(
        organization=org,
        name="gcp",
        provider="gcp_container_registry",
        data={"url": "gcr.io", "keyfile_content": GCP_KEY},
        actor=alice,
    )
    do = secret_create(
        organization=org,
        name="do",
        provider="digital_ocean_registry",
        data={"password": f"dop_v1_{CANARY}"},
        actor=alice,
    )
    html = page_text(alice_client.get("/secrets/"))
    assert "puller@demo-project.iam.gserviceaccount.com" in html
    assert "API token (no username)" in html
    assert "_json_key" not in html
    detail = page_text(alice_client.get(f"/secrets/{do.pk}/"))
    assert re.search(r'id="secret-identity">API token \(no username\)<', detail)
    assert CANARY not in html + detail


def error_fields(response) -> set[str]:
    return {name for name, errors in response.context["form"].errors.items() if errors}


def test_one_submission_reports_every_field_at_once(alice_client, org, alice):
    secret_create(
        organization=org,
        name="taken",
        provider="github_registry",
        data={"username": "octocat", "password": "ghp_x"},
        actor=alice,
    )
    # An invalid name used to hide the provider's verdict on the rest.
    response = alice_client.post(
        "/secrets/new/github/",
        {"name": "Bad Name!", "username": "me@example.com", "password": f"github_pat_{CANARY}"},
    )
    assert error_fields(response) == {"name", "username", "password"}
    # A name taken, and a required input missing: both, in the same round.
    response = alice_client.post(
        "/secrets/new/private/",
        {"name": "taken", "url": "", "username": "deploy", "password": CANARY},
    )
    assert error_fields(response) == {"name", "url"}
    assert "already exists" in " ".join(response.context["form"].errors["name"])


def test_a_failed_submission_keeps_every_value_but_the_credentials_and_says_so(alice_client):
    response = alice_client.post(
        "/secrets/new/private/",
        {
            "name": "Bad Name!",
            "url": "registry.example.com",
            "username": "deploy",
            "password": CANARY,
        },
    )
    html = page_text(response)
    assert 'value="registry.example.com"' in html
    assert 'value="deploy"' in html
    assert 'value="Bad Name!"' in html
    assert CANARY not in html
    password = re.search(r'<input[^>]*name="password"[^>]*>', html).group(0)
    assert "value=" not in password
    assert "Type this again" in html  # next to the field, in its help
    # Nothing typed into a credential: nothing to ask for.
    response = alice_client.post("/secrets/new/private/", {"name": "Bad Name!"})
    assert "Type this again" not in page_text(response)
