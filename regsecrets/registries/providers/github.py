"""GitHub Container Registry (ghcr.io): a username and a classic personal access
token with read:packages; fine-grained tokens cannot read packages."""

from __future__ import annotations

import re

from regsecrets.registries.dockerconfig import retired_host_message

from .base import (
    FieldErrors,
    Provider,
    ProviderResult,
    clean_token,
    registry_host,
    secret_field,
    single_entry,
    text_field,
)

GHCR_HOST = "ghcr.io"
_GITHUB_LOGIN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")


class GitHub(Provider):
    key = "github_registry"
    slug = "github"
    label = "GitHub Container Registry"
    icon = "github"
    description = "Container images on ghcr.io."
    help = (
        "Create a personal access token (classic) with the read:packages scope. "
        "Fine-grained tokens do not work with GitHub Packages."
    )
    console_url = "https://github.com/settings/tokens/new?scopes=read:packages"
    host_patterns = (GHCR_HOST,)
    console_label = "New GitHub token with read:packages"
    fields = (
        text_field(
            "username",
            "GitHub username",
            "The account that owns the token.",
            max_length=39,
            placeholder="octocat",
        ),
        secret_field(
            "password",
            "Personal access token",
            "A classic token (ghp_…) with read:packages.",
            placeholder="ghp_…",
        ),
    )
    extra_fields = (text_field("url", "Registry", "Always ghcr.io.", required=False),)
    host = GHCR_HOST

    def clean(self, values: dict[str, str], errors: FieldErrors) -> ProviderResult | None:
        url = values.get("url", "")
        if url:  # only the API may send one; the form knows the host
            retired = retired_host_message(url)
            if retired:
                errors.add("url", retired)
            elif registry_host(url, errors, "url", GHCR_HOST) not in (GHCR_HOST, None):
                errors.add(
                    "url", "GitHub Container Registry is ghcr.io; use Private registry for others."
                )
        username = values.get("username", "")
        if "@" in username:
            errors.add("username", "Use your GitHub username, not your email address.")
        elif username and not _GITHUB_LOGIN_RE.fullmatch(username):
            errors.add(
                "username",
                "A GitHub username has at most 39 letters, digits or single hyphens, "
                "and does not start or end with a hyphen.",
            )
        token = clean_token(values, errors)
        if token.startswith("github_pat_"):
            errors.add(
                "password",
                "Fine-grained tokens cannot read GitHub Packages; create a personal access "
                "token (classic) with the read:packages scope.",
            )
        if errors.errors:
            return None
        fields = {"username": username, "password": token}
        return single_entry(GHCR_HOST, username, token, fields)
