"""The secret changelist: metadata columns, search, filters, constant queries, no ciphertext."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.admin.conftest import assert_no_secret
from tests.registry_secrets.samples import VALID

pytestmark = pytest.mark.django_db

URL = "admin:registry_secrets_secret_changelist"


def _names(response) -> set[str]:
    return {s.name for s in response.context["cl"].result_list}


def _queries(admin, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = admin.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def test_columns_show_metadata_and_the_services_count(admin, org, make_secret, make_service):
    secret = make_secret(org, "used")
    make_service(secret, name="api")
    make_service(secret, name="worker")
    response = admin.get(reverse(URL))
    page = response.content.decode()
    for text in ["used", "Acme", "Private registry", "registry.example.com", "deploy", "test-a"]:
        assert text in page
    row = response.context["cl"].result_list[0]
    assert row.services_count == 2
    assert f"?registry_secret={secret.pk}" in page
    assert_no_secret(page)


def test_the_services_count_links_to_the_services_of_that_secret(
    admin, org, make_secret, make_service
):
    used, other = make_secret(org, "used"), make_secret(org, "other")
    make_service(used, name="api")
    make_service(other, name="web")
    response = admin.get(reverse("admin:deploy_service_changelist") + f"?registry_secret={used.pk}")
    assert response.status_code == 200
    assert [s.name for s in response.context["cl"].result_list] == ["api"]


def test_query_count_does_not_grow_with_rows(admin, org, make_secret, make_service):
    first = make_secret(org, "s00")
    make_service(first)
    one = len(_queries(admin, reverse(URL)))
    for i in range(1, 30):
        secret = make_secret(org, f"s{i:02d}")
        if i % 3 == 0:
            make_service(secret, name=f"svc{i}")
    assert len(_queries(admin, reverse(URL))) == one


def test_the_changelist_never_selects_the_ciphertext(admin, org, make_secret):
    make_secret(org, "aa")
    table = '"registry_secrets_secret"."document"'
    for url in [
        reverse(URL),
        reverse(URL) + "?q=registry",
        reverse("admin:autocomplete")
        + "?app_label=deploy&model_name=service&field_name=registry_secret",
        reverse("admin:deploy_service_changelist"),
    ]:
        assert not [sql for sql in _queries(admin, url) if table in sql], url


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("ghcr", {"gh"}),  # a registry host, inside the JSON list
        ("AZURECR.IO", {"az"}),  # case-insensitive on both databases
        ("docker.io", {"hub"}),  # Docker Hub's stored key is https://index.docker.io/v1/
        ("octocat", {"gh", "hub"}),  # username
        ("globex", {"other"}),  # organization slug
        ("Globex", {"other"}),  # organization name
        ("az", {"az"}),  # name (and host)
        ("nothing-like-this", set()),
    ],
)
def test_search_by_name_organization_host_and_username(
    admin, org, other_org, make_secret, term, expected
):
    make_secret(org, "gh", "github_registry", VALID["github"][0])
    make_secret(org, "az", "azure_container_registry", VALID["azure"][0])
    make_secret(org, "hub", "docker_hub_registry", VALID["docker-hub"][0])
    make_secret(
        other_org,
        "other",
        "private_registry",
        {"url": "registry.example.com", "username": "x", "password": "y"},
    )
    assert _names(admin.get(reverse(URL), {"q": term})) == expected


def test_filters_by_provider_organization_and_key_id(admin, org, other_org, make_secret):
    make_secret(org, "gh", "github_registry", VALID["github"][0])
    make_secret(other_org, "other")
    assert _names(admin.get(reverse(URL), {"provider__exact": "github_registry"})) == {"gh"}
    assert _names(admin.get(reverse(URL), {"organization__id__exact": other_org.pk})) == {"other"}
    assert _names(admin.get(reverse(URL), {"key_id": "test-a"})) == {"gh", "other"}
    assert _names(admin.get(reverse(URL), {"key_id": "old"})) == set()


def test_sorting_by_the_services_count(admin, org, make_secret, make_service):
    make_secret(org, "unused")
    make_service(make_secret(org, "used"))
    response = admin.get(reverse(URL), {"o": "-6"})  # the sixth column: services
    assert [s.name for s in response.context["cl"].result_list] == ["used", "unused"]


def test_a_provider_dropped_from_the_catalogue_still_lists_and_views(admin, org, make_secret):
    from regsecrets.registry_secrets.models import Secret

    secret = make_secret(org, "legacy")
    Secret.objects.filter(pk=secret.pk).update(provider="quay_registry")
    assert "quay_registry" in admin.get(reverse(URL)).content.decode()
    page = admin.get(reverse("admin:registry_secrets_secret_change", args=[secret.pk]))
    assert page.status_code == 200
    assert 'name="password"' not in page.content.decode()
    assert_no_secret(page.content)
