from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "regsecrets.accounts"
    label = "accounts"
    verbose_name = "Organizations and API tokens"  # the admin's section: the site's words
    default_auto_field = "django.db.models.BigAutoField"
