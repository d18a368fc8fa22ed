"""Two concurrent edits of one secret both land: no lost update.

One edit sets the username, the other the password, at the same moment, each
starting from a copy of the secret loaded before the other saved (as every face
does). secret_update locks the row before it reads the stored document, so the
second edit merges over the first's result. Real threads on PostgreSQL; SQLite
serialises writers, so there is no race to show there.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client

from regsecrets.accounts.tokens import token_create
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_create, secret_fields, secret_update

ATTEMPTS = 25

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks race only on PostgreSQL (SQLite serialises writers)")


def _run_together(*actions: Callable[[], object]) -> list[object]:
    """Run each action in its own thread, released at once; return results or exceptions."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index: int, action: Callable[[], object]) -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            results[index] = action()
        except Exception as exc:  # reported by the test, never swallowed
            results[index] = exc
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _new_secret(org, alice, name: str) -> Secret:
    return secret_create(
        organization=org,
        name=name,
        provider="private_registry",
        data={"url": "registry.example.com", "username": "user-0", "password": "pw-0"},
        actor=alice,
    )


def test_concurrent_service_edits_of_username_and_password_both_land(org, alice):
    losses = []
    for attempt in range(ATTEMPTS):
        secret = _new_secret(org, alice, f"race-{attempt}")
        # Each edit starts from its own copy, loaded before either saves.
        mine, theirs = Secret.objects.get(pk=secret.pk), Secret.objects.get(pk=secret.pk)
        user, password = f"user-{attempt}", f"pw-{attempt}"
        results = _run_together(
            lambda: secret_update(secret=mine, data={"username": user}, actor=alice),
            lambda: secret_update(secret=theirs, data={"password": password}, actor=alice),
        )
        assert not [r for r in results if isinstance(r, Exception)], results
        stored = Secret.objects.get(pk=secret.pk)
        fields = secret_fields(stored)
        if (stored.username, fields["username"], fields["password"]) != (user, user, password):
            losses.append(attempt)
    assert losses == [], f"{len(losses)} of {ATTEMPTS} attempts lost an update"


def test_concurrent_api_patches_of_username_and_password_both_land(org, alice):
    _, raw = token_create(user=alice, organization=org, name="race")
    headers = {"Authorization": f"Bearer {raw}"}
    losses, statuses = [], []
    for attempt in range(ATTEMPTS):
        secret = _new_secret(org, alice, f"race-{attempt}")
        user, password = f"user-{attempt}", f"pw-{attempt}"

        def patch(body: dict) -> int:
            response = Client().patch(
                f"/v1/secrets/{secret.pk}",
                json.dumps({"private_registry": body}),
                content_type="application/json",
                headers=headers,
            )
            return response.status_code

        results = _run_together(
            lambda: patch({"username": user}), lambda: patch({"password": password})
        )
        statuses.extend(results)
        stored = Secret.objects.get(pk=secret.pk)
        fields = secret_fields(stored)
        if (stored.username, fields["password"]) != (user, password):
            losses.append(attempt)
    assert statuses == [200] * (2 * ATTEMPTS), statuses
    assert losses == [], f"{len(losses)} of {ATTEMPTS} attempts lost an update"
