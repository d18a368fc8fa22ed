"""A minted token logs in and pulls from a real docker-registry (Debian's, on loopback).

How the registry learns the token: ECR and Google's registries accept the minted
token as the Basic password of a fixed user (``AWS``, ``oauth2accesstoken``). The
test mints first, writes those pairs into the registry's htpasswd file and then
starts the registry (docker-registry reads htpasswd when it starts), so the
registry accepts exactly the tokens moto and the local OAuth endpoint handed out
and nothing else. This was chosen over running the registry in token mode because
in token mode the registry never sees the password (the token server does), which
would test our token server instead of the minted token; htpasswd also gives the
Basic flow ECR itself uses. The checks are the verification client's own
(``check_credentials``, ``check_image``), reached at the registry's loopback address
rather than the ECR/GCR host, which cannot be served locally.
"""

from __future__ import annotations

import json

import pytest

from regsecrets.registries import Credential
from regsecrets.registries.client import check_credentials, check_image
from regsecrets.registry_secrets.minting import secret_token
from regsecrets.registry_secrets.services import secret_create
from tests.minting.conftest import make_ecr_secret
from tests.verification.conftest import docker_config, options_for

pytestmark = [pytest.mark.registry, pytest.mark.django_db]


def test_a_minted_ecr_token_logs_in_and_pulls(aws_env, org, registry_for):
    token = secret_token(secret=make_ecr_secret(org, aws_env.puller))
    registry = registry_for((token.username, token.password))
    options = options_for(registry.host)

    login = check_credentials(
        registry.host,
        Credential(registry.host, token.username, token.password),
        options=options,
    )
    assert login.success, login.reason
    pull = check_image(
        f"{registry.host}/team/app:v1",
        docker_config(registry.host, token.username, token.password),
        options=options,
    )
    assert pull.success, pull.reason


def test_the_long_lived_key_is_not_what_the_registry_accepts(aws_env, org, registry_for):
    token = secret_token(secret=make_ecr_secret(org, aws_env.puller))
    registry = registry_for((token.username, token.password))
    stale = check_credentials(
        registry.host,
        Credential(registry.host, token.username, aws_env.puller.secret_access_key),
        options=options_for(registry.host),
    )
    assert not stale.success
    assert stale.code == "AUTH_ACCESS_DENIED"


def test_a_minted_gcp_access_token_logs_in_and_pulls(
    org, alice, settings, oauth_endpoint, service_account, registry_for
):
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    secret = secret_create(
        organization=org,
        name="gcr",
        provider="gcp",
        data={
            "url": "gcr.io",
            "keyfile_content": json.dumps(service_account.key_file(oauth_endpoint.token_uri)),
        },
        actor=alice,
    )
    token = secret_token(secret=secret)
    registry = registry_for((token.username, token.password))
    pull = check_image(
        f"{registry.host}/team/app:v1",
        docker_config(registry.host, "oauth2accesstoken", token.password),
        options=options_for(registry.host),
    )
    assert pull.success, pull.reason
