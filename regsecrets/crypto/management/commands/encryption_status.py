"""Per key id: how many ciphertexts it protects and how many fail to decrypt."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regsecrets.crypto.errors import KeyRingError
from regsecrets.crypto.keyring import get_keyring
from regsecrets.crypto.status import UNREADABLE, project_status, totals


class Command(BaseCommand):
    help = (
        "Decrypt every stored ciphertext and print, per key id, how many it protects and "
        "how many fail. Exits with status 1 when any row fails to decrypt."
    )
    requires_system_checks: list[str] = []  # must diagnose a broken setup, not refuse it

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Rows read per query (default 1000)."
        )

    def handle(self, *args: Any, batch_size: int = 1000, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            ring = get_keyring()
        except KeyRingError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Active key id: {ring.active_kid}")
        self.stdout.write(f"Configured key ids: {', '.join(ring.kids)}")
        statuses = project_status(batch_size=batch_size)
        ciphertexts, failed = totals(statuses)
        for status in statuses:
            self.stdout.write("")
            self.stdout.write(status.label)
            for kid in sorted(status.ciphertexts):
                note = self._note(kid, ring)
                self.stdout.write(
                    f"  {kid}{note}: {status.ciphertexts[kid]} ciphertexts, "
                    f"{status.undecryptable[kid]} undecryptable"
                )
            if status.empty:
                self.stdout.write(f"  (empty): {status.empty} rows")
            if status.kid_column_mismatches:
                self.stdout.write(
                    self.style.WARNING(
                        f"  {status.kid_column_mismatches} rows have a key id column that "
                        "disagrees with their token; rotate_encryption_keys fixes them."
                    )
                )
            for error in status.failures:
                self.stdout.write(self.style.ERROR(f"  {error}"))
        self.stdout.write("")
        self.stdout.write("Summary per key id:")
        for kid in dict.fromkeys([*ring.kids, *sorted(ciphertexts)]):
            self.stdout.write(
                f"  {kid}{self._note(kid, ring)}: {ciphertexts[kid]} ciphertexts, "
                f"{failed[kid]} undecryptable"
            )
        unused = [kid for kid in ring.kids if kid != ring.active_kid and not ciphertexts[kid]]
        if unused:
            self.stdout.write(
                f"No ciphertext uses {', '.join(unused)}: safe to remove from the ring."
            )
        total_failed = sum(failed.values())
        if total_failed:
            raise CommandError(f"{total_failed} rows fail to decrypt.", returncode=1)
        self.stdout.write(self.style.SUCCESS("Every ciphertext decrypts."))

    @staticmethod
    def _note(kid: str, ring: Any) -> str:
        if kid == UNREADABLE:
            return ""
        if kid == ring.active_kid:
            return " (active)"
        if kid not in ring:
            return " (not in the key ring)"
        return ""
