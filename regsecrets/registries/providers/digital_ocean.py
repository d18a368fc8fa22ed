"""DigitalOcean Container Registry: one API token, used as both username and
password, as ``doctl registry login`` does."""

from __future__ import annotations

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

DIGITALOCEAN_HOST = "registry.digitalocean.com"


class DigitalOcean(Provider):
    key = "digital_ocean_registry"
    slug = "digital-ocean"
    label = "DigitalOcean Container Registry"
    icon = "digitalocean"
    description = "Images in your DigitalOcean registry (registry.digitalocean.com)."
    help = (
        "Create an API token with read access to the container registry. It serves as "
        "both username and password, as with doctl registry login, so there is no "
        "username to type."
    )
    console_url = "https://cloud.digitalocean.com/account/api/tokens"
    host_patterns = (DIGITALOCEAN_HOST,)
    console_label = "DigitalOcean API tokens"
    identity_hint = "API token (no username)"
    fields = (
        secret_field(
            "password",
            "API token",
            "A DigitalOcean API token (dop_v1_…).",
            placeholder="dop_v1_…",
        ),
    )
    extra_fields = (text_field("username", "Username", "Defaults to the token.", required=False),)
    host = DIGITALOCEAN_HOST

    def clean(self, values: dict[str, str], errors: FieldErrors) -> ProviderResult | None:
        token = clean_token(values, errors)
        if ":" in token:
            errors.add("password", "The API token cannot contain a colon.")
        # `doctl registry login` uses the token as both username and password; the API
        # may send a distinct username, which the registry accepts too.
        username = clean_username(values, errors) or token
        if errors.errors:
            return None
        display = username if username != token else ""
        fields = {"username": username, "password": token}
        return single_entry(DIGITALOCEAN_HOST, username, token, fields, display_username=display)
