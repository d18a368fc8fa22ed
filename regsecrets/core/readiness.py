"""Whether this process can serve requests: its database answers and its key ring opens.

``/healthz`` says the process is alive (restart it if not); ``/readyz`` says it
can do its work (send it traffic only if so). A process whose database is
unreachable or whose key ring is missing would answer every real request with an
error, so it is not ready, though restarting it would not help.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection

from regsecrets.crypto import DecryptionError, KeyRingError, seal, unseal

logger = logging.getLogger(__name__)

DATABASE_UNREACHABLE = "database unreachable"
KEYRING_UNUSABLE = "encryption key ring missing or invalid"
_PROBE = b"readiness"
_PROBE_AAD = b"regsecrets.readiness"


def readiness_problems() -> list[str]:
    """What keeps this process from serving; empty when it is ready.

    The reasons are fixed words: the details (a DSN, a key entry's position) go to
    the log, since the probe's answer may be read by anyone who can reach it.
    """
    problems = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("Readiness: the database cannot be reached: %s", exc)
        problems.append(DATABASE_UNREACHABLE)
    try:
        # A round trip through the active key proves the ring parses and encrypts.
        if unseal(seal(_PROBE, aad=_PROBE_AAD), aad=_PROBE_AAD) != _PROBE:
            raise DecryptionError(reason="the active key does not round-trip")
    except (KeyRingError, DecryptionError) as exc:
        logger.warning("Readiness: the key ring is unusable: %s", exc)
        problems.append(KEYRING_UNUSABLE)
    return problems
