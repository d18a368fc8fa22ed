"""Objects as Koyeb's SDK reads them (koyeb.api.models.Secret, App, Service, …).

Only metadata is shown: a secret's sub-object carries its non-secret fields,
rebuilt from clear columns, so lists and gets never decrypt.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from regsecrets.deploy import status as statuses
from regsecrets.deploy.models import App, Deployment, Service
from regsecrets.registries import display_host
from regsecrets.registry_secrets.models import Secret

REGISTRY = "REGISTRY"
ACR_SUFFIX = ".azurecr.io"


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, as Koyeb writes it."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


# The non-secret fields each registry object shows, rebuilt from clear columns
# (``api.schema`` documents the same table); a provider not listed shows its username.
SHOWN_FIELDS: Mapping[str, tuple[str, ...]] = {
    "gcp_container_registry": ("url",),
    "azure_container_registry": ("registry_name", "username"),
    "private_registry": ("username", "url"),
    "gitlab_registry": ("username", "url"),
    # role_arn is not a clear column: reveal shows it.
    "aws_ecr_registry": ("access_key_id", "region", "registry_id"),
    "docker_config": ("hosts",),
}
DEFAULT_SHOWN_FIELDS = ("username",)


def shown_fields(provider: str) -> tuple[str, ...]:
    return SHOWN_FIELDS.get(provider, DEFAULT_SHOWN_FIELDS)


def _shown(secret: Secret, field: str) -> Any:
    host = secret.hosts[0] if secret.hosts else ""
    # ECR: ACCOUNT.dkr.ecr.REGION.amazonaws.com; the clear username is the access key ID.
    registry_id, _, ecr_rest = host.partition(".dkr.ecr.")
    if field == "url":
        return host
    if field == "registry_name":
        return host.removesuffix(ACR_SUFFIX)
    if field == "hosts":
        return [display_host(h) for h in secret.hosts or []]
    if field == "region":
        return ecr_rest.split(".", 1)[0]
    if field == "registry_id":
        return registry_id
    return secret.username  # username, access_key_id


def registry_metadata(secret: Secret) -> dict[str, Any]:
    """The provider sub-object without password or key file."""
    return {field: _shown(secret, field) for field in shown_fields(secret.provider)}


def secret_json(secret: Secret) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(secret.pk),
        "name": secret.name,
        "organization_id": str(secret.organization_id),
        "project_id": "",
        "type": REGISTRY,
        "created_at": timestamp(secret.created_at),
        "updated_at": timestamp(secret.updated_at),
    }
    data[secret.provider] = registry_metadata(secret)
    # An extension (the official SDK ignores unknown keys): the credential's health.
    data["health"] = {
        "status": secret.health_status,
        "code": secret.health_code,
        "reason": secret.health_reason,
        "checked_at": timestamp(secret.checked_at),
        "expires_at": secret.expires_at.isoformat() if secret.expires_at else None,
    }
    return data


# Koyeb's service and app types: every regsecrets service is a web service.
SERVICE_TYPE = "WEB"
# regsecrets never deletes an app or a service by itself (Koyeb's 0: never).
APP_LIFE_CYCLE = {"delete_when_empty": False}
SERVICE_LIFE_CYCLE = {"delete_after_sleep": 0, "delete_after_create": 0}


def app_json(app: App) -> dict[str, Any]:
    """An app read through ``deploy.selectors.apps_with_status`` (its status counts).

    regsecrets runs nothing, so no domains or run times are invented here; see
    ``deploy.status`` for what the status means.
    """
    status, messages = statuses.app_status(app)
    return {
        "id": str(app.pk),
        "name": app.name,
        "organization_id": str(app.organization_id),
        "created_at": timestamp(app.created_at),
        "updated_at": timestamp(app.updated_at),
        "status": status,
        "messages": messages,
        "domains": [],
        "life_cycle": APP_LIFE_CYCLE,
    }


def _definition(name: str, image: str, secret_name: str) -> dict[str, Any]:
    return {
        "name": name,
        "type": SERVICE_TYPE,
        "docker": {"image": image, "image_registry_secret": secret_name},
    }


def service_json(service: Service) -> dict[str, Any]:
    """A service read through ``deploy.selectors.services_with_status`` (or just
    written by ``deploy.services``): its secret and latest deployment are loaded."""
    secret = service.registry_secret
    latest = service.latest_deployment
    latest_id = str(service.latest_deployment_id) if service.latest_deployment_id else None
    status, messages = statuses.service_status(service)
    return {
        "id": str(service.pk),
        "name": service.name,
        "type": SERVICE_TYPE,
        "organization_id": str(service.organization_id),
        "app_id": str(service.app_id),
        "project_id": "",
        "created_at": timestamp(service.created_at),
        "updated_at": timestamp(service.updated_at),
        "status": status,
        "messages": messages,
        "version": str(latest.version) if latest else None,
        "latest_deployment_id": latest_id,
        "active_deployment_id": latest_id,
        "life_cycle": SERVICE_LIFE_CYCLE,
        # Not in Koyeb's Service (it lives on deployments); what regsecrets stores.
        "definition": _definition(service.name, service.image, secret.name if secret else ""),
    }


def deployment_json(deployment: Deployment) -> dict[str, Any]:
    """A deployment read through ``deploy.selectors.deployments_with_status``."""
    service = deployment.service
    latest = service.latest_deployment_id == deployment.pk
    status, messages = statuses.deployment_status(service, latest=latest)
    data = {
        "id": str(deployment.pk),
        "created_at": timestamp(deployment.created_at),
        "updated_at": timestamp(deployment.created_at),  # never changed once recorded
        "organization_id": str(deployment.organization_id),
        "project_id": "",
        "app_id": str(deployment.app_id),
        "service_id": str(deployment.service_id),
        "status": status,
        "messages": messages,
        "version": str(deployment.version),
        "definition": _definition(
            deployment.name, deployment.image, deployment.registry_secret_name
        ),
    }
    if latest:
        data["role"] = "ACTIVE"
    return data
