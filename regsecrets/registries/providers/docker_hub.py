"""Docker Hub: a Docker ID and a personal access token, stored under Docker's
historical key (https://index.docker.io/v1/)."""

from __future__ import annotations

from regsecrets.registries.dockerconfig import DOCKER_HUB_AUTH_KEY, DOCKER_HUB_DOMAIN

from .base import (
    FieldErrors,
    Provider,
    ProviderResult,
    clean_token,
    clean_username,
    secret_field,
    single_entry,
    text_field,
)


class DockerHub(Provider):
    key = "docker_hub_registry"
    slug = "docker-hub"
    label = "Docker Hub"
    icon = "docker"
    description = "Private repositories on Docker Hub (docker.io)."
    help = (
        "Create a personal access token with the Read-only scope in your Docker account "
        "settings. For an organization access token, use the organization name as the "
        "username."
    )
    console_url = "https://app.docker.com/settings/personal-access-tokens"
    host_patterns = ("docker.io", "index.docker.io", "registry-1.docker.io")
    console_label = "Docker Hub access tokens"
    fields = (
        text_field(
            "username",
            "Docker ID",
            "Your Docker Hub username, not your email address.",
            placeholder="octocat",
        ),
        secret_field(
            "password",
            "Access token",
            "A personal access token (dckr_pat_…).",
            placeholder="dckr_pat_…",
        ),
    )
    host = DOCKER_HUB_DOMAIN

    def clean(self, values: dict[str, str], errors: FieldErrors) -> ProviderResult | None:
        username = clean_username(values, errors)
        if "username" not in errors and "@" in username:
            errors.add("username", "Use your Docker ID (username), not your email address.")
        token = clean_token(values, errors)
        if errors.errors:
            return None
        fields = {"username": username, "password": token}
        return single_entry(DOCKER_HUB_AUTH_KEY, username, token, fields)
