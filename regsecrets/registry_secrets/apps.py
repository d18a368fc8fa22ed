from __future__ import annotations

from django.apps import AppConfig


class RegistrySecretsConfig(AppConfig):
    name = "regsecrets.registry_secrets"
    label = "registry_secrets"
    default_auto_field = "django.db.models.BigAutoField"
