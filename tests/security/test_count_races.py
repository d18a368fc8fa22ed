"""The kept secret count stays exact when creates and deletes race (PostgreSQL)."""

from __future__ import annotations

import itertools

import pytest
from django.contrib.auth import get_user_model

from regsecrets.accounts.services import organization_create
from regsecrets.registry_secrets.models import Secret, SecretCount
from regsecrets.registry_secrets.services import secret_create, secret_delete
from tests.security.racing import at_once, postgresql_only

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]

_numbers = itertools.count(1)
DATA = {"username": "octocat", "password": "ghp_x"}


def _org():
    n = next(_numbers)
    owner = get_user_model().objects.create_user(username=f"counter{n}", password="x" * 20)
    return organization_create(name=f"Count {n}", slug=f"count-{n}", owner=owner)


def _create(org, name):
    return lambda: secret_create(organization=org, name=name, provider="github_registry", data=DATA)


def test_concurrent_creates_and_deletes_keep_the_count_exact():
    org = _org()
    doomed = [_create(org, f"doomed-{i}")() for i in range(4)]
    for round_no in range(5):
        calls = [_create(org, f"r{round_no}-{i}") for i in range(4)]
        if round_no < len(doomed):
            victim = doomed[round_no]
            calls += [lambda v=victim: secret_delete(secret=v)] * 2  # one deletes, one finds it gone
        outcomes = at_once(*calls)
        assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    actual = Secret.objects.filter(organization=org).count()
    assert actual == 4 + 5 * 4 - 4
    assert SecretCount.objects.get(organization=org).secrets == actual


def test_a_name_taken_by_a_concurrent_create_is_counted_once():
    org = _org()
    outcomes = at_once(_create(org, "same"), _create(org, "same"))
    assert sum(o.ok for o in outcomes) == 1
    assert SecretCount.objects.get(organization=org).secrets == 1
