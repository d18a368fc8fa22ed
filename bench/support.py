"""What several benches share: a scratch PostgreSQL database and a free loopback port.

Imported as ``bench.support`` by scripts that put the repository root on sys.path.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit, urlunsplit


def recreate_database(url: str, drop_only: bool = False) -> None:
    """Drop the database named by ``url`` (closing its sessions), then create it empty
    unless ``drop_only``. Connects to the server's ``postgres`` database to do so."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
