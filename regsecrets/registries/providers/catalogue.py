"""The catalogue: one instance of each provider, in the order the picker shows them,
and the lookups by API key and URL slug."""

from __future__ import annotations

from fnmatch import fnmatchcase

from .aws_ecr import AwsEcr
from .azure import Azure
from .base import Provider
from .digital_ocean import DigitalOcean
from .docker_config import DockerConfig
from .docker_hub import DockerHub
from .gcp import GoogleCloud
from .github import GitHub
from .gitlab import GitLab
from .private import PrivateRegistry

__all__ = [
    "PROVIDERS",
    "get_provider",
    "provider_by_key",
    "provider_by_slug",
    "provider_for_host",
]

PROVIDERS: tuple[Provider, ...] = (
    DockerHub(),
    GitHub(),
    GitLab(),
    DigitalOcean(),
    Azure(),
    GoogleCloud(),
    AwsEcr(),
    PrivateRegistry(),
    DockerConfig(),
)
_BY_KEY = {provider.key: provider for provider in PROVIDERS}
_BY_SLUG = {provider.slug: provider for provider in PROVIDERS}


def provider_by_key(key: str) -> Provider:
    """The provider with this API key (``"github_registry"``); raise KeyError."""
    return _BY_KEY[key]


def provider_by_slug(slug: str) -> Provider:
    """The provider with this URL slug (``"github"``); raise KeyError."""
    return _BY_SLUG[slug]


def get_provider(key_or_slug: str) -> Provider:
    """The provider with this API key or URL slug; raise KeyError."""
    provider = _BY_KEY.get(key_or_slug) or _BY_SLUG.get(key_or_slug)
    if provider is None:
        raise KeyError(key_or_slug)
    return provider


_FALLBACK = _BY_SLUG["private"]


def provider_for_host(host: str) -> Provider:
    """The provider a form should offer first for images on ``host`` (an image
    reference's domain): the one whose ``host_patterns`` match, else Private registry.
    """
    host = host.strip().lower()
    for provider in PROVIDERS:
        if any(fnmatchcase(host, pattern) for pattern in provider.host_patterns):
            return provider
    return _FALLBACK
