"""Check registry secrets' credentials once, in this process (cron-able).

    manage.py check_secrets --due                 # what beat would queue now (default)
    manage.py check_secrets --all --org acme      # every secret of one organization
    manage.py check_secrets --secret <uuid>

Runs the same use case as the Celery workers (registry_secrets.health), in the same
batches (REGSECRETS_HEALTH_CHECKS_PER_TASK secrets: one read, one slot per registry
host, one recording transaction), so alerts and host backoff behave the same; no
broker is needed.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from regsecrets.accounts.models import Organization
from regsecrets.core.progress import Progress
from regsecrets.registry_secrets import health
from regsecrets.registry_secrets.models import Secret


class Command(BaseCommand):
    help = "Check registry secrets' credentials now and record their health."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="Only this organization (slug).")
        parser.add_argument("--secret", help="Only this secret (id).")
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--due", action="store_true", help="Only secrets due (default).")
        which.add_argument("--all", action="store_true", help="Every selected secret.")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=4,
            help="Batches checked at once (each checks its secrets one after the other).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        secrets = Secret.objects.order_by("next_check_at")
        if options["org"]:
            org = Organization.objects.filter(slug=options["org"]).first()
            if org is None:
                raise CommandError(f"No organization with slug {options['org']!r}.")
            secrets = secrets.filter(organization=org)
        if options["secret"]:
            secrets = secrets.filter(pk=health.parse_secret_id(options["secret"]))
            if not secrets.exists():
                raise CommandError(f"No secret with id {options['secret']!r}.")
        elif not options["all"]:
            secrets = secrets & health.health_due_queryset()
        ids = list(secrets.values_list("pk", flat=True))
        total = len(ids)
        self._estimate = Progress(total)
        self._tenth = 0
        counts: dict[str, int] = {}
        done = 0

        size = health.checks_per_task()
        batches = [ids[start : start + size] for start in range(0, total, size)]

        def check(batch: list[Any]) -> list[health.CheckOutcome]:
            try:
                return health.health_check_secrets(batch)
            finally:
                # Each pool thread has its own connection: do not leave them open.
                if pool is not None:
                    connection.close()

        workers = max(1, options["concurrency"])
        if connection.vendor == "sqlite":
            workers = 1  # SQLite serialises writers anyway; threads would only wait on locks
        pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
        results = pool.map(check, batches) if pool else map(check, batches)
        try:
            for outcomes in results:
                for outcome in outcomes:
                    done += 1
                    key = outcome.status or outcome.state
                    counts[key] = counts.get(key, 0) + 1
                    if outcome.transition:
                        counts[f"alert:{outcome.transition}"] = (
                            counts.get(f"alert:{outcome.transition}", 0) + 1
                        )
                self._progress(done, total)
        finally:
            if pool:
                pool.shutdown()
        if total and sys.stdout.isatty():
            self.stdout.write("")
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to check"
        self.stdout.write(f"Checked {total} secret(s): {summary}.")

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "-" * (width - filled)
        end = "\r" if self.stdout.isatty() and done < total else "\n"
        tenth = 10 * done // max(total, 1)
        if end == "\n" and done < total and tenth == self._tenth:
            return  # not a terminal: a line every tenth, not a line per batch
        self._tenth = tenth
        line = f"[{bar}] {self._estimate.text(done)}"
        # On a terminal each line overwrites the last: pad over a longer previous one.
        self.stdout.write(line.ljust(79) if end == "\r" else line, ending=end)
