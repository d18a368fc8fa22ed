"""Fixtures for credential health: a registry whose password can be changed.

The session registries of tests/verification never change; health needs one whose
htpasswd file is rewritten and which is restarted on the same port, as an operator
rotating a password would do.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from regsecrets.registry_secrets.services import secret_create
from tests.verification.conftest import (  # noqa: F401 - the registries are fixtures here too
    RunningRegistry,
    _missing,
    _start_registry,
    _stop_registry,
    htpasswd_registry,
    token_registry,
    wait_until_serving,
)


@dataclass
class MutableRegistry:
    """A docker-registry with Basic auth for alice whose password can be rotated."""

    running: RunningRegistry
    directory: Path

    @property
    def host(self) -> str:
        return self.running.host

    def set_password(self, password: str) -> None:
        """Rewrite htpasswd and restart the registry on the same port."""
        entry = subprocess.run(
            ["htpasswd", "-Bbn", "alice", password], check=True, capture_output=True, text=True
        ).stdout.strip()
        (self.directory / "htpasswd").write_text(entry + "\n")
        _stop_registry(self.running)
        with self.running.log.open("ab") as log_file:
            process = subprocess.Popen(
                [
                    shutil.which("docker-registry") or "/usr/bin/docker-registry",
                    "serve",
                    str(self.directory / "config.yml"),
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running.process = process
        wait_until_serving(self.running)


@pytest.fixture
def mutable_registry(tmp_path_factory) -> Iterator[MutableRegistry]:
    if shutil.which("htpasswd") is None:
        _missing("htpasswd is not installed (apt-get install apache2-utils)")
    directory = tmp_path_factory.mktemp("mutable-registry")
    entry = subprocess.run(
        ["htpasswd", "-Bbn", "alice", "alice-pw"], check=True, capture_output=True, text=True
    ).stdout.strip()
    (directory / "htpasswd").write_text(entry + "\n")
    running = _start_registry(
        directory,
        {"htpasswd": {"realm": "regsecrets-test", "path": str(directory / "htpasswd")}},
    )
    try:
        yield MutableRegistry(running, directory)
    finally:
        _stop_registry(running)


@pytest.fixture
def registry_settings(settings):
    """What an operator of self-hosted registries sets, plus in-process tasks."""

    def apply(*hosts: str) -> None:
        settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
        settings.REGSECRETS_INSECURE_REGISTRIES = frozenset(hosts)
        settings.REGSECRETS_VERIFY_TIMEOUT = 5.0

    settings.REGSECRETS_HEALTH_ALERT_AFTER = 2
    settings.REGSECRETS_BASE_URL = "https://regsecrets.example"
    return apply


@pytest.fixture
def make_secret(org, alice):
    def make(host: str, password: str = "alice-pw", name: str = "self-hosted", **extra):
        return secret_create(
            organization=org,
            name=name,
            provider="private_registry",
            data={"url": host, "username": "alice", "password": password},
            actor=alice,
            **extra,
        )

    return make
