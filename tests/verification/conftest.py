"""Fixtures that run Debian's docker-registry on loopback, and small fake servers.

Real components over mocks: the verification client is checked against the same
registry code base Docker Hub grew out of (distribution 2.8), once with htpasswd (Basic)
auth and once with token (Bearer) auth against ``tokenserver.py``. Each registry gets a
free port, a temporary config and storage, and is killed at teardown; the package's
system service and port 5000 are never touched.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from regsecrets.registries.client import ClientOptions

try:  # tests/ as a package or as rootdir-relative modules: both work
    from .tokenserver import ISSUER, SERVICE, Grants, SigningKey, TokenServer
except ImportError:
    from tokenserver import ISSUER, SERVICE, Grants, SigningKey, TokenServer

REGISTRY_BINARY = "/usr/bin/docker-registry"


def _missing(reason: str) -> None:
    """Skip locally, but fail under CI, where a skipped registry test hides a gap."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true, so this is an error, not a skip)")
    pytest.skip(reason)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------ real registry


@dataclass
class RunningRegistry:
    host: str  # "127.0.0.1:PORT"
    process: subprocess.Popen
    log: Path
    extra: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://{self.host}"


def _start_registry(tmp: Path, auth: dict) -> RunningRegistry:
    binary = shutil.which("docker-registry") or REGISTRY_BINARY
    if not os.path.exists(binary):
        _missing("docker-registry is not installed (apt-get install docker-registry)")
    port = free_port()
    (tmp / "storage").mkdir()
    config = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(tmp / "storage")}},
        # No "debug" section: no second listener to collide with anything.
        "http": {"addr": f"127.0.0.1:{port}", "secret": "regsecrets-test-secret"},
        "auth": auth,
    }
    config_path = tmp / "config.yml"
    config_path.write_text(json.dumps(config))  # JSON is YAML: no PyYAML needed
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    log = tmp / "registry.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [binary, "serve", str(config_path)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    running = RunningRegistry(f"127.0.0.1:{port}", process, log)
    try:
        wait_until_serving(running)
    except RuntimeError:
        _stop_registry(running)
        raise
    return running


def wait_until_serving(running: RunningRegistry, seconds: float = 20) -> None:
    """Return once the registry answers /v2/; RuntimeError with its log if it exits or
    does not answer within ``seconds`` (a start, or a restart on the same port)."""
    deadline = time.monotonic() + seconds
    while True:
        if running.process.poll() is not None:
            raise RuntimeError(f"docker-registry exited:\n{running.log.read_text()}")
        try:
            httpx.get(f"{running.base}/v2/", timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"docker-registry did not answer:\n{running.log.read_text()}")
            time.sleep(0.05)


def _stop_registry(running: RunningRegistry) -> None:
    if running.process.poll() is None:
        running.process.terminate()
        try:
            running.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait(timeout=5)


def _blob(data: bytes) -> tuple[str, bytes]:
    return "sha256:" + hashlib.sha256(data).hexdigest(), data


def _tiny_layer() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        content = b"hello from regsecrets\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def push_image(base: str, name: str, tags: list[str], authorization: str) -> None:
    """Push a one-layer image through the Registry HTTP API v2 (no docker client).

    The first tag gets a Docker v2 manifest, any further tag an OCI manifest, so both
    media types of the Accept list are exercised.
    """
    layer_tar = _tiny_layer()
    layer_raw = gzip.decompress(layer_tar)
    config_doc = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(layer_raw).hexdigest()],
            },
        }
    ).encode()
    headers = {"Authorization": authorization}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        descriptors = []
        for data in (config_doc, layer_tar):
            digest, body = _blob(data)
            start = client.post(f"/v2/{name}/blobs/uploads/")
            assert start.status_code == 202, start.text
            location = start.headers["Location"]
            separator = "&" if "?" in location else "?"
            done = client.put(
                f"{location}{separator}digest={digest}",
                content=body,
                headers={"Content-Type": "application/octet-stream"},
            )
            assert done.status_code == 201, done.text
            descriptors.append((digest, len(body)))
        (config_digest, config_size), (layer_digest, layer_size) = descriptors
        for index, tag in enumerate(tags):
            if index == 0:
                manifest_type = "application/vnd.docker.distribution.manifest.v2+json"
                config_type = "application/vnd.docker.container.image.v1+json"
                layer_type = "application/vnd.docker.image.rootfs.diff.tar.gzip"
            else:
                manifest_type = "application/vnd.oci.image.manifest.v1+json"
                config_type = "application/vnd.oci.image.config.v1+json"
                layer_type = "application/vnd.oci.image.layer.v1.tar+gzip"
            manifest = {
                "schemaVersion": 2,
                "mediaType": manifest_type,
                "config": {"mediaType": config_type, "size": config_size, "digest": config_digest},
                "layers": [{"mediaType": layer_type, "size": layer_size, "digest": layer_digest}],
            }
            put = client.put(
                f"/v2/{name}/manifests/{tag}",
                content=json.dumps(manifest).encode(),
                headers={"Content-Type": manifest_type},
            )
            assert put.status_code == 201, put.text


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def docker_config(server: str, username: str, password: str, **extra: str) -> dict:
    entry = {
        "username": username,
        "password": password,
        "auth": base64.b64encode(f"{username}:{password}".encode()).decode(),
    }
    entry.update(extra)
    return {"auths": {server: entry}}


@pytest.fixture(scope="session")
def htpasswd_registry(tmp_path_factory) -> Iterator[RunningRegistry]:
    """docker-registry with Basic auth; alice/alice-pw; team/app:v1 (v2) and :oci."""
    htpasswd = shutil.which("htpasswd")
    if htpasswd is None:
        _missing("htpasswd is not installed (apt-get install apache2-utils)")
    tmp = tmp_path_factory.mktemp("htpasswd-registry")
    entry = subprocess.run(
        [htpasswd, "-Bbn", "alice", "alice-pw"], check=True, capture_output=True, text=True
    ).stdout.strip()
    (tmp / "htpasswd").write_text(entry + "\n")
    running = _start_registry(
        tmp, {"htpasswd": {"realm": "regsecrets-test", "path": str(tmp / "htpasswd")}}
    )
    try:
        push_image(running.base, "team/app", ["v1", "oci"], basic_header("alice", "alice-pw"))
        yield running
    finally:
        _stop_registry(running)


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory) -> Iterator[RunningRegistry]:
    """docker-registry with token auth against tokenserver.TokenServer.

    Accounts: alice/alice-pw may pull team/app only (team/private exists but is not
    granted); anonymous may pull public/hello; refresh token "alice-refresh" logs in
    as alice; admin pushes everything.
    """
    tmp = tmp_path_factory.mktemp("token-registry")
    signing = SigningKey.generate()
    (tmp / "root.pem").write_bytes(signing.cert_pem())
    everything = {"pull", "push"}
    grants = Grants(
        passwords={"alice": "alice-pw", "admin": "admin-pw"},
        access={
            "alice": {"team/app": {"pull"}},
            "": {"public/hello": {"pull"}},
            "admin": {
                "team/app": everything,
                "team/private": everything,
                "public/hello": everything,
            },
        },
        refresh_tokens={"alice-refresh": "alice"},
    )
    with TokenServer(grants, signing) as tokens:
        running = _start_registry(
            tmp,
            {
                "token": {
                    "realm": tokens.realm,
                    "service": SERVICE,
                    "issuer": ISSUER,
                    "rootcertbundle": str(tmp / "root.pem"),
                }
            },
        )
        running.extra["tokens"] = tokens
        try:
            for name in ("team/app", "team/private", "public/hello"):
                token = tokens.issue("admin", SERVICE, [f"repository:{name}:pull,push"])["token"]
                push_image(running.base, name, ["v1"], f"Bearer {token}")
            yield running
        finally:
            _stop_registry(running)


def options_for(*hosts: str, timeout: float = 5.0) -> ClientOptions:
    """Options a self-hosted operator would set: private allowed, these hosts on HTTP."""
    return ClientOptions(timeout=timeout, allow_private=True, insecure_registries=frozenset(hosts))


@pytest.fixture(name="docker_config", scope="session")
def _docker_config_fixture() -> Callable[..., dict]:
    return docker_config


@pytest.fixture(name="options_for", scope="session")
def _options_for_fixture() -> Callable[..., ClientOptions]:
    return options_for


@pytest.fixture(scope="session")
def htpasswd_options(htpasswd_registry) -> ClientOptions:
    return options_for(htpasswd_registry.host)


@pytest.fixture(scope="session")
def token_options(token_registry) -> ClientOptions:
    tokens = token_registry.extra["tokens"]
    return options_for(token_registry.host, f"127.0.0.1:{tokens.port}")


# ------------------------------------------------------------------- fake servers


Responder = Callable[[BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes]]


class ScriptedServer:
    """An HTTP server whose answers a test scripts; records method, path, headers and
    the client's address (one per connection). ``keep_alive`` answers HTTP/1.1 and
    keeps connections open between requests, as real registries do."""

    def __init__(
        self, responder: Responder, host: str = "127.0.0.1", keep_alive: bool = False
    ) -> None:
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def log_message(self, format, *args):
                pass

            def handle_any(self):
                server.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "peer": self.client_address,
                    }
                )
                status, headers, body = responder(self)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = handle_any

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.host = f"{host}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted_server() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def make(
        responder: Responder, host: str = "127.0.0.1", keep_alive: bool = False
    ) -> ScriptedServer:
        server = ScriptedServer(responder, host, keep_alive)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


class ConnectionGauge:
    """Counts connections open at once, across any number of servers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = 0
        self.max_open = 0
        self.total = 0

    def opened(self) -> None:
        with self._lock:
            self.open += 1
            self.total += 1
            self.max_open = max(self.max_open, self.open)

    def closed(self) -> None:
        with self._lock:
            self.open -= 1


class SilentServer:
    """Accepts connections and never answers: the registry that hangs.

    It reads (and ignores) what clients send until they hang up, so its gauge (shared
    with other servers when given) knows how many connections are open at once: what
    a cap on outbound checks limits.
    """

    def __init__(self, gauge: ConnectionGauge | None = None) -> None:
        self.gauge = gauge or ConnectionGauge()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)
            self.gauge.opened()
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket) -> None:
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass
        finally:
            self.gauge.closed()

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes the drain thread
            conn.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def silent_servers() -> Iterator[Callable[..., list[SilentServer]]]:
    """Make ``n`` hanging registries, each on its own port, sharing one gauge."""
    made: list[SilentServer] = []

    def make(n: int, gauge: ConnectionGauge | None = None) -> list[SilentServer]:
        gauge = gauge or ConnectionGauge()
        servers = [SilentServer(gauge) for _ in range(n)]
        made.extend(servers)
        return servers

    yield make
    for server in made:
        server.close()
