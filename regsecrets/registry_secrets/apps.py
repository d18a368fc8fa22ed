from __future__ import annotations

from django.apps import AppConfig


class RegistrySecretsConfig(AppConfig):
    name = "regsecrets.registry_secrets"
    label = "registry_secrets"
    verbose_name = "Registry secrets"  # the admin's section: the site's words
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Register the Celery tasks in every process (web too): health dispatches
        # alerts by task name, and Celery's autodiscovery only runs in workers.
        from regsecrets.registry_secrets import tasks  # noqa: F401
