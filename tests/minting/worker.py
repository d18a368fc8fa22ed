"""One worker process asking for the same tokens as its siblings, through the shared cache.

Run as a script (by test_token_cache.py and bench/minting.py) with REDIS_URL and
REGSECRETS_ENCRYPTION_KEYS in its environment:

    python tests/minting/worker.py KEY_FILE READY_FILE GO_FILE ROUNDS PREFIX [REPEAT]

It sets Django up, says it is ready, waits for the go signal so that its siblings
start at the same moment, then asks ``cached_token`` for secrets PREFIX-0 ..
PREFIX-(ROUNDS-1) (each REPEAT times, default once), minting with the key file
against its token_uri, and prints one JSON line per round: whether this process
minted, and a hash of the token it got.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regsecrets.settings")

import django  # noqa: E402

django.setup()

from regsecrets.registries.minting import mint_gcp_token  # noqa: E402
from regsecrets.registry_secrets.minting import MintOptions, cached_token  # noqa: E402


def main(key_file: str, ready: str, go: str, rounds: int, prefix: str, repeat: int = 1) -> None:
    key = Path(key_file).read_text()
    options = MintOptions(timeout=5.0, allow_private=True)
    Path(ready).touch()
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise SystemExit("no go signal")
        time.sleep(0.005)
    for number in range(rounds):
        minted: list[object] = []
        for _ in range(repeat):
            token = cached_token(
                secret_id=f"{prefix}-{number}",
                fingerprint="fingerprint",
                mint=lambda: mint_gcp_token(key, allow_private=True, timeout=options.timeout),
                options=options,
                on_mint=minted.append,
            )
        digest = hashlib.sha256(token.password.encode()).hexdigest()
        print(json.dumps({"round": number, "minted": bool(minted), "token": digest}), flush=True)


if __name__ == "__main__":
    repeat = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], repeat)
