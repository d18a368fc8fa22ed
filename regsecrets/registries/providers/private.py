"""Any registry speaking the Registry HTTP API v2, named by host[:port] and an
optional repository path that limits which images the credentials serve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regsecrets.registries.dockerconfig import (
    DOCKER_HUB_AUTH_KEY,
    DOCKER_HUB_DOMAIN,
    normalize_registry_key,
    parse_registry_key,
    retired_host_message,
)

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


class PrivateRegistry(Provider):
    key = "private_registry"
    slug = "private"
    label = "Private registry"
    icon = "server"
    description = "Any registry speaking the Docker Registry HTTP API v2."
    help = (
        "Enter the registry's host, with :PORT if it is not 443, and optionally a "
        "repository path to limit which images these credentials serve."
    )
    fields = (
        text_field(
            "url",
            "Registry URL",
            "host[:port][/path]; https:// is assumed.",
            placeholder="registry.example.com:5000",
        ),
        text_field("username", "Username", "The registry account's username."),
        secret_field("password", "Password", "The password or access token."),
    )

    def clean(self, values: dict[str, str], errors: FieldErrors) -> ProviderResult | None:
        key: str | None = None
        url = values.get("url")
        try:
            if url is not None:
                parse_registry_key(url, allow_globs=False)  # refuses globs, which keys may hold
                key = normalize_registry_key(url)
        except ValueError as exc:
            errors.add("url", f"Enter a registry such as registry.example.com:5000: {exc}.")
        if key is not None:
            retired = retired_host_message(key)
            if retired:
                errors.add("url", retired)
                key = None
            elif key == DOCKER_HUB_AUTH_KEY or key.startswith(f"{DOCKER_HUB_DOMAIN}/"):
                errors.add("url", "That is Docker Hub; choose the Docker Hub provider.")
                key = None
        username = clean_username(values, errors)
        password = clean_password(values, errors)
        if errors.errors or key is None:
            return None
        fields = {"url": key, "username": username, "password": password}
        return single_entry(key, username, password, fields)

    def preview(self, data: Mapping[str, Any]) -> str | None:
        url = str(data.get("url") or "")
        parse_registry_key(url, allow_globs=False)
        return normalize_registry_key(url)
