from __future__ import annotations

from django.apps import AppConfig


class DeployConfig(AppConfig):
    name = "regsecrets.deploy"
    label = "deploy"
    verbose_name = "Apps and services"  # the admin's section: the site's words
    default_auto_field = "django.db.models.BigAutoField"
