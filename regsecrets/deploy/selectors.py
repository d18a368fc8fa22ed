"""Reads for apps and services: scoped, metadata only, a fixed number of queries."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, QuerySet

from regsecrets.accounts.models import Organization
from regsecrets.accounts.scoping import get_scoped_or_404, scoped
from regsecrets.deploy.models import App, Deployment, Service
from regsecrets.deploy.status import with_app_status
from regsecrets.registries import (
    GLOB_INDEX_HOST,
    ImageReference,
    InvalidImageReference,
    display_host,
    hosts_for_image,
    image_index_host,
    parse_image_reference,
)
from regsecrets.registry_secrets.models import Secret, SecretHost

# The most secrets a suggestion or a search names: what a person reads, and a bound
# on the work whatever the organization holds.
MATCH_LIMIT = 10
SEARCH_LIMIT = 20
# Candidates read per query while looking for matches, and at most in all: hosts
# narrow candidates in SQL, but a path in a key (ghcr.io/acme) is only judged in
# Python, so a host shared by many secrets with other paths must not mean reading
# all of them.
_MATCH_BATCH = 100
_MATCH_SCAN_LIMIT = 1000


def app_list(*, organization: Organization) -> QuerySet[App]:
    """The organization's apps with their service counts, in one query."""
    return (
        scoped(App.objects.all(), organization)
        .annotate(service_count=Count("services"))
        .order_by("name")
    )


def app_get(*, organization: Organization, app_id: Any) -> App:
    """One of the organization's apps, or 404."""
    return get_scoped_or_404(App.objects.all(), organization, pk=app_id)


def app_services(*, app: App) -> QuerySet[Service]:
    """An app's services with their secrets' metadata (never the ciphertext)."""
    return (
        app.services.select_related("registry_secret")
        .defer("registry_secret__document")
        .order_by("name")
    )


def service_get(*, organization: Organization, service_id: Any) -> Service:
    """One of the organization's services with its app and secret metadata, or 404."""
    return get_scoped_or_404(
        Service.objects.select_related("app", "registry_secret").defer("registry_secret__document"),
        organization,
        pk=service_id,
    )


def apps_with_status(*, organization: Organization) -> QuerySet[App]:
    """The organization's apps, each annotated for ``status.app_status`` (one query)."""
    return with_app_status(scoped(App.objects.all(), organization))


def services_with_status(*, organization: Organization) -> QuerySet[Service]:
    """The organization's services with what their status and version are read from:
    the secret's metadata and health (never its ciphertext) and the latest deployment."""
    return scoped(
        Service.objects.select_related("registry_secret", "latest_deployment").defer(
            "registry_secret__document"
        ),
        organization,
    )


def deployments_with_status(*, organization: Organization) -> QuerySet[Deployment]:
    """The organization's deployments with their services' status inputs (one query)."""
    return scoped(
        Deployment.objects.select_related("service__registry_secret").defer(
            "service__registry_secret__document"
        ),
        organization,
    )


def registry_secret_named(*, organization: Organization, name: str) -> Secret | None:
    """The organization's secret called ``name`` (services name it), metadata only."""
    return scoped(Secret.objects.defer("document"), organization).filter(name=name).first()


def secret_choices(*, organization: Organization) -> QuerySet[Secret]:
    """The secrets a service of ``organization`` may use: its own, metadata only."""
    return scoped(Secret.objects.all(), organization).defer("document").order_by("name")


@dataclass(frozen=True)
class SecretMatch:
    """A secret whose stored registry keys serve an image, and the key that wins."""

    secret: Secret
    key: str  # the auths key that authenticates the pull (most specific first)

    @property
    def registry(self) -> str:
        return display_host(self.key)


def _reference(image: str | ImageReference) -> ImageReference | None:
    if isinstance(image, ImageReference):
        return image
    try:
        return parse_image_reference(image)
    except InvalidImageReference:
        return None


def pull_key_for(secret: Secret | None, image: str) -> str | None:
    """The secret's registry key that authenticates pulls of ``image``, if any."""
    reference = _reference(image)
    if secret is None or reference is None:
        return None
    matches = hosts_for_image(secret.hosts or [], reference)
    return matches[0] if matches else None


# Candidates read for the secret pages' "switch to another secret": one query, bounded.
SWITCH_SCAN_LIMIT = 200


def switch_choices(
    *, organization: Organization, services: list[Service], exclude: Secret
) -> dict[Any, list[SecretMatch]]:
    """For each service (by id), the organization's other secrets that serve its
    image: what the secret pages offer to switch it to. One query for all the
    services: the host index narrows the candidates to the images' hosts (at most
    SWITCH_SCAN_LIMIT of them, by name), and the kubelet rule judges them in Python.
    """
    references = {s.pk: _reference(s.image) for s in services}
    hosts = {image_index_host(r) for r in references.values() if r is not None}
    if not hosts:
        return {s.pk: [] for s in services}
    indexed = SecretHost.objects.filter(
        secret=OuterRef("pk"), host__in=[*sorted(hosts), GLOB_INDEX_HOST]
    )
    candidates = list(
        secret_choices(organization=organization)
        .only("id", "name", "provider", "hosts")
        .filter(Exists(indexed))
        .exclude(pk=exclude.pk)[:SWITCH_SCAN_LIMIT]
    )
    choices: dict[Any, list[SecretMatch]] = {}
    for service in services:
        reference = references[service.pk]
        matches = []
        if reference is not None:
            for secret in candidates:
                keys = hosts_for_image(secret.hosts or [], reference)
                if keys:
                    matches.append(SecretMatch(secret=secret, key=keys[0]))
        choices[service.pk] = matches
    return choices


def secrets_matching_image(
    *, organization: Organization, image: str, limit: int = MATCH_LIMIT
) -> list[SecretMatch]:
    """Up to ``limit`` of the organization's secrets that could authenticate ``image``,
    by name, for suggestions.

    The host index (``SecretHost``) narrows the candidates in SQL to the secrets with
    a key for the image's host (or a glob key); the kubelet rule then judges those in
    Python, a batch at a time, until ``limit`` match. One query in the usual case,
    whatever the organization holds. Reads the clear metadata only; an unparsable
    image matches nothing.
    """
    reference = _reference(image)
    if reference is None:
        return []
    indexed = SecretHost.objects.filter(
        secret=OuterRef("pk"), host__in=[image_index_host(reference), GLOB_INDEX_HOST]
    )
    candidates = (
        secret_choices(organization=organization)
        .only("id", "name", "provider", "hosts")
        .filter(Exists(indexed))
    )
    matches: list[SecretMatch] = []
    after: str | None = None
    scanned = 0
    while scanned < _MATCH_SCAN_LIMIT:
        page = candidates if after is None else candidates.filter(name__gt=after)
        batch = list(page[:_MATCH_BATCH])
        for secret in batch:
            keys = hosts_for_image(secret.hosts or [], reference)
            if keys:
                matches.append(SecretMatch(secret=secret, key=keys[0]))
                if len(matches) >= limit:
                    return matches
        if len(batch) < _MATCH_BATCH:
            break
        after, scanned = batch[-1].name, scanned + len(batch)
    return matches


def secret_search(
    *, organization: Organization, query: str, limit: int = SEARCH_LIMIT
) -> list[Secret]:
    """Up to ``limit`` of the organization's secrets whose name contains ``query``, by
    name, metadata only: the service form's secret picker. One query with a LIMIT:
    for a substring many names contain, PostgreSQL walks the (organization, name) index
    and stops at ``limit`` matches; for a rare one it reads the trigram index on
    UPPER(name) (migration registry_secrets 0004) instead of every name."""
    rows = secret_choices(organization=organization).only("id", "name", "provider", "hosts")
    query = query.strip()[:64]
    if query:
        rows = rows.filter(name__icontains=query)
    return list(rows[:limit])


def secret_options(
    *, organization: Organization, query: str = "", selected: Any = None
) -> list[Secret]:
    """What the service form's secret select offers: ``secret_search``'s answer for
    ``query`` plus the ``selected`` secret (a Secret or an id) when it is not among
    them. At most SEARCH_LIMIT + 1 options and two queries, at any number of secrets;
    the select stays a plain select that works without JavaScript.
    """
    found = secret_search(organization=organization, query=query)
    selected_id = str(getattr(selected, "pk", selected) or "")
    if selected_id and all(str(secret.pk) != selected_id for secret in found):
        with contextlib.suppress(ValidationError, ValueError):
            extra = (
                secret_choices(organization=organization)
                .only("id", "name", "provider", "hosts")
                .filter(pk=selected_id)
                .first()
            )
            if extra is not None:
                found = sorted([extra, *found], key=lambda secret: secret.name)
    return found
