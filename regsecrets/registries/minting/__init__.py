"""Short-lived registry passwords minted from long-lived stored credentials.

Pure Python, no Django: one module per kind of credential (``ecr``, ``gcp``), each
exposing one function that takes the stored fields and returns a ``MintedToken``
or raises ``MintingError``. Caching, sealing and auditing live on the Django side
(``registry_secrets.minting``), so these functions always go to the network.
"""

from __future__ import annotations

from .base import (
    MINT_DENIED,
    MINT_ERROR,
    MINT_FORBIDDEN_ENDPOINT,
    MINT_INVALID_KEY,
    MINT_TIMEOUT,
    MINT_UNREACHABLE,
    MintedToken,
    MintingError,
)
from .ecr import ECR_TOKEN_LIFETIME, ECR_USERNAME, ecr_field_errors, ecr_host, mint_ecr_token
from .gcp import (
    CLOUD_PLATFORM_SCOPE,
    GCP_TOKEN_USERNAME,
    GOOGLE_TOKEN_URIS,
    check_token_uri,
    mint_gcp_token,
)

__all__ = [
    "CLOUD_PLATFORM_SCOPE",
    "ECR_TOKEN_LIFETIME",
    "ECR_USERNAME",
    "GCP_TOKEN_USERNAME",
    "GOOGLE_TOKEN_URIS",
    "MINT_DENIED",
    "MINT_ERROR",
    "MINT_FORBIDDEN_ENDPOINT",
    "MINT_INVALID_KEY",
    "MINT_TIMEOUT",
    "MINT_UNREACHABLE",
    "MintedToken",
    "MintingError",
    "check_token_uri",
    "ecr_field_errors",
    "ecr_host",
    "mint_ecr_token",
    "mint_gcp_token",
]
