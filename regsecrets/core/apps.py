from __future__ import annotations

import logging

from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    name = "regsecrets.core"
    label = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from regsecrets.core import checks  # noqa: F401  (registers the checks)
        from regsecrets.core.logging import install_record_redaction
        from regsecrets.core.lookups import register_address_lookups

        install_record_redaction()
        register_address_lookups()
        if getattr(settings, "REGSECRETS_LOG_FORMAT", "plain") == "json":
            # Python's warnings go through logging too, so that every line is JSON.
            logging.captureWarnings(True)
