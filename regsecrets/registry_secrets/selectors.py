"""Reads of registry secrets: metadata only, never decryption."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.utils.functional import cached_property

from regsecrets.accounts.models import Organization
from regsecrets.accounts.scoping import scoped
from regsecrets.core.paging import keyset_page
from regsecrets.registry_secrets.models import HealthStatus, Secret, SecretCount

# The list's health filter: its values and the statuses each one shows.
HEALTH_FILTERS = {
    "attention": (HealthStatus.FAILING, HealthStatus.EXPIRING),
    "failing": (HealthStatus.FAILING,),
    "expiring": (HealthStatus.EXPIRING,),
}


def services_count() -> Subquery:
    """Count of services per secret, as a correlated subquery rather than a JOIN.

    A JOIN + GROUP BY counts the services of every secret of the organization before
    the page is cut (and groups by every column); the subquery runs for the rows
    returned only, so a page of 50 costs 50 index probes at any number of secrets.
    """
    counts = (
        Secret.objects.filter(pk=OuterRef("pk"))
        .order_by()
        .values("pk")
        .annotate(n=Count("services"))
        .values("n")
    )
    return Subquery(counts, output_field=IntegerField())


def secret_list(
    *, organization: Organization, search: str = "", provider: str = "", health: str = ""
) -> QuerySet[Secret]:
    """The organization's secrets with their service counts, in one query."""
    secrets = scoped(Secret.objects.all(), organization).annotate(service_count=services_count())
    if health in HEALTH_FILTERS:
        secrets = secrets.filter(health_status__in=HEALTH_FILTERS[health])
    if search:
        secrets = secrets.filter(name__icontains=search.strip())
    if provider:
        secrets = secrets.filter(provider=provider)
    return secrets.defer("document").order_by("name")


def secret_count(*, organization: Organization) -> int:
    """How many secrets the organization holds: one row read, at any number
    (``SecretCount``, kept by the services in each create's and delete's transaction)."""
    counted = (
        SecretCount.objects.filter(organization=organization)
        .values_list("secrets", flat=True)
        .first()
    )
    return counted or 0


class _CountedPaginator(Paginator):
    """A paginator told its count instead of counting the rows."""

    def __init__(self, object_list: Any, per_page: int, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


# The secrets page's sort orders (the column headers): each ends with the name, which
# is unique in the organization, so a keyset page is exact; "-" reverses. An index
# on (organization, …) serves each (Secret.Meta.indexes).
SECRET_SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "-name": ("-name",),
    "provider": ("provider", "name"),
    "-provider": ("-provider", "-name"),
    "updated": ("-updated_at", "-name"),  # newest first: what "updated" usually means
    "-updated": ("updated_at", "name"),
}


def secret_page(
    *,
    organization: Organization,
    number: Any,
    size: int,
    search: str = "",
    provider: str = "",
    health: str = "",
    sort: str = "name",
) -> Page:
    """One page of ``secret_list`` for the secrets page, in a ``SECRET_SORTS`` order
    (by name unless told).

    Unfiltered, the count is the kept one (no pass over the rows) and the page is a
    keyset page through the (organization, name) index, with its service counts
    computed for its own rows only: the same few queries at 1,000 or 100,000 secrets.
    A filtered list is counted (a name search reads every name anyway).
    """
    rows = secret_list(
        organization=organization, search=search, provider=provider, health=health
    ).select_related("updated_by")
    filtered = bool(search or provider or health)
    count = rows.count() if filtered else secret_count(organization=organization)
    page = _CountedPaginator(rows, size, count).get_page(number)
    order_by = SECRET_SORTS.get(sort, SECRET_SORTS["name"])
    page.object_list = keyset_page(
        rows, order_by, offset=(page.number - 1) * size, limit=size, count=count
    )
    return page


def health_status_counts() -> dict[str, int]:
    """How many secrets are in each health status, every organization together.

    One GROUP BY; every status appears, 0 when none is in it (for the metrics).
    """
    counts = dict.fromkeys(HealthStatus.values, 0)
    for row in Secret.objects.order_by().values("health_status").annotate(n=Count("pk")):
        counts[row["health_status"]] = row["n"]
    return counts
