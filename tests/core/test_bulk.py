"""update_rows: each row gets its own object's values, NULLs and dates included, in
one statement, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regsecrets.core.bulk import update_rows
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_create

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_in_one_statement(org, alice):
    secrets = [
        secret_create(
            organization=org,
            name=f"bulk-{n}",
            provider="private_registry",
            data={"url": "registry.example.com", "username": "alice", "password": "pw"},
            actor=alice,
        )
        for n in range(3)
    ]
    untouched = secret_create(
        organization=org,
        name="untouched",
        provider="private_registry",
        data={"url": "registry.example.com", "username": "alice", "password": "pw"},
        actor=alice,
    )
    when = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    for n, secret in enumerate(secrets):
        secret.health_code = f"CODE{n}"
        secret.consecutive_failures = n
        secret.checked_at = None if n == 0 else when + datetime.timedelta(hours=n)
        secret.expiry_alerted_for = datetime.date(2030, 1, n + 1)
        secret.health_reason = "it's 100% \"quoted\""
    fields = ["health_code", "consecutive_failures", "checked_at", "expiry_alerted_for",
              "health_reason"]
    with CaptureQueriesContext(connection) as queries:
        assert update_rows(Secret, secrets, fields) == 3
    assert len(queries) == 1
    stored = {s.pk: s for s in Secret.objects.all()}
    for n, secret in enumerate(secrets):
        row = stored[secret.pk]
        assert (row.health_code, row.consecutive_failures, row.expiry_alerted_for) == (
            f"CODE{n}", n, datetime.date(2030, 1, n + 1),
        )
        assert row.checked_at == secret.checked_at
        assert row.health_reason == "it's 100% \"quoted\""
    assert stored[untouched.pk].health_code == ""
    assert update_rows(Secret, [], fields) == 0
