from __future__ import annotations

from django.apps import AppConfig


class DeployConfig(AppConfig):
    name = "regsecrets.deploy"
    label = "deploy"
    default_auto_field = "django.db.models.BigAutoField"
