from __future__ import annotations

from django.apps import AppConfig


class CryptoConfig(AppConfig):
    name = "regsecrets.crypto"
    label = "crypto"
    verbose_name = "Encryption at rest"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from regsecrets.crypto.checks import register_checks

        register_checks()
