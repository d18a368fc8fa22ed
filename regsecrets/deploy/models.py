"""Apps and services: a service pulls its image with an optional registry secret.

Each change of a service's definition (name, image, secret) is kept as a
``Deployment``, Koyeb's word for it: the API serves them so that clients read
back what they set.
"""

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
    # The definition in force: the last Deployment (set with it, in one transaction).
    latest_deployment = models.ForeignKey(
        "Deployment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["app", "name"], name="unique_service_name")]

    def __str__(self) -> str:
        return f"{self.app.name}/{self.name}" if self.app_id else self.name


class Deployment(models.Model):
    """One definition of a service, as it was set; never changed afterwards.

    ``deploy.services`` writes one when a service is created and one for each
    update that changes its name, image or secret (version 1, 2, …), in the same
    transaction. The secret is kept by name, as the definition named it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="deployments")
    # Denormalized from the service, like Service.organization, for scoping and filters.
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=64)
    image = models.CharField(max_length=MAX_IMAGE_LENGTH)
    registry_secret_name = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["service", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "version"], name="unique_deployment_version"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="deployment_org_recent")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
