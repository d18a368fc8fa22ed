"""A whole config.json written by ``docker login``, for any registry: parsed and
normalized by :mod:`regsecrets.registries.dockerconfig`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regsecrets.registries.dockerconfig import (
    credential_values,
    dump_docker_config,
    parse_docker_config,
)
from regsecrets.registries.errors import InvalidDockerConfig

from .base import FieldErrors, Provider, ProviderField, ProviderResult


class DockerConfig(Provider):
    key = "docker_config"
    slug = "docker-config"
    label = "Docker config.json"
    icon = "docker-config"
    description = "Paste or upload a config.json written by docker login, for any registry."
    help = (
        "Run docker login REGISTRY, then paste or upload ~/.docker/config.json. If it "
        "uses a credential helper (credsStore or credHelpers), the file holds no "
        "password: remove the helper and log in again."
    )
    console_url = "https://docs.docker.com/reference/cli/docker/login/"
    console_label = "docker login in Docker's documentation"
    fields = (
        ProviderField(
            name="config",
            label="config.json",
            help_text='The whole file, with an "auths" object; at most 64 KiB.',
            kind="json",
            placeholder='{"auths": {"registry.example.com": {"auth": "…"}}}',
        ),
    )

    def clean(self, values: dict[str, str], errors: FieldErrors) -> ProviderResult | None:
        if "config" not in values:
            return None
        try:
            config = parse_docker_config(values["config"])
        except InvalidDockerConfig as exc:
            errors.add("config", str(exc))
            return None
        entries = config["auths"]
        first = next(iter(entries.values()))
        # `doctl registry docker-config` writes auth = base64(token:token): its username
        # is the token. A username that is also any credential of the document (password,
        # identity or registry token, of any entry) is not shown.
        username = first.get("username", "")
        if username in credential_values(config):
            username = ""
        return ProviderResult(
            fields={"config": dump_docker_config(config)},
            config=config,
            hosts=tuple(entries),
            username=username,
        )

    def preview(self, data: Mapping[str, Any]) -> str | None:
        value = data.get("config")
        if not value:
            return None
        return next(iter(parse_docker_config(value)["auths"]), None)
