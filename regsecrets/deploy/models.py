"""Apps and services: a service pulls its image with an optional registry secret."""

from __future__ import annotations

import uuid

from django.db import models

from regsecrets.core.names import validate_name
from regsecrets.registries import MAX_IMAGE_LENGTH


class App(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="apps"
    )
    name = models.CharField(max_length=64, validators=[validate_name])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="unique_app_name")
        ]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="services")
    # Denormalized from the app so that every query can scope by organization.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="services"
    )
    name = models.CharField(max_length=64, validators=[validate_name])
    image = models.CharField(max_length=MAX_IMAGE_LENGTH)
    registry_secret = models.ForeignKey(
        "registry_secrets.Secret",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="services",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["app", "name"], name="unique_service_name")]

    def __str__(self) -> str:
        return f"{self.app.name}/{self.name}" if self.app_id else self.name
