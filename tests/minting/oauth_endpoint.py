"""A local OAuth2 token endpoint for service-account keys, on loopback.

It does what Google's does with the JWT-bearer grant (RFC 7523): verify the
assertion's RS256 signature with the public half of the key named by its ``kid``,
check issuer, audience (Google's), scope and times, and answer an access token with
``expires_in``. An assertion signed by any other key is refused the way Google
refuses it (400, ``invalid_grant``). Every token issued is counted, so tests can
prove how many times the app minted.

Also used by bench/minting.py, which is why it lives in a module of its own.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
# The audience Google requires in the assertion, whichever URL it was posted to
# (google-auth always signs this one, also for keys with the legacy token_uri).
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"


@dataclass
class ServiceAccountKey:
    """An RSA key pair and the service-account key file Google would hand out for it."""

    private_key: rsa.RSAPrivateKey
    key_id: str
    client_email: str = "puller@regsecrets-test.iam.gserviceaccount.com"

    @classmethod
    def generate(cls, client_email: str | None = None) -> ServiceAccountKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kwargs = {"client_email": client_email} if client_email else {}
        return cls(key, secrets.token_hex(20), **kwargs)

    @property
    def private_pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def key_file(self, token_uri: str, *, signed_by: ServiceAccountKey | None = None) -> dict:
        """The JSON key file; ``signed_by`` puts another key's private half under this id."""
        return {
            "type": "service_account",
            "project_id": "regsecrets-test",
            "private_key_id": self.key_id,
            "private_key": (signed_by or self).private_pem,
            "client_email": self.client_email,
            "client_id": "100000000000000000001",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
        }


@dataclass
class Issued:
    client_email: str
    access_token: str


class OAuthTokenEndpoint:
    """The server; ``with OAuthTokenEndpoint() as endpoint: endpoint.token_uri``."""

    def __init__(self, *, lifetime: int = 3599, delay: float = 0.0) -> None:
        self.lifetime = lifetime
        # Widens the window in which concurrent callers overlap; no result depends on it.
        self.delay = delay
        self.keys: dict[str, ServiceAccountKey] = {}
        self.issued: list[Issued] = []
        self.refused: list[str] = []
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                status, body = endpoint._answer(form)
                if endpoint.delay:
                    time.sleep(endpoint.delay)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.token_uri = f"http://127.0.0.1:{self.port}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def register(self, key: ServiceAccountKey) -> ServiceAccountKey:
        self.keys[key.key_id] = key
        return key

    def new_key(self) -> ServiceAccountKey:
        return self.register(ServiceAccountKey.generate())

    @property
    def mints(self) -> int:
        with self._lock:
            return len(self.issued)

    def _refuse(self, why: str, description: str) -> tuple[int, dict]:
        with self._lock:
            self.refused.append(why)
        return 400, {"error": "invalid_grant", "error_description": description}

    def _answer(self, form: dict[str, list[str]]) -> tuple[int, dict]:
        if form.get("grant_type") != [JWT_BEARER] or len(form.get("assertion", [])) != 1:
            return 400, {"error": "unsupported_grant_type"}
        assertion = form["assertion"][0]
        try:
            kid = jwt.get_unverified_header(assertion).get("kid")
        except jwt.PyJWTError:
            return self._refuse("malformed", "Invalid JWT.")
        key = self.keys.get(kid or "")
        if key is None:
            return self._refuse("unknown key", "Invalid grant: account not found")
        try:
            claims = jwt.decode(
                assertion,
                key.private_key.public_key(),
                algorithms=["RS256"],
                audience=GOOGLE_AUDIENCE,
                issuer=key.client_email,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.InvalidSignatureError:
            return self._refuse("bad signature", "Invalid JWT Signature.")
        except jwt.PyJWTError:
            return self._refuse("bad claims", "Invalid JWT: claims do not verify.")
        if CLOUD_PLATFORM not in str(claims.get("scope", "")).split():
            return 400, {"error": "invalid_scope"}
        token = "ya29.local-" + secrets.token_urlsafe(32)
        with self._lock:
            self.issued.append(Issued(key.client_email, token))
        return 200, {"access_token": token, "expires_in": self.lifetime, "token_type": "Bearer"}

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> OAuthTokenEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
