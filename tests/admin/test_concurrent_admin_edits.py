"""Two admin edits of one secret at the same moment both land (the form's validation locks).

The change form asks secret_update_prepare to judge the input, which locks the row
before it reads the stored document; the lock lasts until the admin's transaction
ends with save_model's write. Real threads on PostgreSQL; SQLite serialises writers.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_create, secret_fields
from tests.registry_secrets.test_concurrent_edits import _run_together

ATTEMPTS = 20

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_admin_edits_of_username_and_password_both_land(org, superuser):
    if connection.vendor != "postgresql":
        pytest.skip("row locks race only on PostgreSQL (SQLite serialises writers)")
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(superuser)
    losses, statuses = [], []
    for attempt in range(ATTEMPTS):
        secret = secret_create(
            organization=org,
            name=f"race-{attempt}",
            provider="private_registry",
            data={"url": "registry.example.com", "username": "user-0", "password": "pw-0"},
        )
        url = reverse("admin:registry_secrets_secret_change", args=[secret.pk])
        user, password = f"user-{attempt}", f"pw-{attempt}"
        # The username form keeps the password empty (kept); the password form resends
        # the username it was shown, as a browser would.
        results = _run_together(
            lambda: (
                clients[0]
                .post(url, {"url": "registry.example.com", "username": user, "password": ""})
                .status_code
            ),
            lambda: (
                clients[1]
                .post(
                    url, {"url": "registry.example.com", "username": "user-0", "password": password}
                )
                .status_code
            ),
        )
        statuses.extend(results)
        fields = secret_fields(Secret.objects.get(pk=secret.pk))
        if fields["password"] != password:
            losses.append(attempt)
    assert statuses == [302] * (2 * ATTEMPTS), statuses
    assert losses == [], f"{len(losses)} of {ATTEMPTS} attempts lost the password change"
