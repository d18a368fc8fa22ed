"""A process serves at most REGSECRETS_VERIFY_MAX_REQUESTS verification requests at once.

The cap keeps the web server's threads free for pages: a request over it is answered
at once, "busy, try again in a moment" (a RateLimited, HTTP 429 on every face), without
contacting a registry, writing an audit event or spending the person's budget. The
requests holding the slots hang against a real loopback server that accepts
connections and never answers; they are released by closing it (no timed assertion).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache

from regsecrets.accounts.tokens import token_create
from regsecrets.audit.models import AuditEvent
from regsecrets.registry_secrets import verification
from regsecrets.registry_secrets.errors import BUSY_MESSAGE, RateLimited, VerifierBusy
from regsecrets.registry_secrets.services import secret_create

CAP = 2


def private_input(host: str) -> dict[str, str]:
    return {"url": host, "username": "robot", "password": "robot-password-x"}


class Hanging:
    """CAP verification requests hanging in threads against a silent registry."""

    def __init__(self, server) -> None:
        self.server = server
        self.results: list[object] = []
        self.threads = [
            threading.Thread(target=self._verify, daemon=True) for _ in range(CAP)
        ]
        for thread in self.threads:
            thread.start()
        # Poll (no fixed sleep) until both are connected, i.e. hold their slots.
        limit = time.monotonic() + 30
        while server.gauge.open < CAP and time.monotonic() < limit:
            time.sleep(0.02)
        assert server.gauge.open == CAP

    def _verify(self) -> None:
        self.results.append(
            verification.verify_new_input(
                provider="private_registry",
                data=private_input(self.server.host),
                actor=None,
                rate_limit=False,
            )
        )

    def release(self) -> None:
        self.server.close()
        for thread in self.threads:
            thread.join(30)
        assert len(self.results) == CAP


@pytest.fixture
def hanging(settings, silent_server):
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    settings.REGSECRETS_INSECURE_REGISTRIES = frozenset({silent_server.host})
    settings.REGSECRETS_VERIFY_TIMEOUT = 60  # they end when the server closes, not by time
    settings.REGSECRETS_VERIFY_MAX_REQUESTS = CAP
    cache.clear()
    held = Hanging(silent_server)
    yield held
    if any(thread.is_alive() for thread in held.threads):
        held.release()
    cache.clear()


@pytest.mark.django_db
def test_a_request_over_the_cap_is_answered_at_once_without_contacting_the_registry(
    hanging, alice
):
    with pytest.raises(VerifierBusy) as caught:
        verification.verify_new_input(
            provider="private_registry",
            data=private_input(hanging.server.host),
            actor=alice,
            rate_limit=True,
        )
    assert caught.value.message == BUSY_MESSAGE
    assert isinstance(caught.value, RateLimited)  # every face already answers these
    assert hanging.server.gauge.total == CAP  # no third connection


@pytest.mark.django_db
def test_a_busy_answer_spends_no_budget_and_a_freed_slot_serves_again(
    settings, hanging, alice
):
    settings.REGSECRETS_VERIFY_RATE_LIMIT = 1
    for _ in range(3):
        with pytest.raises(VerifierBusy):
            verification.verify_new_input(
                provider="private_registry",
                data=private_input(hanging.server.host),
                actor=alice,
                rate_limit=True,
            )
    hanging.release()
    # The slots are free again and the one-check budget is intact: this one runs (the
    # closed server's backlog may still take its connection: a short limit ends it).
    settings.REGSECRETS_VERIFY_TIMEOUT = 0.5
    checks = verification.verify_new_input(
        provider="private_registry",
        data=private_input(hanging.server.host),
        actor=alice,
        rate_limit=True,
    )
    assert len(checks) == 1
    assert not checks[0].result.success
    assert verification._REQUESTS.active == 0


@pytest.mark.django_db
def test_test_credentials_page_says_busy_and_pages_are_still_served(
    hanging, alice_client, alice, org
):
    secret = secret_create(
        organization=org,
        name="dead",
        provider="private_registry",
        data=private_input(hanging.server.host),
        actor=alice,
    )
    response = alice_client.post(f"/secrets/{secret.pk}/test/")
    assert response.status_code == 429
    assert BUSY_MESSAGE in response.content.decode()
    assert not AuditEvent.objects.filter(action="secret.verified").exists()
    assert hanging.server.gauge.total == CAP
    # Pages do not go through the cap.
    assert alice_client.get("/secrets/").status_code == 200
    assert alice_client.get(f"/secrets/{secret.pk}/").status_code == 200


@pytest.mark.django_db
def test_the_json_endpoints_and_the_api_answer_busy_with_429(hanging, alice_client, alice, org):
    response = alice_client.post(
        "/secrets/new/private/test/", private_input(hanging.server.host)
    )
    assert response.status_code == 429
    assert response.json() == {"error": BUSY_MESSAGE}
    _, raw = token_create(user=alice, organization=org, name="busy")
    response = alice_client.get(
        "/v1/docker-helper/verify",
        {"image": f"{hanging.server.host}/app:1"},
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 429
    assert response.json()["message"] == BUSY_MESSAGE
    assert hanging.server.gauge.total == CAP


@pytest.mark.django_db
def test_no_cap_when_set_to_zero(settings, hanging):
    settings.REGSECRETS_VERIFY_MAX_REQUESTS = 0
    done: list[object] = []
    extra = threading.Thread(
        target=lambda: done.append(
            verification.verify_new_input(
                provider="private_registry",
                data=private_input(hanging.server.host),
                actor=None,
                rate_limit=False,
            )
        ),
        daemon=True,
    )
    extra.start()
    limit = time.monotonic() + 30
    while hanging.server.gauge.total < CAP + 1 and time.monotonic() < limit:
        time.sleep(0.02)
    assert hanging.server.gauge.total == CAP + 1  # a third request did connect
    hanging.release()
    extra.join(30)
    assert len(done) == 1
