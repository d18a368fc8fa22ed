"""The list at /secrets/: metadata only, constant queries, never decrypts."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import CANARY, page_text
from tests.registry_secrets.conftest import corrupt_ciphertext

LIST_URL = "/secrets/"


def test_list_url_is_named_and_in_the_navigation(alice_client):
    assert reverse("registry_secrets:list") == LIST_URL
    html = page_text(alice_client.get(LIST_URL))
    assert re.search(
        rf'href="{LIST_URL}">(<svg[^>]*>.*?</svg>)?\s*Registry secrets</a>', html, re.S
    )


def test_list_requires_sign_in(client, db):
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_empty_list_leads_to_creation(alice_client):
    response = alice_client.get(LIST_URL)
    html = page_text(response)
    assert 'id="empty-state"' in html
    assert 'href="/secrets/new/"' in html


def test_list_shows_name_provider_hosts_username_services_and_update(
    alice_client, org, make_secret, make_service
):
    secret = make_secret(
        org,
        "acr-prod",
        "azure",
        {"registry_name": "myregistry", "username": "puller", "password": CANARY},
    )
    make_service(secret, "web", "api")
    make_service(secret, "web", "worker")
    html = page_text(alice_client.get(LIST_URL))
    assert "acr-prod" in html
    assert "Azure Container Registry" in html
    assert "/static/img/providers/azure.svg" in html
    assert "myregistry.azurecr.io" in html
    assert "puller" in html
    assert '<td class="text-end" data-label="Services">2</td>' in html
    assert f'datetime="{secret.updated_at.isoformat()}"' in html
    assert "by alice" in html
    assert CANARY not in html


def test_docker_hub_is_shown_as_docker_io(alice_client, org, make_secret):
    make_secret(org, "hub", "docker-hub", {"username": "octocat", "password": CANARY})
    html = page_text(alice_client.get(LIST_URL))
    assert "docker.io" in html
    assert "index.docker.io/v1" not in html


def test_search_by_name(alice_client, org, make_secret):
    make_secret(org, "alpha-one")
    make_secret(org, "beta-two")
    html = page_text(alice_client.get(LIST_URL, {"q": "ALPHA"}))
    assert "alpha-one" in html
    assert "beta-two" not in html


def test_filter_by_provider(alice_client, org, make_secret):
    make_secret(org, "private-one")
    make_secret(org, "hub-one", "docker-hub", {"username": "octocat", "password": CANARY})
    html = page_text(alice_client.get(LIST_URL, {"provider": "docker-hub"}))
    assert "hub-one" in html
    assert "private-one" not in html


def test_unknown_provider_filter_is_ignored(alice_client, org, make_secret):
    make_secret(org, "private-one")
    response = alice_client.get(LIST_URL, {"provider": "nope"})
    assert response.status_code == 200
    assert "private-one" in page_text(response)


def test_no_match_is_not_the_empty_state(alice_client, org, make_secret):
    make_secret(org, "private-one")
    html = page_text(alice_client.get(LIST_URL, {"q": "zzz"}))
    assert 'id="no-match"' in html
    assert 'id="empty-state"' not in html


def test_fifty_per_page(alice_client, org, make_secret):
    for i in range(51):
        make_secret(org, f"secret-{i:02d}")
    first = alice_client.get(LIST_URL)
    assert len(first.context["rows"]) == 50
    second = alice_client.get(LIST_URL, {"page": 2})
    assert [row["secret"].name for row in second.context["rows"]] == ["secret-50"]
    # A page number out of range or not a number still answers.
    assert alice_client.get(LIST_URL, {"page": "999"}).status_code == 200
    assert alice_client.get(LIST_URL, {"page": "x"}).status_code == 200


def test_list_shows_only_the_current_organization(alice_client, other_org, make_secret):
    make_secret(other_org, "not-yours")
    assert "not-yours" not in page_text(alice_client.get(LIST_URL))


def _count_list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_URL)
    assert response.status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_the_number_of_secrets(
    alice_client, org, make_secret, make_service
):
    first = make_secret(org, "secret-00")
    make_service(first, "web", "svc-00")
    alice_client.get(LIST_URL)  # warm the session
    one = _count_list_queries(alice_client)
    for i in range(1, 30):
        secret = make_secret(org, f"secret-{i:02d}")
        make_service(secret, "web", f"svc-{i:02d}")
    thirty = _count_list_queries(alice_client)
    assert one == thirty


def test_list_never_decrypts(alice_client, org, make_secret, monkeypatch):
    damaged = make_secret(org, "damaged")
    make_secret(org, "healthy")
    corrupt_ciphertext(damaged)

    def forbidden(*args, **kwargs):
        raise AssertionError("the list must not decrypt")

    monkeypatch.setattr("regsecrets.crypto.fields.unseal", forbidden)
    monkeypatch.setattr("regsecrets.crypto.fields.open_document", forbidden)
    response = alice_client.get(LIST_URL)
    assert response.status_code == 200
    html = page_text(response)
    assert "damaged" in html
    assert "healthy" in html


@pytest.mark.parametrize("params", [{"q": "x" * 500}, {"provider": "<script>"}])
def test_odd_filters_do_not_break_the_list(alice_client, params):
    assert alice_client.get(LIST_URL, params).status_code == 200


def test_a_nul_in_the_search_is_refused_before_the_list_reads_it(alice_client):
    # PostgreSQL cannot compare text with a NUL; core.querystring answers first.
    assert alice_client.get(LIST_URL, {"q": "a\x00b"}).status_code == 400
