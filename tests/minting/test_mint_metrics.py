"""Token mints in the metrics: counted where they reach the token service, by
provider and code, never by secret; a failed mint is also the check's code."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from prometheus_client import REGISTRY

from regsecrets.registries.minting import MintingError
from regsecrets.registry_secrets.minting import secret_token
from regsecrets.registry_secrets.services import secret_create
from regsecrets.registry_secrets.verification import check_stored_secret

GCP = "gcp_container_registry"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def gcp_secret(org, alice, oauth_endpoint, service_account):
    def make(name: str):
        key_file = service_account.key_file(oauth_endpoint.token_uri)
        return secret_create(
            organization=org,
            name=name,
            provider="gcp",
            data={"url": "gcr.io", "keyfile_content": json.dumps(key_file)},
            actor=alice,
        )

    return make


@pytest.mark.django_db
def test_a_mint_is_counted_once_and_a_cached_token_not_again(settings, gcp_secret, alice):
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True  # the endpoint is on loopback
    secret = gcp_secret("gcr")
    before = sample("regsecrets_token_mints_total", provider=GCP, code="OK")
    secret_token(secret=secret, actor=alice)
    secret_token(secret=secret, actor=alice)  # served from the cache
    assert sample("regsecrets_token_mints_total", provider=GCP, code="OK") == before + 1


@pytest.mark.django_db
def test_a_refused_mint_is_counted_with_its_code_and_is_the_checks_result(settings, gcp_secret):
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = False  # a loopback token_uri is refused
    secret = gcp_secret("gcr-refused")
    with pytest.raises(MintingError) as refused:
        secret_token(secret=secret)
    code = refused.value.code
    assert code == "MINT_FORBIDDEN_ENDPOINT"
    minted = sample("regsecrets_token_mints_total", provider=GCP, code=code)
    checked = sample("regsecrets_verifications_total", check="credentials", code=code)
    cache.clear()  # the failure is shared for 10 s; mint again for the check
    [host_check] = check_stored_secret(secret)
    assert host_check.result.code == code
    assert sample("regsecrets_token_mints_total", provider=GCP, code=code) == minted + 1
    assert sample("regsecrets_verifications_total", check="credentials", code=code) == checked + 1
