"""Bench: one registry check against a minimal client making the same requests.

Against Debian's docker-registry on loopback (htpasswd, Basic auth), it times

* ``check_credentials`` (GET /v2/ -> 401, GET /v2/ with Basic -> 200) and
* ``check_image`` (GET /v2/ -> 401, HEAD the manifest with Basic -> 200)

through the verification client (outbound guard, deadline, size cap, URL policy,
concurrency slot, result mapping), against a minimal client: one persistent
``httpx.Client`` sending the same requests and reading the status codes. With
``--tls`` both talk HTTPS to the registry (a throwaway CA that both trust).

Rounds are paired: each round times the client then the minimal client on the same
number of checks; the ratio is the median of the per-round ratios (goal: at most
1.5x). The machine is shared, so read medians, not single rounds.

    .venv/bin/python bench/registry_check.py [--checks 300] [--rounds 7] [--tls]
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from regsecrets.registries import credential_for_key  # noqa: E402
from regsecrets.registries.client import (  # noqa: E402
    ClientOptions,
    check_credentials,
    check_image,
    transport,
)
from tests.verification.conftest import (  # noqa: E402
    _start_registry,
    _stop_registry,
    basic_header,
    docker_config,
    free_port,
    push_image,
)

USER, PASSWORD = "alice", "alice-pw"


def _certificate(tmp: Path) -> Path:
    """A self-signed certificate for 127.0.0.1, written as cert.pem and key.pem."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench registry")])
    now = datetime.datetime.now(datetime.UTC)

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return tmp / "cert.pem"


def start(tmp: Path, tls: bool):
    """docker-registry with htpasswd auth and team/app:v1 pushed; (registry, base URL)."""
    entry = subprocess.run(
        [shutil.which("htpasswd") or "htpasswd", "-Bbn", USER, PASSWORD],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (tmp / "htpasswd").write_text(entry + "\n")
    auth = {"htpasswd": {"realm": "bench", "path": str(tmp / "htpasswd")}}
    if not tls:
        registry = _start_registry(tmp, auth)
        push_image(registry.base, "team/app", ["v1"], basic_header(USER, PASSWORD))
        return registry, registry.base
    # The fixture starts a plain-HTTP registry; for TLS write the config by hand.
    cert = _certificate(tmp)
    port = free_port()
    (tmp / "storage").mkdir()
    config = {
        "version": 0.1,
        "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(tmp / "storage")}},
        "http": {
            "addr": f"127.0.0.1:{port}",
            "secret": "bench",
            "tls": {"certificate": str(cert), "key": str(tmp / "key.pem")},
        },
        "auth": auth,
    }
    (tmp / "config.yml").write_text(json.dumps(config))
    process = subprocess.Popen(
        [shutil.which("docker-registry") or "/usr/bin/docker-registry", "serve", str(tmp / "config.yml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"https://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=str(cert))
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{base}/v2/", verify=context, timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit("the TLS registry did not start")
            time.sleep(0.05)
    class _Registry:
        host = f"127.0.0.1:{port}"

    _Registry.process = process  # type: ignore[attr-defined]
    push_image_tls(base, context)
    return _Registry, base


def push_image_tls(base: str, context: ssl.SSLContext) -> None:
    original = httpx.Client.__init__

    def patched(self, *args, **kwargs):
        kwargs.setdefault("verify", context)
        original(self, *args, **kwargs)

    httpx.Client.__init__ = patched  # type: ignore[method-assign]
    try:
        push_image(base, "team/app", ["v1"], basic_header(USER, PASSWORD))
    finally:
        httpx.Client.__init__ = original  # type: ignore[method-assign]


def ours(host: str, options: ClientOptions, n: int) -> float:
    credential = credential_for_key(docker_config(host, USER, PASSWORD), host)
    config = docker_config(host, USER, PASSWORD)
    start = time.perf_counter()
    for i in range(n):
        if i % 2:
            result = check_image(f"{host}/team/app:v1", config, options=options)
        else:
            result = check_credentials(host, credential, options=options)
        if not result.success:
            raise SystemExit(f"check failed: {result}")
    return (time.perf_counter() - start) / n


def minimal(client: httpx.Client, base: str, n: int) -> float:
    auth = {"Authorization": basic_header(USER, PASSWORD)}
    manifest_accept = {
        "Accept": "application/vnd.docker.distribution.manifest.v2+json",
        **auth,
    }
    start = time.perf_counter()
    for i in range(n):
        if client.get(f"{base}/v2/").status_code != 401:
            raise SystemExit("minimal client: expected a challenge")
        if i % 2:
            status = client.head(f"{base}/v2/team/app/manifests/v1", headers=manifest_accept).status_code
        else:
            status = client.get(f"{base}/v2/", headers=auth).status_code
        if status != 200:
            raise SystemExit(f"minimal client: HTTP {status}")
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=300, help="checks per measurement")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tls", action="store_true", help="talk HTTPS to the registry")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        registry, base = start(Path(tmp), args.tls)
        try:
            host = registry.host
            if args.tls:
                # Both clients trust the throwaway CA; the verification client's
                # process-wide context is replaced by one that trusts it.
                context = ssl.create_default_context(cafile=str(Path(tmp) / "cert.pem"))
                transport.tls_context = lambda: context  # type: ignore[assignment]
                options = ClientOptions(allow_private=True)
                client = httpx.Client(verify=context)
            else:
                options = ClientOptions(allow_private=True, insecure_registries=frozenset({host}))
                client = httpx.Client()
            ours(host, options, 20)  # warm-up
            minimal(client, base, 20)
            ratios, mine, bare = [], [], []
            for round_no in range(args.rounds):
                a = ours(host, options, args.checks)
                b = minimal(client, base, args.checks)
                mine.append(a)
                bare.append(b)
                ratios.append(a / b)
                print(
                    f"round {round_no + 1}: client {a * 1000:6.2f} ms/check  "
                    f"minimal {b * 1000:6.2f} ms/check  ratio {a / b:.2f}",
                    flush=True,
                )
            client.close()
            ratio = statistics.median(ratios)
            print()
            print(
                f"{'https' if args.tls else 'http'}: median client {statistics.median(mine) * 1000:.2f} ms, "
                f"minimal {statistics.median(bare) * 1000:.2f} ms per check; "
                f"median ratio {ratio:.2f} (goal <= 1.5)"
            )
            print("goal met" if ratio <= 1.5 else "GOAL NOT MET")
        finally:
            if args.tls:
                registry.process.kill()  # type: ignore[attr-defined]
                registry.process.wait()
            else:
                _stop_registry(registry)


if __name__ == "__main__":
    main()
