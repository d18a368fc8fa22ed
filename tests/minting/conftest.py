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
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import httpx
import pytest

from regsecrets.crypto.fields import seal_document
from regsecrets.registry_secrets.minting import AWS_ECR_PROVIDER
from regsecrets.registry_secrets.models import Secret
from tests.minting.oauth_endpoint import OAuthTokenEndpoint, ServiceAccountKey
from tests.verification.conftest import (  # noqa: F401 (fixtures)
    free_port,
    scripted_server,
    silent_server,
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


def make_ecr_secret(org, key, **extra) -> Secret:
    """An ECR secret row as the coming aws-ecr provider will store it."""
    fields = {
        "access_key_id": key.access_key_id,
        "secret_access_key": key.secret_access_key,
        "region": REGION,
        "registry_id": REGISTRY_ID,
        "role_arn": "",
        **extra,
    }
    host = f"{REGISTRY_ID}.dkr.ecr.{REGION}.amazonaws.com"
    secret = Secret(
        organization=org, name=f"ecr-{Secret.objects.count()}", provider=AWS_ECR_PROVIDER
    )
    secret.hosts = [host]
    secret.username = "AWS"
    seal_document(
        secret, "document", {"provider": AWS_ECR_PROVIDER, "fields": fields, "config": {}}
    )
    secret.save()
    return secret
