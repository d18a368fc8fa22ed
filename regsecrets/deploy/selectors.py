"""Reads for apps and services: scoped, metadata only, a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from regsecrets.accounts.models import Organization
from regsecrets.accounts.scoping import get_scoped_or_404, scoped
from regsecrets.deploy.models import App, Deployment, Service
from regsecrets.deploy.status import with_app_status
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
