"""Real token services on loopback: moto's AWS server (ECR, STS, IAM) and an OAuth2 endpoint.

moto's server is a working implementation of the AWS APIs over HTTP; boto3 reaches it
through the standard endpoint overrides (AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS),
exactly as an operator would point it at a VPC endpoint. IAM authentication is
switched on after the principals are created (moto's /moto-api/reset-auth), so an
unknown key, a wrong secret and a missing permission are refused by the server, as
AWS refuses them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
import pytest

from regsecrets.crypto.fields import seal_document
from regsecrets.registries import get_provider
from regsecrets.registries.minting import mint_ecr_token
from regsecrets.registry_secrets.models import Secret
from tests.minting.oauth_endpoint import OAuthTokenEndpoint, ServiceAccountKey
from tests.verification.conftest import (  # noqa: F401 (fixtures)
    RunningRegistry,
    _missing,
    _start_registry,
    _stop_registry,
    basic_header,
    free_port,
    push_image,
    scripted_server,
    silent_server,
    wait_until_serving,
)

ACCOUNT = "123456789012"  # moto's account
REGISTRY_ID = "210987654321"  # the registry a secret pulls from (another account)
REGION = "eu-west-1"
ROLE_NAME = "ecr-pull"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
ECR_PULL_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken", "ecr:BatchGetImage"],
            "Resource": "*",
        }
    ],
}
ASSUME_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}],
}
# The role trusts hopper alone: moto checks the trust policy, as AWS does.
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/hopper"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass(frozen=True)
class AwsKey:
    access_key_id: str
    secret_access_key: str


@dataclass
class MotoServer:
    url: str
    process: subprocess.Popen
    puller: AwsKey  # may call ecr:GetAuthorizationToken
    hopper: AwsKey  # may only assume ROLE_ARN, which may call ECR
    nobody: AwsKey  # a valid key without any permission


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError("moto server exited early")
        try:
            httpx.get(f"{url}/moto-api/data.json", timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError("moto server did not start")
            time.sleep(0.05)


def _principals(url: str) -> tuple[AwsKey, AwsKey, AwsKey]:
    iam = boto3.client(
        "iam",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIASETUPSETUPSETUP0",
        aws_secret_access_key="setup",
    )
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))
    iam.put_role_policy(
        RoleName=ROLE_NAME, PolicyName="pull", PolicyDocument=json.dumps(ECR_PULL_POLICY)
    )
    keys = []
    for user, policy in (("puller", ECR_PULL_POLICY), ("hopper", ASSUME_POLICY), ("nobody", None)):
        iam.create_user(UserName=user)
        if policy is not None:
            iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys.append(AwsKey(key["AccessKeyId"], key["SecretAccessKey"]))
    return keys[0], keys[1], keys[2]


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory) -> Iterator[MotoServer]:
    """``python -m moto.server`` on a free loopback port, with IAM authentication on."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process)
        puller, hopper, nobody = _principals(url)
        # From here on every request is authenticated and authorized against IAM.
        httpx.post(f"{url}/moto-api/reset-auth", content=b"0", timeout=5).raise_for_status()
        yield MotoServer(url, process, puller, hopper, nobody)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def aws_env(monkeypatch, moto_server, tmp_path) -> MotoServer:
    """Point boto3 at moto with the service-specific overrides; no real AWS setup leaks in.

    The ambient credentials are dummies: the engine must use the key it is given.
    """
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", moto_server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIADUMMYDUMMYDUMMY0")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "dummy-not-used")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return moto_server


@pytest.fixture
def oauth_endpoint() -> Iterator[OAuthTokenEndpoint]:
    with OAuthTokenEndpoint() as endpoint:
        yield endpoint


@pytest.fixture
def service_account(oauth_endpoint) -> ServiceAccountKey:
    """A key the local endpoint knows; ``key_file(oauth_endpoint.token_uri)`` is its JSON."""
    return oauth_endpoint.new_key()


def stored_secret(org, slug: str, data: dict, *, host: str | None = None, name: str = "") -> Secret:
    """A secret row exactly as its provider stores it (validated, sealed, saved).

    With ``host``, the registry host is replaced by a local docker-registry standing
    in for the cloud one: ACCOUNT.dkr.ecr.REGION.amazonaws.com and gcr.io cannot be
    served on loopback. Everything else (fields, the stored login or its absence,
    the clear columns) is the provider's.
    """
    provider = get_provider(slug)
    result = provider.validate(data)
    hosts, config = list(result.hosts), result.config
    if host is not None:
        [entry] = config["auths"].values()
        hosts, config = [host], {"auths": {host: entry}}
    secret = Secret(
        organization=org,
        name=name or f"{slug}-{Secret.objects.count()}",
        provider=provider.key,
        hosts=hosts,
        username=result.username,
    )
    seal_document(
        secret, "document", {"provider": provider.key, "fields": result.fields, "config": config}
    )
    secret.save()
    return secret


def ecr_input(key, **extra) -> dict:
    """The aws-ecr provider's form input for ``key`` and the test registry."""
    return {
        "access_key_id": key.access_key_id,
        "secret_access_key": key.secret_access_key,
        "region": REGION,
        "registry_id": REGISTRY_ID,
        "role_arn": "",
        **extra,
    }


def make_ecr_secret(org, key, *, host: str | None = None, **extra) -> Secret:
    """An ECR secret row as the aws-ecr provider stores it (see ``stored_secret``)."""
    return stored_secret(org, "aws-ecr", ecr_input(key, **extra), host=host)


def make_gcp_secret(org, key_file: dict, *, host: str | None = None) -> Secret:
    """A GCP secret row as the gcp provider stores it (see ``stored_secret``)."""
    return stored_secret(
        org, "gcp", {"url": "gcr.io", "keyfile_content": json.dumps(key_file)}, host=host
    )


def htpasswd_line(user: str, password: str) -> str:
    htpasswd = shutil.which("htpasswd")
    if htpasswd is None:
        _missing("htpasswd is not installed (apt-get install apache2-utils)")
    return subprocess.run(
        [htpasswd, "-Bbn", user, password], check=True, capture_output=True, text=True
    ).stdout.strip()


def start_registry_for(directory: Path, *logins: tuple[str, str]) -> RunningRegistry:
    """A docker-registry whose htpasswd holds exactly ``logins``, with team/app:v1 pushed."""
    directory.mkdir()
    (directory / "htpasswd").write_text("\n".join(htpasswd_line(*login) for login in logins) + "\n")
    running = _start_registry(
        directory, {"htpasswd": {"realm": "regsecrets-test", "path": str(directory / "htpasswd")}}
    )
    running.extra["directory"] = directory
    user, password = logins[0]
    push_image(running.base, "team/app", ["v1"], basic_header(user, password))
    return running


def restart_with_logins(running: RunningRegistry, *logins: tuple[str, str]) -> None:
    """Rewrite the registry's htpasswd and restart it on the same port and storage: for
    a login that can only be minted once the registry's host is known."""
    directory = running.extra["directory"]
    (directory / "htpasswd").write_text("\n".join(htpasswd_line(*login) for login in logins) + "\n")
    _stop_registry(running)
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    with running.log.open("ab") as log_file:
        running.process = subprocess.Popen(
            [binary, "serve", str(directory / "config.yml")],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_until_serving(running)


@pytest.fixture
def registry_for(tmp_path):
    """Start a docker-registry whose htpasswd holds the given (user, password) pairs.

    docker-registry reads htpasswd when it starts, so the test mints first and the
    registry then accepts exactly those tokens.
    """
    started = []

    def start(*logins: tuple[str, str]) -> RunningRegistry:
        running = start_registry_for(tmp_path / f"registry-{len(started)}", *logins)
        started.append(running)
        return running

    yield start
    for running in started:
        _stop_registry(running)


@pytest.fixture(scope="module")
def ecr_registry(moto_server, tmp_path_factory) -> Iterator[RunningRegistry]:
    """A docker-registry standing in for REGISTRY_ID's ECR registry: its htpasswd holds
    the login moto mints for that registry (``AWS`` and the token), learnt by minting
    once with the engine; the app's own mints then get the same token from moto."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                patch.delenv(name)
        patch.setenv("AWS_ENDPOINT_URL", moto_server.url)
        token = mint_ecr_token(
            access_key_id=moto_server.puller.access_key_id,
            secret_access_key=moto_server.puller.secret_access_key,
            region=REGION,
            registry_id=REGISTRY_ID,
        )
    running = start_registry_for(
        tmp_path_factory.mktemp("ecr") / "registry", (token.username, token.password)
    )
    running.extra["token"] = token.password
    try:
        yield running
    finally:
        _stop_registry(running)


@pytest.fixture
def local_registries(settings):
    """What an operator of self-hosted registries sets: loopback allowed, these hosts
    over plain HTTP (the local stand-ins), and a short verification timeout."""

    def allow(*hosts: str) -> None:
        settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
        settings.REGSECRETS_INSECURE_REGISTRIES = frozenset(hosts)
        settings.REGSECRETS_VERIFY_TIMEOUT = 5.0

    return allow
