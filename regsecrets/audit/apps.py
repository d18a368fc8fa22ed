from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "regsecrets.audit"
    label = "audit"
    verbose_name = "Activity"  # the admin's section: the site's words
    default_auto_field = "django.db.models.BigAutoField"
