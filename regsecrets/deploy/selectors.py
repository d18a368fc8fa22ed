"""Reads for apps and services: scoped, metadata only, a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from regsecrets.accounts.models import Organization
from regsecrets.accounts.scoping import get_scoped_or_404, scoped
from regsecrets.deploy.models import App, Service
from regsecrets.registries import (
    ImageReference,
    InvalidImageReference,
    display_host,
    hosts_for_image,
    parse_image_reference,
)
from regsecrets.registry_secrets.models import Secret


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
    services (at most SWITCH_SCAN_LIMIT candidates by name), matched in Python.
    """
    references = {s.pk: _reference(s.image) for s in services}
    if not any(references.values()):
        return {s.pk: [] for s in services}
    candidates = list(
        secret_choices(organization=organization)
        .only("id", "name", "provider", "hosts")
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


def secrets_matching_image(*, organization: Organization, image: str) -> list[SecretMatch]:
    """The organization's secrets that could authenticate ``image``, for suggestions.

    Reads the clear ``hosts`` metadata only; an unparsable image matches nothing.
    """
    reference = _reference(image)
    if reference is None:
        return []
    matches = []
    for secret in secret_choices(organization=organization).only("id", "name", "provider", "hosts"):
        keys = hosts_for_image(secret.hosts or [], reference)
        if keys:
            matches.append(SecretMatch(secret=secret, key=keys[0]))
    return matches
