"""Print the /v1 OpenAPI document, as the app serves it at /v1/openapi.json."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from regsecrets.api.schema import document_bytes


class Command(BaseCommand):
    help = "Print the OpenAPI document of /v1 (built from the code, as /v1/openapi.json serves it)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(document_bytes().decode())
