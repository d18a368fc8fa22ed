"""Amazon ECR (ACCOUNT.dkr.ecr.REGION.amazonaws.com): an IAM access key, optionally
assuming a role, from which 12-hour docker passwords are minted.

ECR has no long-lived docker password: ``docker login`` takes a token from
``ecr:GetAuthorizationToken`` that expires after 12 hours. So the secret stores the
access key (the one thing that lasts) and its stored config document names the
registry with no login in it; every consumer asks
``registry_secrets.minting.secret_login_config`` for the login, which mints one
(``registries.minting.ecr``) and caches it. The field rules are the minting
engine's own (``ecr_field_errors``), so what the form accepts is what minting uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regsecrets.registries.minting.ecr import ecr_field_errors, ecr_host
from regsecrets.registries.text import has_control_characters

from .base import FieldErrors, Provider, ProviderResult, secret_field, text_field

__all__ = ["AwsEcr"]

# What ecr_field_errors needs for the fields a preview does not look at.
_PLACEHOLDER_KEY = "AKIAPLACEHOLDER00000"


class AwsEcr(Provider):
    key = "aws_ecr_registry"
    slug = "aws-ecr"
    label = "Amazon ECR"
    icon = "aws-ecr"
    description = "A private Amazon ECR registry; regsecrets mints its 12-hour tokens."
    help = (
        "Create an access key for an IAM user in the IAM console (the user's Security "
        "credentials tab, Create access key). The user (or the role below) needs "
        "ecr:GetAuthorizationToken, and ecr:BatchGetImage and ecr:GetDownloadUrlForLayer "
        "on the repositories (the AmazonEC2ContainerRegistryReadOnly policy grants them). "
        "The key stays here, encrypted; checks and exported pull secrets use 12-hour "
        "tokens minted from it."
    )
    console_url = "https://console.aws.amazon.com/iam/home#/users"
    host_patterns = ("*.dkr.ecr.*.amazonaws.com", "*.dkr.ecr.*.amazonaws.com.cn")
    console_label = "IAM users in the AWS console"
    fields = (
        text_field(
            "access_key_id",
            "Access key ID",
            "The IAM access key's ID (AKIA…).",
            max_length=128,
            placeholder="AKIAIOSFODNN7EXAMPLE",
        ),
        secret_field("secret_access_key", "Secret access key", "Shown once when the key is made."),
        text_field(
            "region",
            "Region",
            "The registry's AWS region, e.g. eu-west-1.",
            max_length=32,
            placeholder="eu-west-1",
        ),
        text_field(
            "registry_id",
            "Registry ID",
            "The 12-digit AWS account ID that owns the registry.",
            max_length=32,
            placeholder="123456789012",
        ),
        text_field(
            "role_arn",
            "Role ARN",
            "Optional: a role the key assumes first (sts:AssumeRole), e.g. to pull from "
            "another account's registry.",
            required=False,
            max_length=2048,
            placeholder="arn:aws:iam::123456789012:role/ecr-pull",
        ),
    )

    def clean(self, values: dict[str, str], errors: FieldErrors) -> ProviderResult | None:
        # Copy and paste may bring surrounding whitespace; a key never contains any.
        secret_access_key = values.get("secret_access_key", "").strip()
        if any(ch.isspace() for ch in secret_access_key) or has_control_characters(
            secret_access_key
        ):
            errors.add(
                "secret_access_key",
                "The secret access key cannot contain spaces or line breaks; paste the key alone.",
            )
        fields = {
            "access_key_id": values.get("access_key_id", ""),
            "secret_access_key": secret_access_key,
            "region": values.get("region", "").lower(),
            "registry_id": values.get("registry_id", ""),
            "role_arn": values.get("role_arn", ""),
        }
        problems = ecr_field_errors(**fields)
        for name, message in problems.items():
            # A field missing from values already has its error (required, too long).
            if name in values and name not in errors:
                errors.add(name, message)
        if errors.errors:
            return None
        host = ecr_host(fields["registry_id"], fields["region"])
        # No login is stored: the password is a token minted when it is needed.
        return ProviderResult(
            fields=fields,
            config={"auths": {host: {}}},
            hosts=(host,),
            username=fields["access_key_id"],
        )

    def preview(self, data: Mapping[str, Any]) -> str | None:
        region = str(data.get("region") or "").strip().lower()
        registry_id = str(data.get("registry_id") or "").strip()
        problems = ecr_field_errors(
            access_key_id=_PLACEHOLDER_KEY,
            secret_access_key="-",
            region=region,
            registry_id=registry_id,
        )
        return None if problems else ecr_host(registry_id, region)
