"""The provider catalogue: one class per kind of registry.

Each :class:`Provider` subclass says which fields it asks for and turns valid input
into the canonical Docker config document plus non-secret metadata, in its own
``clean`` method (one module per provider, beside :mod:`.base`). The browser forms,
the admin, the API and the management commands all go through
:meth:`Provider.validate`, so each provider has exactly one implementation;
:mod:`.catalogue` lists them.

Messages never contain a secret value: they name the field and the problem.
"""

from __future__ import annotations

from .base import Provider, ProviderField, ProviderResult
from .catalogue import (
    PROVIDERS,
    get_provider,
    provider_by_key,
    provider_by_slug,
    provider_for_host,
)
from .digital_ocean import DIGITALOCEAN_HOST
from .gcp import GCP_USERNAME, MAX_KEYFILE_BYTES, parse_service_account_key
from .github import GHCR_HOST
from .gitlab import GITLAB_HOST

__all__ = [
    "DIGITALOCEAN_HOST",
    "GCP_USERNAME",
    "GHCR_HOST",
    "GITLAB_HOST",
    "MAX_KEYFILE_BYTES",
    "PROVIDERS",
    "Provider",
    "ProviderField",
    "ProviderResult",
    "get_provider",
    "parse_service_account_key",
    "provider_by_key",
    "provider_by_slug",
    "provider_for_host",
]
