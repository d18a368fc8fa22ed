"""Image matching narrows candidates with the host index in SQL, then applies the
kubelet rule to few: the same queries and a bounded answer whatever the
organization holds."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.urls import reverse

from regsecrets.deploy import selectors
from regsecrets.deploy.selectors import MATCH_LIMIT, secret_search, secrets_matching_image
from regsecrets.registry_secrets.models import Secret, SecretHost
from regsecrets.registry_secrets.services import secret_update


def config(*keys: str) -> dict:
    auths = {key: {"username": "u", "password": "p"} for key in keys}
    return {"config": json.dumps({"auths": auths})}


def names(matches) -> list[str]:
    return [m.secret.name for m in matches]


def test_the_host_index_follows_the_stored_keys(org, make_secret):
    secret = make_secret(
        org,
        "multi",
        provider="docker_config",
        data=config(
            "https://index.docker.io/v1/", "Registry.Example.com:5000/team", "*.azurecr.io"
        ),
    )
    indexed = set(SecretHost.objects.filter(secret=secret).values_list("host", flat=True))
    assert indexed == {"docker.io", "registry.example.com:5000", "*"}
    secret_update(secret=secret, data=config("quay.io/acme"))
    assert list(SecretHost.objects.filter(secret=secret).values_list("host", flat=True)) == [
        "quay.io"
    ]


def test_matching_reads_only_candidates_from_the_image_host(org, make_secret):
    make_secret(org, "ghcr-bot")
    make_secret(org, "quay", provider="docker_config", data=config("quay.io"))
    make_secret(org, "acme-only", provider="docker_config", data=config("ghcr.io/acme"))
    make_secret(org, "globbed", provider="docker_config", data=config("*.io"))
    assert names(secrets_matching_image(organization=org, image="ghcr.io/acme/app:1")) == [
        "acme-only",
        "ghcr-bot",
        "globbed",
    ]
    assert names(secrets_matching_image(organization=org, image="ghcr.io/other/app:1")) == [
        "ghcr-bot",
        "globbed",
    ]
    assert names(secrets_matching_image(organization=org, image="registry.example.com/nginx")) == []


def test_matching_answers_at_most_the_limit_in_one_query_at_any_size(
    org, other_org, make_secret, django_assert_num_queries
):
    make_secret(other_org, "theirs")
    for n in range(5):
        make_secret(org, f"a{n:02d}")
    with django_assert_num_queries(1):
        small = secrets_matching_image(organization=org, image="ghcr.io/acme/app")
    assert names(small) == [f"a{n:02d}" for n in range(5)]
    for n in range(30):
        make_secret(org, f"b{n:02d}")
    with django_assert_num_queries(1):
        large = secrets_matching_image(organization=org, image="ghcr.io/acme/app")
    assert len(large) == MATCH_LIMIT


def test_matching_reads_further_batches_when_paths_rule_candidates_out(
    org, make_secret, monkeypatch
):
    monkeypatch.setattr(selectors, "_MATCH_BATCH", 3)
    for n in range(7):
        make_secret(org, f"a{n}", provider="docker_config", data=config("ghcr.io/elsewhere"))
    make_secret(org, "z-match")
    assert names(secrets_matching_image(organization=org, image="ghcr.io/acme/app")) == ["z-match"]


def test_search_finds_names_containing_the_text_within_the_limit(org, other_org, make_secret):
    for n in range(25):
        make_secret(org, f"team-{n:02d}")
    make_secret(org, "prod-registry")
    make_secret(other_org, "prod-theirs")
    assert [s.name for s in secret_search(organization=org, query="PROD")] == ["prod-registry"]
    assert len(secret_search(organization=org, query="team")) == 20
    assert len(secret_search(organization=org, query="")) == 20


def test_the_suggestion_endpoint_returns_a_bounded_answer(alice_client, org, make_secret):
    for n in range(MATCH_LIMIT + 5):
        make_secret(org, f"s{n:02d}")
    response = alice_client.get(reverse("deploy:secret_suggestion"), {"image": "ghcr.io/a/b"})
    assert len(response.json()["matches"]) == MATCH_LIMIT


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigram index is PostgreSQL's (pg_trgm)"
)
def test_name_searches_have_a_trigram_index_on_what_icontains_compares(org, make_secret):
    """name__icontains is UPPER(name) LIKE '%…%', which no b-tree serves; the migration's
    GIN index over UPPER(name)'s trigrams does (the planner takes it for a rare
    substring at 100,000 names: bench/pages.py's secret search)."""
    real = make_secret(org, name="billing-prod")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'secret_name_trgm'")
        (definition,) = cursor.fetchone()
    assert "USING gin (upper((name)::text) gin_trgm_ops)" in definition
    query = Secret.objects.filter(organization=org, name__icontains="ling-pr")
    assert "UPPER" in str(query.query).upper()  # the expression the index is built on
    assert list(query.values_list("pk", flat=True)) == [real.pk]
