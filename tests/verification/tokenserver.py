"""A tiny distribution token server (docs/spec/auth/token.md) for tests.

It signs ES256 JWTs whose ``x5c`` header carries a self-signed certificate; the
registry under test trusts that certificate through ``auth.token.rootcertbundle``.
Like Docker Hub, it honours the requested scope and answers a repository the account
may not pull with a token whose access list is empty (the registry then says
``insufficient_scope``), and it refuses wrong passwords with 401.
"""

from __future__ import annotations

import base64
import datetime
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ISSUER = "regsecrets-test-issuer"
SERVICE = "regsecrets-test-registry"


@dataclass
class Grants:
    """Who may do what: passwords, per-repository actions, refresh tokens."""

    passwords: dict[str, str] = field(default_factory=dict)
    # account ("" for anonymous) -> repository -> allowed actions
    access: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # token -> account

    def allowed(self, account: str, repository: str) -> set[str]:
        return set(self.access.get(account, {}).get(repository, set()))


@dataclass
class SigningKey:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def generate(cls) -> SigningKey:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "regsecrets test token signer")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, claims: dict) -> str:
        x5c = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"x5c": [x5c]})


class TokenServer:
    """Runs on a loopback port in a daemon thread; records every request it gets."""

    def __init__(self, grants: Grants, signing: SigningKey, host: str = "127.0.0.1") -> None:
        self.grants = grants
        self.signing = signing
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                server.requests.append(
                    {
                        "method": "GET",
                        "path": parts.path,
                        "query": query,
                        "authorization": self.headers.get("Authorization"),
                    }
                )
                account = server.basic_account(self.headers.get("Authorization"))
                if account is None:
                    return self.reply(401, {"details": "wrong credentials"})
                scopes = query.get("scope", [])
                self.reply(200, server.issue(account, query.get("service", [""])[0], scopes))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                server.requests.append(
                    {
                        "method": "POST",
                        "path": self.path,
                        "form": form,
                        "authorization": self.headers.get("Authorization"),
                    }
                )
                if form.get("grant_type") != ["refresh_token"]:
                    return self.reply(400, {"error": "unsupported_grant_type"})
                account = server.grants.refresh_tokens.get(form.get("refresh_token", [""])[0])
                if account is None:
                    return self.reply(401, {"error": "invalid_grant"})
                issued = server.issue(account, form.get("service", [""])[0], form.get("scope", []))
                self.reply(200, {"access_token": issued["access_token"], "expires_in": 300})

            def reply(self, status: int, document: dict) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.realm = f"http://{host}:{self.port}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> TokenServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def basic_account(self, header: str | None) -> str | None:
        """The authenticated account, "" for anonymous, None for wrong credentials."""
        if not header:
            return ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        if self.grants.passwords.get(username) != password:
            return None
        return username

    def issue(self, account: str, service: str, scopes: list[str]) -> dict:
        access = []
        for scope_string in scopes:
            for scope in scope_string.split(" "):
                kind, _, rest = scope.partition(":")
                name, _, actions = rest.rpartition(":")
                if kind != "repository" or not name:
                    continue
                granted = sorted(set(actions.split(",")) & self.grants.allowed(account, name))
                if granted:
                    access.append({"type": "repository", "name": name, "actions": granted})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": account,
            "aud": service or SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        token = self.signing.sign(claims)
        return {"token": token, "access_token": token, "expires_in": 300}
