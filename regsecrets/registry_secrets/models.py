"""The registry secret: clear metadata beside one sealed credential document."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from regsecrets.crypto.fields import EncryptedTextField
from regsecrets.registries import PROVIDERS


def provider_choices() -> list[tuple[str, str]]:
    """The catalogue's providers (a callable, so migrations do not copy the list)."""
    return [(p.key, p.label) for p in PROVIDERS]


class Secret(models.Model):
    # The UUID is assigned before the first save so that the ciphertext can be
    # bound to its row (associated data) when it is sealed.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="secrets"
    )
    name = models.CharField(max_length=64)
    provider = models.CharField(max_length=32, choices=provider_choices)
    # Non-secret metadata, in clear, so that lists and matching never decrypt.
    hosts = models.JSONField(default=list, blank=True)
    username = models.CharField(max_length=255, blank=True)
    # The sealed provider input and Docker config document.
    document = EncryptedTextField()
    key_id = models.CharField(max_length=64, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="unique_secret_name")
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Secret {self.pk} {self.name!r} provider={self.provider}>"
