"""Reads of registry secrets: metadata only, never decryption."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from regsecrets.accounts.models import Organization
from regsecrets.accounts.scoping import scoped
from regsecrets.registry_secrets.models import Secret


def secret_list(
    *, organization: Organization, search: str = "", provider: str = ""
) -> QuerySet[Secret]:
    """The organization's secrets with their service counts, in one query."""
    secrets = scoped(Secret.objects.all(), organization).annotate(service_count=Count("services"))
    if search:
        secrets = secrets.filter(name__icontains=search.strip())
    if provider:
        secrets = secrets.filter(provider=provider)
    return secrets.defer("document").order_by("name")
