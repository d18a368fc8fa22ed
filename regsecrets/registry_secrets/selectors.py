"""Reads of registry secrets: metadata only, never decryption."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from regsecrets.accounts.models import Organization
from regsecrets.accounts.scoping import scoped
from regsecrets.registry_secrets.models import HealthStatus, Secret

# The list's health filter: its values and the statuses each one shows.
HEALTH_FILTERS = {
    "attention": (HealthStatus.FAILING, HealthStatus.EXPIRING),
    "failing": (HealthStatus.FAILING,),
    "expiring": (HealthStatus.EXPIRING,),
}


def secret_list(
    *, organization: Organization, search: str = "", provider: str = "", health: str = ""
) -> QuerySet[Secret]:
    """The organization's secrets with their service counts, in one query."""
    secrets = scoped(Secret.objects.all(), organization).annotate(service_count=Count("services"))
    if health in HEALTH_FILTERS:
        secrets = secrets.filter(health_status__in=HEALTH_FILTERS[health])
    if search:
        secrets = secrets.filter(name__icontains=search.strip())
    if provider:
        secrets = secrets.filter(provider=provider)
    return secrets.defer("document").order_by("name")


def health_status_counts() -> dict[str, int]:
    """How many secrets are in each health status, every organization together.

    One GROUP BY; every status appears, 0 when none is in it (for the metrics).
    """
    counts = dict.fromkeys(HealthStatus.values, 0)
    for row in Secret.objects.order_by().values("health_status").annotate(n=Count("pk")):
        counts[row["health_status"]] = row["n"]
    return counts
