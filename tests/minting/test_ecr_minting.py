"""The ECR engine against moto's AWS server on loopback (no Django involved)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from regsecrets.registries.minting import (
    ECR_TOKEN_LIFETIME,
    MINT_DENIED,
    MINT_INVALID_KEY,
    MINT_TIMEOUT,
    MINT_UNREACHABLE,
    MintingError,
    ecr_host,
    mint_ecr_token,
)
from regsecrets.registries.minting.ecr import ROLE_SESSION_SECONDS
from tests.minting.conftest import ACCOUNT, REGION, REGISTRY_ID, ROLE_ARN
from tests.verification.conftest import free_port


def mint(key, **overrides):
    arguments = {
        "access_key_id": key.access_key_id,
        "secret_access_key": key.secret_access_key,
        "region": REGION,
        "registry_id": REGISTRY_ID,
        "timeout": 5.0,
    }
    arguments.update(overrides)
    return mint_ecr_token(**arguments)


def test_a_key_with_ecr_permission_mints_a_docker_login_for_its_registry(aws_env):
    before = datetime.now(UTC)
    token = mint(aws_env.puller)
    assert token.username == "AWS"
    # moto's password for a registry; what matters is that it came from the server.
    assert token.password == f"{REGISTRY_ID}-auth-token"
    assert token.host == f"{REGISTRY_ID}.dkr.ecr.{REGION}.amazonaws.com"
    # moto states a fixed expiry in 2015: the documented 12 hours apply instead.
    assert before <= token.issued_at <= datetime.now(UTC)
    assert token.expires_at == token.issued_at + ECR_TOKEN_LIFETIME


def test_the_generic_endpoint_override_works_too(aws_env, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_ECR")
    monkeypatch.delenv("AWS_ENDPOINT_URL_STS")
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env.url)
    assert mint(aws_env.puller).password == f"{REGISTRY_ID}-auth-token"


def test_with_a_role_the_key_assumes_it_and_the_token_ends_with_the_session(aws_env):
    # hopper may not call ECR itself; only the role it assumes may.
    with pytest.raises(MintingError) as denied:
        mint(aws_env.hopper)
    assert denied.value.code == MINT_DENIED
    token = mint(aws_env.hopper, role_arn=ROLE_ARN)
    assert token.password == f"{REGISTRY_ID}-auth-token"
    # The session's end (an hour, as asked), not ECR's 12 hours.
    session = timedelta(seconds=ROLE_SESSION_SECONDS)
    assert session - timedelta(minutes=1) < token.lifetime < session + timedelta(minutes=1)


def test_a_key_that_may_not_assume_the_role_is_denied_naming_the_permission(aws_env):
    with pytest.raises(MintingError) as caught:
        mint(aws_env.puller, role_arn=ROLE_ARN)
    assert caught.value.code == MINT_DENIED
    assert "sts:AssumeRole" in caught.value.reason
    assert ROLE_ARN in caught.value.reason


def test_a_key_without_ecr_permission_is_denied_naming_the_permission(aws_env):
    with pytest.raises(MintingError) as caught:
        mint(aws_env.nobody)
    assert caught.value.code == MINT_DENIED
    assert "ecr:GetAuthorizationToken" in caught.value.reason


def test_an_unknown_access_key_is_denied_clearly(aws_env):
    with pytest.raises(MintingError) as caught:
        mint(aws_env.puller, access_key_id="AKIANOSUCHKEYNOSUCH0")
    assert caught.value.code == MINT_DENIED
    assert "does not recognise the access key ID" in caught.value.reason


def test_a_wrong_secret_key_is_denied_clearly_and_never_quoted(aws_env):
    wrong = "wrong-secret-" + "x" * 27
    with pytest.raises(MintingError) as caught:
        mint(aws_env.puller, secret_access_key=wrong)
    assert caught.value.code == MINT_DENIED
    assert "secret access key" in caught.value.reason
    assert wrong not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("region", "eu-west-1.evil.example/", "region"),
        ("registry_id", "12345", "12-digit"),
        ("access_key_id", "not a key", "access key ID"),
        ("role_arn", "arn:aws:iam::123:user/x", "role ARN"),
        ("secret_access_key", "", "secret access key"),
    ],
)
def test_malformed_fields_are_refused_before_anything_is_sent(field, value, words):
    # No moto here: nothing may be sent, so no server is needed.
    with pytest.raises(MintingError) as caught:
        mint_ecr_token(
            **{
                "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "secret_access_key": "s",
                "region": REGION,
                "registry_id": ACCOUNT,
                field: value,
            }
        )
    assert caught.value.code == MINT_INVALID_KEY
    assert words in caught.value.reason


def test_an_unreachable_endpoint_fails_fast_with_mint_unreachable(aws_env, monkeypatch):
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", closed)
    started = time.monotonic()
    with pytest.raises(MintingError) as caught:
        mint(aws_env.puller, timeout=1.0)
    assert caught.value.code == MINT_UNREACHABLE
    assert "127.0.0.1" in caught.value.reason
    # One attempt, no retry storm: far below botocore's default of retries with backoff.
    assert time.monotonic() - started < 5


def test_an_endpoint_that_never_answers_times_out_after_one_attempt(
    aws_env, monkeypatch, silent_server
):
    monkeypatch.setenv("AWS_ENDPOINT_URL_ECR", f"http://{silent_server.host}")
    with pytest.raises(MintingError) as caught:
        mint(aws_env.puller, timeout=0.5)
    assert caught.value.code == MINT_TIMEOUT
    assert len(silent_server.accepted) == 1


def test_china_regions_have_their_own_domain():
    assert ecr_host(ACCOUNT, "cn-north-1") == f"{ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn"
    assert ecr_host(ACCOUNT, "us-east-1") == f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"


def test_the_minted_token_repr_hides_the_password(aws_env):
    token = mint(aws_env.puller)
    assert token.password not in repr(token)
    assert token.password not in str(token)
