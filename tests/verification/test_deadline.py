"""One deadline per verification request, and a process-wide cap on outbound checks.

Against real loopback servers that accept TCP connections and never answer: the
registry that hangs. The bounds asserted are generous multiples of the configured
timeout (a bound check, not a performance test): before the shared deadline a
config.json of 10 such hosts took about 10 / 4 workers x the timeout.
"""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from regsecrets.registries.client import TIMEOUT, ClientOptions, check_credentials
from regsecrets.registries.matching import Credential
from regsecrets.registry_secrets.client_options import client_options
from regsecrets.registry_secrets.services import secret_create
from regsecrets.registry_secrets.verification import MAX_HOSTS_PER_TEST, check_config_hosts

try:
    from .conftest import ConnectionGauge
except ImportError:
    from conftest import ConnectionGauge

TIMEOUT_SECONDS = 1.5
# The request must end about one timeout after it starts; this leaves room for a busy
# machine, and is still below the 3 x timeout that 10 hosts on 4 workers with a
# deadline each took.
BOUND_SECONDS = 2.5 * TIMEOUT_SECONDS


def config_for(hosts: list[str]) -> dict:
    auth = base64.b64encode(b"alice:alice-pw").decode()
    return {
        "auths": {
            host: {"username": "alice", "password": "alice-pw", "auth": auth} for host in hosts
        }
    }


@pytest.fixture
def hanging_hosts(settings, silent_servers):
    """Ten registries that never answer, reachable (private allowed, plain HTTP listed)."""
    gauge = ConnectionGauge()
    servers = silent_servers(MAX_HOSTS_PER_TEST, gauge)
    hosts = [server.host for server in servers]
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    settings.REGSECRETS_INSECURE_REGISTRIES = frozenset(hosts)
    settings.REGSECRETS_VERIFY_TIMEOUT = TIMEOUT_SECONDS
    return hosts, gauge


def wait_until_closed(gauge: ConnectionGauge, within: float) -> None:
    """Poll (no fixed sleep) until every connection to the gauge's servers is closed."""
    limit = time.monotonic() + within
    while gauge.open and time.monotonic() < limit:
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_create_form_test_of_ten_hanging_registries_answers_within_the_timeout(
    alice_client, hanging_hosts
):
    hosts, gauge = hanging_hosts
    started = time.monotonic()
    response = alice_client.post(
        "/secrets/new/docker-config/test/", {"config": json.dumps(config_for(hosts))}
    )
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["host"] for r in results] == hosts
    assert [r["code"] for r in results] == [TIMEOUT] * len(hosts)
    assert all(f"{TIMEOUT_SECONDS:g}-second limit" in r["reason"] for r in results)
    assert elapsed < BOUND_SECONDS, f"took {elapsed:.1f}s for a {TIMEOUT_SECONDS}s timeout"
    assert gauge.total > 0  # the checks did reach the servers


@pytest.mark.django_db
def test_detail_test_of_a_stored_secret_with_ten_hanging_registries_is_bounded(
    alice_client, alice, org, hanging_hosts
):
    hosts, _gauge = hanging_hosts
    secret = secret_create(
        organization=org,
        name="many-hosts",
        provider="docker_config",
        data={"config": json.dumps(config_for(hosts))},
        actor=alice,
    )
    started = time.monotonic()
    response = alice_client.post(f"/secrets/{secret.pk}/test/", follow=True)
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == len(hosts)
    assert all(message.endswith(f"(code {TIMEOUT})") for message in shown)
    assert elapsed < BOUND_SECONDS, f"took {elapsed:.1f}s for a {TIMEOUT_SECONDS}s timeout"


@pytest.mark.django_db
def test_admin_test_action_shares_one_deadline_across_the_secrets(
    client, django_user_model, alice, org, hanging_hosts
):
    hosts, _gauge = hanging_hosts
    secrets = [
        secret_create(
            organization=org,
            name=f"part-{index}",
            provider="docker_config",
            data={"config": json.dumps(config_for(hosts[index::3]))},
            actor=alice,
        )
        for index in range(3)
    ]
    client.force_login(
        django_user_model.objects.create_superuser(
            username="root", email="root@example.com", password="unused-in-tests"
        )
    )
    started = time.monotonic()
    response = client.post(
        reverse("admin:registry_secrets_secret_changelist"),
        {"action": "test_credentials", "_selected_action": [s.pk for s in secrets]},
        follow=True,
    )
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 3
    assert all(TIMEOUT in message for message in shown)
    assert elapsed < BOUND_SECONDS, f"took {elapsed:.1f}s for a {TIMEOUT_SECONDS}s timeout"


def test_in_flight_checks_stop_at_the_shared_deadline(silent_servers):
    gauge = ConnectionGauge()
    hosts = [server.host for server in silent_servers(4, gauge)]
    options = ClientOptions(
        timeout=TIMEOUT_SECONDS, allow_private=True, insecure_registries=frozenset(hosts)
    )
    started = time.monotonic()
    checks = check_config_hosts(config_for(hosts), hosts, options=options)
    elapsed = time.monotonic() - started

    assert [c.result.code for c in checks] == [TIMEOUT] * 4
    assert [c.host for c in checks] == hosts
    assert gauge.total == 4  # all four were in flight, none merely queued
    assert elapsed < BOUND_SECONDS
    # Nothing keeps talking to the registries after the answer: the sockets were
    # bounded by the same deadline and are closed.
    wait_until_closed(gauge, within=TIMEOUT_SECONDS)
    assert gauge.open == 0


def test_a_deadline_already_spent_contacts_no_registry(silent_servers):
    gauge = ConnectionGauge()
    hosts = [server.host for server in silent_servers(3, gauge)]
    options = ClientOptions(timeout=5.0, allow_private=True, insecure_registries=frozenset(hosts))

    checks = check_config_hosts(
        config_for(hosts), hosts, options=options, deadline=time.monotonic() - 0.1
    )

    assert [c.result.code for c in checks] == [TIMEOUT] * 3
    assert gauge.total == 0


@pytest.mark.parametrize("cap", [1, 2])
def test_concurrent_outbound_checks_never_exceed_the_process_cap(settings, silent_servers, cap):
    """Two requests at once, five hanging hosts each: the servers see at most ``cap``."""
    gauge = ConnectionGauge()
    hosts = [server.host for server in silent_servers(10, gauge)]
    settings.REGSECRETS_ALLOW_PRIVATE_REGISTRIES = True
    settings.REGSECRETS_INSECURE_REGISTRIES = frozenset(hosts)
    settings.REGSECRETS_VERIFY_TIMEOUT = TIMEOUT_SECONDS
    settings.REGSECRETS_VERIFY_MAX_CONCURRENCY = cap
    outcomes: dict[int, tuple[float, list[str]]] = {}
    # "At once" means one deadline for both: were the second thread to start later on
    # a loaded machine, its queued checks could rightly take the slots the first
    # request's checks free at their own, earlier deadline.
    deadline = time.monotonic() + TIMEOUT_SECONDS

    def request(index: int, mine: list[str]) -> None:
        started = time.monotonic()
        checks = check_config_hosts(config_for(mine), mine, deadline=deadline)
        outcomes[index] = (time.monotonic() - started, [c.result.code for c in checks])

    threads = [
        threading.Thread(target=request, args=(0, hosts[:5])),
        threading.Thread(target=request, args=(1, hosts[5:])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == [0, 1]
    for elapsed, codes in outcomes.values():
        # Checks beyond the cap waited only until their own request's deadline.
        assert codes == [TIMEOUT] * 5
        assert elapsed < BOUND_SECONDS
    assert gauge.max_open == cap
    assert gauge.total == cap  # the slot holders hung until the deadline; no one else got in


def test_a_single_check_waits_for_a_slot_only_until_its_deadline(silent_servers):
    """The cap covers every check in the process, not only the fan-out of one request."""
    (held,) = silent_servers(1)
    (waiting,) = silent_servers(1)  # its own gauge
    hold = ClientOptions(
        timeout=6.0,  # outlasts the waiting check below by far
        allow_private=True,
        insecure_registries=frozenset({held.host}),
        max_concurrency=1,
    )
    holder = threading.Thread(
        target=check_credentials, args=(held.host, None), kwargs={"options": hold}
    )
    holder.start()
    limit = time.monotonic() + 5
    while not held.gauge.total and time.monotonic() < limit:
        time.sleep(0.01)  # until the holder is connected, i.e. holds the only slot
    assert held.gauge.total == 1

    options = ClientOptions(
        timeout=0.5,
        allow_private=True,
        insecure_registries=frozenset({waiting.host}),
        max_concurrency=1,
    )
    credential = Credential(server=waiting.host, username="alice", password="alice-pw")
    started = time.monotonic()
    result = check_credentials(waiting.host, credential, options=options)
    elapsed = time.monotonic() - started
    holder_still_waiting = holder.is_alive()
    holder.join(timeout=15)

    assert result.code == TIMEOUT
    assert "busy" in result.reason
    assert waiting.gauge.total == 0  # it never connected
    # It gave up at its own deadline, not when the slot was freed: the holder still held
    # it then (a generous bound, for a busy machine, still far below the 6 s hold).
    assert holder_still_waiting
    assert elapsed < 4.0


def test_checks_queued_behind_the_cap_run_when_a_slot_frees(scripted_server):
    """Registries that answer: every host is checked, never more than two at once."""
    lock = threading.Lock()
    state = {"open": 0, "max": 0}

    def slow_ok(handler):
        with lock:
            state["open"] += 1
            state["max"] = max(state["max"], state["open"])
        time.sleep(0.1)  # long enough for checks to overlap if the cap let them
        with lock:
            state["open"] -= 1
        return 200, {}, b"{}"

    hosts = [scripted_server(slow_ok).host for _ in range(6)]
    options = ClientOptions(
        timeout=10.0,
        allow_private=True,
        insecure_registries=frozenset(hosts),
        max_concurrency=2,
    )

    checks = check_config_hosts(config_for(hosts), hosts, options=options)

    assert [c.result.success for c in checks] == [True] * 6, [c.result for c in checks]
    assert 1 <= state["max"] <= 2


def test_max_concurrency_comes_from_settings(settings):
    settings.REGSECRETS_VERIFY_MAX_CONCURRENCY = "3"
    assert client_options().max_concurrency == 3
