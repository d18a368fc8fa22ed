"""Print a new ``KID:KEY`` entry for REGSECRETS_ENCRYPTION_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regsecrets.crypto.keyring import generate_key_entry


class Command(BaseCommand):
    help = (
        "Print a new KID:KEY entry (32 random bytes, base64). Put it first in "
        "REGSECRETS_ENCRYPTION_KEYS to make it the encrypting key."
    )
    # Printing a key needs no database and must work before the ring is valid.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kid", help="key id (default: today's date and a random suffix)")

    def handle(self, *args: Any, kid: str | None = None, **options: Any) -> None:
        try:
            entry = generate_key_entry(kid)
        except ValueError as exc:
            raise CommandError(str(exc))
        self.stdout.write(entry)
