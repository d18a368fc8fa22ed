"""Azure Container Registry (NAME.azurecr.io): a service principal, a repository-scoped
token or the admin user, with its password."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .base import (
    FieldErrors,
    Provider,
    ProviderResult,
    clean_password,
    clean_username,
    secret_field,
    single_entry,
    text_field,
)

_ACR_SUFFIX = ".azurecr.io"
_ACR_NAME_RE = re.compile(r"[a-z0-9]{5,50}")


def _acr_name(value: str) -> str:
    """Accept "myreg", "myreg.azurecr.io" or "https://myreg.azurecr.io/"."""
    name = re.sub(r"^https?://", "", value.strip(), flags=re.IGNORECASE).rstrip("/").lower()
    return name.removesuffix(_ACR_SUFFIX)


class Azure(Provider):
    key = "azure_container_registry"
    slug = "azure"
    label = "Azure Container Registry"
    icon = "azure"
    description = "An Azure Container Registry (NAME.azurecr.io)."
    help = (
        "Use a service principal with the AcrPull role (username: its application ID), "
        "a repository-scoped token, or the admin user under the registry's "
        "Settings > Access keys in the Azure portal."
    )
    console_url = "https://portal.azure.com/#browse/Microsoft.ContainerRegistry%2Fregistries"
    host_patterns = ("*.azurecr.io",)
    console_label = "Container registries in the Azure portal"
    fields = (
        text_field(
            "registry_name",
            "Registry name",
            "The NAME in NAME.azurecr.io: 5 to 50 letters and digits.",
            max_length=100,
            placeholder="myregistry",
        ),
        text_field(
            "username",
            "Username",
            "The admin user, a service principal's application ID, or a token name.",
            placeholder="myregistry",
        ),
        secret_field("password", "Password", "The matching password or client secret."),
    )

    def clean(self, values: dict[str, str], errors: FieldErrors) -> ProviderResult | None:
        name = _acr_name(values.get("registry_name", ""))
        if "registry_name" in values and not _ACR_NAME_RE.fullmatch(name):
            errors.add(
                "registry_name",
                "A registry name is 5 to 50 letters and digits: the NAME in NAME.azurecr.io.",
            )
        username = clean_username(values, errors)
        password = clean_password(values, errors)
        if errors.errors:
            return None
        host = name + _ACR_SUFFIX
        fields = {"registry_name": name, "username": username, "password": password}
        return single_entry(host, username, password, fields)

    def preview(self, data: Mapping[str, Any]) -> str | None:
        name = _acr_name(str(data.get("registry_name") or ""))
        return name + _ACR_SUFFIX if _ACR_NAME_RE.fullmatch(name) else None
