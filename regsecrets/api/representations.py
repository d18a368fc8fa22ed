"""Objects as Koyeb's SDK reads them (koyeb.api.models.Secret, App, Service, …).

Only metadata is shown: a secret's sub-object carries its non-secret fields,
rebuilt from clear columns, so lists and gets never decrypt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from regsecrets.deploy.models import App, Service
from regsecrets.registries import display_host
from regsecrets.registry_secrets.models import Secret

REGISTRY = "REGISTRY"
ACR_SUFFIX = ".azurecr.io"


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, as Koyeb writes it."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def registry_metadata(secret: Secret) -> dict[str, Any]:
    """The provider sub-object without password or key file."""
    host = secret.hosts[0] if secret.hosts else ""
    provider = secret.provider
    if provider == "gcp_container_registry":
        return {"url": host}
    if provider == "azure_container_registry":
        return {"registry_name": host.removesuffix(ACR_SUFFIX), "username": secret.username}
    if provider in ("private_registry", "gitlab_registry"):
        return {"username": secret.username, "url": host}
    if provider == "aws_ecr_registry":
        # ACCOUNT.dkr.ecr.REGION.amazonaws.com; the clear username is the access key ID.
        # role_arn is not a clear column: reveal shows it.
        registry_id, _, rest = host.partition(".dkr.ecr.")
        return {
            "access_key_id": secret.username,
            "region": rest.split(".", 1)[0],
            "registry_id": registry_id,
        }
    if provider == "docker_config":
        return {"hosts": [display_host(h) for h in secret.hosts or []]}
    return {"username": secret.username}


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


def app_json(app: App) -> dict[str, Any]:
    # regsecrets runs nothing, so no status or domains are invented here.
    return {
        "id": str(app.pk),
        "name": app.name,
        "organization_id": str(app.organization_id),
        "created_at": timestamp(app.created_at),
        "updated_at": timestamp(app.updated_at),
        "messages": [],
        "domains": [],
    }


def service_json(service: Service, *, secret_name: str | None = None) -> dict[str, Any]:
    # No query when the service has no secret: Django knows a null key means None.
    if secret_name is None and service.registry_secret is not None:
        secret_name = service.registry_secret.name
    return {
        "id": str(service.pk),
        "name": service.name,
        "type": "WEB",
        "organization_id": str(service.organization_id),
        "app_id": str(service.app_id),
        "project_id": "",
        "created_at": timestamp(service.created_at),
        "updated_at": timestamp(service.updated_at),
        "messages": [],
        # Not in Koyeb's Service (it lives on deployments); what regsecrets stores.
        "definition": {
            "name": service.name,
            "type": "WEB",
            "docker": {"image": service.image, "image_registry_secret": secret_name or ""},
        },
    }
