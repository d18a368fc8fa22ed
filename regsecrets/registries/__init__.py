"""The registry domain: providers, config documents, image references, matching.

Pure Python, no Django: everything here can be used from forms, the API, management
commands and the verification client alike.
"""

from __future__ import annotations

from .dockerconfig import (
    DOCKER_HUB_AUTH_KEY,
    DOCKER_HUB_DOMAIN,
    MAX_DOCKER_CONFIG_BYTES,
    build_docker_config,
    credential_values,
    decode_auth,
    display_host,
    dump_docker_config,
    encode_auth,
    normalize_registry_key,
    parse_docker_config,
)
from .errors import InvalidDockerConfig, InvalidImageReference, ProviderValidationError
from .matching import (
    GLOB_INDEX_HOST,
    Credential,
    credential_for_key,
    credentials_for_image,
    hosts_for_image,
    image_index_host,
    index_host,
    key_matches_image,
    registry_host_for_matching,
)
from .providers import (
    PROVIDERS,
    Provider,
    ProviderField,
    ProviderResult,
    get_provider,
    provider_by_key,
    provider_by_slug,
    provider_for_host,
)
from .reference import MAX_IMAGE_LENGTH, ImageReference, parse_image_reference
from .text import has_control_characters

__all__ = [
    "DOCKER_HUB_AUTH_KEY",
    "DOCKER_HUB_DOMAIN",
    "GLOB_INDEX_HOST",
    "MAX_DOCKER_CONFIG_BYTES",
    "MAX_IMAGE_LENGTH",
    "PROVIDERS",
    "Credential",
    "ImageReference",
    "InvalidDockerConfig",
    "InvalidImageReference",
    "Provider",
    "ProviderField",
    "ProviderResult",
    "ProviderValidationError",
    "build_docker_config",
    "credential_for_key",
    "credential_values",
    "credentials_for_image",
    "decode_auth",
    "display_host",
    "dump_docker_config",
    "encode_auth",
    "get_provider",
    "has_control_characters",
    "hosts_for_image",
    "image_index_host",
    "index_host",
    "key_matches_image",
    "normalize_registry_key",
    "parse_docker_config",
    "parse_image_reference",
    "provider_by_key",
    "provider_by_slug",
    "provider_for_host",
    "registry_host_for_matching",
]
