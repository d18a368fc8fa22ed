"""Re-encrypt every ciphertext that is not under the active key, in batches."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regsecrets.audit.services import audit_record
from regsecrets.core import metrics
from regsecrets.core.progress import Progress
from regsecrets.crypto.rotation import DEFAULT_BATCH_SIZE, RotationReport, rotate_all, rows_to_scan


class Command(BaseCommand):
    help = (
        "Re-encrypt every ciphertext not under the active (first) key id, BATCH_SIZE rows "
        "per transaction. Idempotent; run it again after an interruption to resume."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Rows read and rewritten per transaction (default {DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count and test-decrypt; write nothing."
        )

    def handle(
        self,
        *args: Any,
        batch_size: int = DEFAULT_BATCH_SIZE,
        dry_run: bool = False,
        verbosity: int = 1,
        **options: Any,
    ) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        self._verbosity = verbosity
        self._last_print = 0.0
        self._counted = (0, 0, 0)
        self._progress_line = Progress(rows_to_scan())
        report = rotate_all(batch_size=batch_size, dry_run=dry_run, progress=self._progress)
        verb = "would re-encrypt" if dry_run else "re-encrypted"
        from_kids = ", ".join(f"{kid}: {n}" for kid, n in sorted(report.from_kids.items()))
        self.stdout.write(
            f"Done: scanned {report.scanned} rows, {verb} {report.rotated} under "
            f"{report.active_kid}"
            + (f" (from {from_kids})" if from_kids else "")
            + f", {report.failed} failed, in {report.seconds:.1f}s."
        )
        if not dry_run:
            audit_record(action="keys.rotated", organization=None, details=report.audit_details())
        if report.failed:
            raise CommandError(
                f"{report.failed} rows could not be decrypted and were left as they are; "
                "see the warnings above and `manage.py encryption_status`.",
                returncode=1,
            )

    def _progress(self, label: str, report: RotationReport) -> None:
        """After each batch: the metrics, and a line at most every 2 s (each with -v 2)."""
        scanned, rotated, failed = self._counted
        if not report.dry_run:
            metrics.record_rotation(
                scanned=report.scanned - scanned,
                rotated=report.rotated - rotated,
                failed=report.failed - failed,
            )
        self._counted = (report.scanned, report.rotated, report.failed)
        now = time.monotonic()
        if self._verbosity >= 2 or (self._verbosity >= 1 and now - self._last_print >= 2.0):
            self._last_print = now
            self.stdout.write(
                f"{label}: scanned {self._progress_line.text(report.scanned)}; "
                f"re-encrypted {report.rotated}, failed {report.failed}"
            )
