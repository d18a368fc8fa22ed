"""The secrets list sorts by name, provider or last update, as keyset pages."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from regsecrets.registry_secrets import views
from regsecrets.registry_secrets.models import Secret
from tests.conftest import CANARY

pytestmark = pytest.mark.django_db

PROVIDERS = ["github_registry", "docker_hub_registry", "private_registry"]
DATA = {
    "github_registry": {"username": "octocat", "password": "ghp_x"},
    "docker_hub_registry": {"username": "octocat", "password": "x"},
    "private_registry": {"url": "registry.example.com", "username": "u", "password": CANARY},
}


@pytest.fixture
def secrets(org, make_secret):
    made = []
    start = timezone.now() - datetime.timedelta(days=30)
    for n, name in enumerate(["delta", "alpha", "echo", "charlie", "bravo", "golf", "foxtrot"]):
        provider = PROVIDERS[n % 3]
        secret = make_secret(org, name, provider, DATA[provider])
        # Distinct update times, not in name order; two share one (ties go by name).
        when = start + datetime.timedelta(hours=[5, 1, 7, 3, 3, 2, 6][n])
        Secret.objects.filter(pk=secret.pk).update(updated_at=when)
        made.append(Secret.objects.get(pk=secret.pk))
    return made


def names_in_order(client, sort: str) -> list[str]:
    names, page = [], 1
    while True:
        html = client.get("/secrets/", {"sort": sort, "page": page}).content.decode()
        names += re.findall(r'<a href="/secrets/[0-9a-f-]+/" class="fw-semibold">([^<]+)</a>', html)
        if f"page={page + 1}" not in html:
            return names
        page += 1


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("name", lambda s: s.name, False),
        ("-name", lambda s: s.name, True),
        ("provider", lambda s: (s.provider, s.name), False),
        ("-provider", lambda s: (s.provider, s.name), True),
        ("updated", lambda s: (s.updated_at, s.name), True),
        ("-updated", lambda s: (s.updated_at, s.name), False),
    ],
)
def test_every_sort_pages_through_every_secret_once_in_order(
    alice_client, secrets, monkeypatch, sort, key, reverse
):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    expected = [s.name for s in sorted(secrets, key=key, reverse=reverse)]
    assert names_in_order(alice_client, sort) == expected


def test_headers_link_each_sort_and_say_which_is_active(alice_client, secrets):
    html = alice_client.get("/secrets/", {"sort": "provider", "q": "a"}).content.decode()
    assert re.search(
        r'<th scope="col" aria-sort="ascending"><a class="sort-link" href="\?q=a&amp;sort=-provider"',
        html,
    )
    assert re.search(r'aria-sort="none"><a class="sort-link" href="\?q=a&amp;sort=name"', html)
    assert 'name="sort" value="provider"' in html  # the filters keep the order
    html = alice_client.get("/secrets/", {"sort": "updated"}).content.decode()
    assert re.search(
        r'aria-sort="descending"><a class="sort-link" href="\?sort=-updated" id="sort-updated"',
        html,
    )
    # An unknown sort is the default, by name.
    assert alice_client.get("/secrets/", {"sort": "password"}).status_code == 200


def test_sorting_costs_the_same_queries_at_any_page(alice_client, secrets, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)

    def queries(page: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert (
                alice_client.get("/secrets/", {"sort": "updated", "page": page}).status_code == 200
            )
        return len(captured)

    assert queries(2) == queries(3)
