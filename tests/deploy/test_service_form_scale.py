"""The service form's secret select at scale: a few options (a search's answer and
the current choice), a search that works without JavaScript, any of the
organization's secrets accepted, and the same queries at any number of secrets."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from regsecrets.deploy.models import Service
from regsecrets.deploy.selectors import SEARCH_LIMIT
from regsecrets.deploy.services import service_create


def options(html: str) -> list[str]:
    select = re.search(r'<select name="registry_secret".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"', select)


def test_the_select_offers_at_most_the_limit_plus_public_and_new(alice_client, app, org, make_secret):
    for n in range(SEARCH_LIMIT + 10):
        make_secret(org, f"team-{n:02d}")
    page = alice_client.get(reverse("deploy:service_create", args=[app.pk])).content.decode()
    values = options(page)
    assert values[0] == ""
    assert values[-1] == "new"
    assert len(values) == SEARCH_LIMIT + 2
    assert 'id="id_secret_search"' in page


def test_find_without_javascript_shows_the_matches_and_keeps_the_input(
    alice_client, app, org, make_secret
):
    for n in range(SEARCH_LIMIT + 5):
        make_secret(org, f"team-{n:02d}")
    wanted = make_secret(org, "prod-ghcr")
    url = reverse("deploy:service_create", args=[app.pk])
    response = alice_client.post(
        url, {"name": "web", "image": "ghcr.io/acme/web:1", "secret_search": "prod", "find_secret": "1"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert options(page) == ["", str(wanted.pk), "new"]
    assert 'value="web"' in page
    assert 'value="ghcr.io/acme/web:1"' in page
    assert "is-invalid" not in page  # a search is not a failed save
    assert not Service.objects.exists()


def test_enter_in_the_search_box_searches_instead_of_saving(alice_client, app, org, make_secret):
    make_secret(org, "prod-ghcr")
    url = reverse("deploy:service_create", args=[app.pk])
    response = alice_client.post(
        url, {"name": "web", "image": "nginx:1", "secret_search": "prod", "secret_searched": ""}
    )
    assert response.status_code == 200
    assert not Service.objects.exists()
    # The same text, already searched: Enter now saves.
    response = alice_client.post(
        url, {"name": "web", "image": "nginx:1", "secret_search": "prod", "secret_searched": "prod"}
    )
    assert response.status_code == 302
    assert Service.objects.filter(name="web").exists()


def test_the_current_secret_is_offered_even_outside_the_first_page(
    alice_client, app, org, make_secret
):
    for n in range(SEARCH_LIMIT + 5):
        make_secret(org, f"a-{n:02d}")
    last = make_secret(org, "z-ghcr")
    service = service_create(app=app, name="web", image="ghcr.io/acme/web:1", registry_secret=last)
    page = alice_client.get(reverse("deploy:service_edit", args=[service.pk])).content.decode()
    assert str(last.pk) in options(page)
    assert re.search(rf'<option value="{last.pk}" selected>', page)


def test_any_secret_of_the_organization_can_be_saved_whatever_the_select_shows(
    alice_client, app, org, other_org, make_secret
):
    for n in range(SEARCH_LIMIT + 5):
        make_secret(org, f"a-{n:02d}")
    last = make_secret(org, "z-ghcr")
    theirs = make_secret(other_org, "theirs")
    url = reverse("deploy:service_create", args=[app.pk])
    refused = alice_client.post(url, {"name": "web", "image": "ghcr.io/acme/web:1", "registry_secret": str(theirs.pk)})
    assert refused.status_code == 200
    assert not Service.objects.exists()
    saved = alice_client.post(url, {"name": "web", "image": "ghcr.io/acme/web:1", "registry_secret": str(last.pk)})
    assert saved.status_code == 302
    assert Service.objects.get(name="web").registry_secret == last


def test_the_form_costs_the_same_queries_at_any_number_of_secrets(alice_client, app, org, make_secret):
    url = reverse("deploy:service_create", args=[app.pk])

    def count(params=None) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_client.get(url, params or {}).status_code == 200
        return len(captured.captured_queries)

    for n in range(5):
        make_secret(org, f"a-{n:02d}")
    alice_client.get(url)
    small, searched = count(), count({"secret_search": "a-0"})
    for n in range(60):
        make_secret(org, f"b-{n:02d}")
    assert count() == small
    assert count({"secret_search": "a-0"}) == searched


def test_the_search_endpoint_answers_at_most_the_limit(alice_client, org, other_org, make_secret):
    for n in range(SEARCH_LIMIT + 3):
        make_secret(org, f"team-{n:02d}")
    make_secret(other_org, "team-theirs")
    body = alice_client.get(reverse("deploy:secret_search"), {"q": "TEAM"}).json()
    assert len(body["secrets"]) == SEARCH_LIMIT
    assert all("theirs" not in s["label"] for s in body["secrets"])
    assert body["secrets"][0]["label"] == "team-00 (ghcr.io)"
