"""A fake registry on loopback that records every Authorization header it receives.

It answers ``/v2/`` with a 401 challenge (Basic, or Bearer with a token realm on the
same server, so both ways a client hands over credentials are covered) and
never lets anyone in. Used as the "attacker" host in the host-binding tests, and as
the legitimate host a secret is stored for.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RecordingRegistry:
    def __init__(self, challenge: str = "basic") -> None:
        self.challenge = challenge
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Authorization)
        self._lock = threading.Lock()
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with registry._lock:
                    registry.requests.append(
                        (self.command, self.path, self.headers.get("Authorization"))
                    )
                if self.path.startswith("/token"):
                    # A token server that refuses everyone: the credentials were sent.
                    self._reply(401, {"WWW-Authenticate": 'Basic realm="token"'})
                elif registry.challenge == "bearer":
                    realm = f"http://{registry.host}/token"
                    header = f'Bearer realm="{realm}",service="fake"'
                    self._reply(401, {"WWW-Authenticate": header})
                else:
                    self._reply(401, {"WWW-Authenticate": 'Basic realm="fake"'})

            do_HEAD = do_GET

            def _reply(self, status: int, headers: dict[str, str]) -> None:
                body = b'{"errors":[{"code":"UNAUTHORIZED"}]}'
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def authorizations(self) -> list[str]:
        """Every Authorization header received, raw and, for Basic, decoded too."""
        seen: list[str] = []
        with self._lock:
            headers = [h for _, _, h in self.requests if h]
        for header in headers:
            seen.append(header)
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "basic":
                with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                    seen.append(base64.b64decode(value.strip(), validate=True).decode("utf-8"))
        return seen

    def received(self, value: str) -> bool:
        """Did any request carry ``value`` in its Authorization header (decoded or not)?"""
        return any(value in header for header in self.authorizations())

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
