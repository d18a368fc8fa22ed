"""Clear display usernames that are one of their secret's own credentials.

Rows saved by this version never hold one (``services._display_username``); rows
saved before it may hold a token typed as the username, in a column shown on lists,
pages, the admin and the API. A migration cannot do this (it needs the key ring to
decrypt), so run this once after upgrading, and again whenever in doubt:

    manage.py clear_credential_usernames --dry-run
    manage.py clear_credential_usernames
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from regsecrets.crypto import DecryptionError
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_scrub_username


class Command(BaseCommand):
    help = (
        "Clear each secret's display username where it is one of that secret's own "
        "credentials (rows stored by older versions); decrypts each row in memory."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count the usernames that would be cleared; change nothing.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="Rows read per query (default 500).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        batch = max(1, options["batch_size"])
        # Only rows with a username can hold one; ids first, so the scan is keyset-paged.
        candidates = Secret.objects.exclude(username="").order_by("pk")
        total = candidates.count()
        cleared = undecryptable = seen = 0
        started = time.monotonic()
        last = None
        while True:
            page = candidates if last is None else candidates.filter(pk__gt=last)
            ids = list(page.values_list("pk", flat=True)[:batch])
            if not ids:
                break
            for secret in Secret.objects.filter(pk__in=ids).only("pk", "username"):
                try:
                    cleared += secret_scrub_username(secret=secret, dry_run=dry_run)
                except DecryptionError:
                    undecryptable += 1
                except Secret.DoesNotExist:
                    pass  # deleted meanwhile
            seen += len(ids)
            last = ids[-1]
            elapsed = time.monotonic() - started
            left = elapsed / seen * (total - seen) if seen and total > seen else 0.0
            self.stdout.write(f"{seen}/{total} rows, about {left:.0f} s left", ending="\r")
            self.stdout.flush()
        verb = "would clear" if dry_run else "cleared"
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"{seen} rows with a username read; {verb} {cleared}.")
        )
        if undecryptable:
            self.stdout.write(
                self.style.WARNING(
                    f"{undecryptable} rows could not be decrypted (see encryption_status)."
                )
            )
