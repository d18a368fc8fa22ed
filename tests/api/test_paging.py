"""/v1 list paging: keyset pages under the hood, an exact count that is not counted,
and the same number of queries whatever the organization holds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regsecrets.registry_secrets import services
from regsecrets.registry_secrets.models import Secret, SecretCount


def names(api, **params) -> list[str]:
    return [s["name"] for s in api.get("/v1/secrets", params).json()["secrets"]]


def test_every_page_from_either_end_matches_the_sorted_list(api, make_secret):
    for n in range(23):
        make_secret(f"s{n:02d}")
    expected = sorted(f"s{n:02d}" for n in range(23))
    for limit in (1, 4, 10):
        for offset in range(0, 25):
            assert names(api, limit=str(limit), offset=str(offset)) == expected[offset : offset + limit]


def test_count_is_exact_after_creates_and_deletes_without_counting_rows(api, make_secret, org):
    made = [make_secret(f"s{n}") for n in range(5)]
    services.secret_delete(secret=made[0])
    services.secret_delete(secret=made[0])  # already gone: counted once
    assert SecretCount.objects.get(organization=org).secrets == 4
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/v1/secrets", {"limit": "2"}).json()
    assert body["count"] == 4
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


def test_a_filtered_list_is_counted(api, make_secret):
    for name in ("alpha", "alps", "beta"):
        make_secret(name)
    body = api.get("/v1/secrets", {"name": "al"}).json()
    assert body["count"] == 2
    assert [s["name"] for s in body["secrets"]] == ["alpha", "alps"]


def test_has_no_secret_of_another_organization_in_its_count(api, make_secret, other_org):
    make_secret("mine")
    make_secret("theirs", organization=other_org)
    assert api.get("/v1/secrets").json()["count"] == 1


@pytest.mark.parametrize("offset", ["0", "3", "17"])
def test_a_page_costs_the_same_queries_at_any_size(api, make_secret, django_assert_num_queries, offset):
    def queries_for_page() -> int:
        api.get("/v1/secrets", {"limit": "2", "offset": offset})  # last_used_at written once
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/v1/secrets", {"limit": "2", "offset": offset}).status_code == 200
        return len(captured.captured_queries)

    for n in range(20):
        make_secret(f"a{n:02d}")
    small = queries_for_page()
    for n in range(60):
        make_secret(f"b{n:02d}")
    assert queries_for_page() == small
    # Token lookup with the count's row, the page's first key (not on page 1), the page.
    with django_assert_num_queries(small):
        api.get("/v1/secrets", {"limit": "2", "offset": offset})
    assert small == (2 if offset == "0" else 3)


def test_deleting_a_secret_written_around_the_services_still_works(make_secret, org):
    secret = make_secret("drifted")
    SecretCount.objects.filter(organization=org).update(secrets=0)
    services.secret_delete(secret=secret)
    assert not Secret.objects.filter(pk=secret.pk).exists()
