"""GitLab: GitLab.com's registry, or a self-managed one named by its host; a deploy
token or a personal access token with read_registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regsecrets.registries.dockerconfig import parse_registry_key, retired_host_message

from .base import (
    FieldErrors,
    Provider,
    ProviderResult,
    clean_token,
    clean_username,
    registry_host,
    secret_field,
    single_entry,
    text_field,
)

GITLAB_HOST = "registry.gitlab.com"


class GitLab(Provider):
    key = "gitlab_registry"
    slug = "gitlab"
    label = "GitLab Container Registry"
    icon = "gitlab"
    description = "GitLab.com's registry or a self-managed GitLab registry."
    help = (
        "Create a deploy token with the read_registry scope under the project's "
        "Settings > Repository > Deploy tokens, or a personal access token with "
        "read_registry."
    )
    console_url = "https://gitlab.com/-/user_settings/personal_access_tokens"
    host_patterns = (GITLAB_HOST,)
    console_label = "GitLab access tokens"
    fields = (
        text_field(
            "username",
            "Username",
            "The deploy token's username (gitlab+deploy-token-…) or your GitLab username.",
            placeholder="gitlab+deploy-token-1234",
        ),
        secret_field(
            "password",
            "Token",
            "The deploy token or personal access token.",
            placeholder="glpat-…",
        ),
        text_field(
            "url",
            "Registry host",
            "Only for self-managed GitLab: your registry's host, e.g. gitlab.example.com:5050.",
            required=False,
            placeholder=GITLAB_HOST,
        ),
    )
    host = GITLAB_HOST

    def clean(self, values: dict[str, str], errors: FieldErrors) -> ProviderResult | None:
        host: str | None = GITLAB_HOST
        if values.get("url"):
            host = registry_host(values["url"], errors, "url", "registry.gitlab.example.com")
            if host == "gitlab.com":
                errors.add("url", "GitLab.com's registry is registry.gitlab.com.")
            elif host and retired_host_message(host):
                errors.add("url", retired_host_message(host) or "")
        username = clean_username(values, errors)
        token = clean_token(values, errors)
        if errors.errors or host is None:
            return None
        fields = {"username": username, "password": token, "url": host}
        return single_entry(host, username, token, fields)

    def preview(self, data: Mapping[str, Any]) -> str | None:
        url = str(data.get("url") or "").strip()
        if not url:
            return GITLAB_HOST
        return parse_registry_key(url, allow_globs=False).hostport
