"""The secrets page at scale: the kept count, keyset pages, service counts for the
page's rows only, and the same queries at any number of secrets."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from regsecrets.registry_secrets.models import HealthStatus, Secret

LIST_URL = reverse("registry_secrets:list")


def page_names(client, **params) -> list[str]:
    return [row["secret"].name for row in client.get(LIST_URL, params).context["rows"]]


def queries(client, **params) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(LIST_URL, params).status_code == 200
    return [q["sql"].upper() for q in captured.captured_queries]


def test_deep_pages_and_the_last_page_hold_the_right_rows(alice_client, org, make_secret):
    for i in range(120):
        make_secret(org, f"s-{i:03d}")
    assert page_names(alice_client, page=2) == [f"s-{i:03d}" for i in range(50, 100)]
    assert page_names(alice_client, page=3) == [f"s-{i:03d}" for i in range(100, 120)]
    assert alice_client.get(LIST_URL, {"page": 3}).context["page"].paginator.num_pages == 3


def test_the_unfiltered_page_neither_counts_rows_nor_groups_services(
    alice_client, org, make_secret, make_service
):
    for i in range(3):
        make_service(make_secret(org, f"s-{i}"), "web", f"svc-{i}")
    # No paginator count over the rows (the kept count is read), and the service
    # counts are a per-row subquery of the page query, not a join grouped over all.
    sql = queries(alice_client)
    counts = [q for q in sql if q.startswith("SELECT COUNT(")]
    # The one count left is the "needs attention" banner's, through its index.
    assert len(counts) == 1
    assert "HEALTH_STATUS" in counts[0]
    page_query = next(q for q in sql if "LIMIT 50" in q)
    assert "LEFT OUTER JOIN" not in page_query.split("(SELECT")[0]
    rows = alice_client.get(LIST_URL).context["rows"]
    assert [row["secret"].service_count for row in rows] == [1, 1, 1]


def test_page_queries_do_not_grow_with_the_number_of_secrets(
    alice_client, org, make_secret, make_service
):
    for i in range(60):
        secret = make_secret(org, f"a-{i:03d}")
        if i % 10 == 0:
            make_service(secret, "web", f"svc-{i}")
    alice_client.get(LIST_URL)  # warm the session
    first, second = len(queries(alice_client)), len(queries(alice_client, page=2))
    for i in range(150):
        make_secret(org, f"b-{i:03d}")
    assert len(queries(alice_client)) == first
    assert len(queries(alice_client, page=2)) == second
    assert len(queries(alice_client, page=4)) == second


def test_filtered_pages_are_counted_and_keyset_paged(alice_client, org, make_secret):
    for i in range(60):
        make_secret(org, f"x-{i:03d}")
    Secret.objects.filter(name__in=[f"x-{i:03d}" for i in range(0, 60, 2)]).update(
        health_status=HealthStatus.FAILING
    )
    response = alice_client.get(LIST_URL, {"health": "failing"})
    assert response.context["page"].paginator.count == 30
    assert response.context["attention_count"] == 30
    assert page_names(alice_client, q="x-05") == [f"x-05{i}" for i in range(10)]
