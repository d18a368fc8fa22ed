"""Delete audit events older than the retention period, in batches.

    manage.py prune_audit_events                 # REGSECRETS_AUDIT_RETENTION_DAYS
    manage.py prune_audit_events --days 365 --dry-run

The periodic task (regsecrets.audit.tasks.prune_audit_events, hourly on beat) runs
the same use case; this command is for cron or a first large backlog.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regsecrets.audit.services import audit_prune, audit_retention_cutoff


class Command(BaseCommand):
    help = "Delete audit events older than REGSECRETS_AUDIT_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="Keep this many days instead of the setting.")
        parser.add_argument("--batch-size", type=int, help="Rows deleted per statement.")
        parser.add_argument("--dry-run", action="store_true", help="Count only.")

    def handle(self, *args: Any, **options: Any) -> None:
        days, batch = options["days"], options["batch_size"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        if batch is not None and batch < 1:
            raise CommandError("--batch-size must be at least 1.")
        cutoff = audit_retention_cutoff(days=days)
        if cutoff is None:
            self.stdout.write("Audit events are kept forever (REGSECRETS_AUDIT_RETENTION_DAYS=0).")
            return
        count = audit_prune(days=days, batch_size=batch, dry_run=options["dry_run"])
        verb = "Would delete" if options["dry_run"] else "Deleted"
        self.stdout.write(f"{verb} {count} audit events older than {cutoff:%Y-%m-%d %H:%M} UTC.")
