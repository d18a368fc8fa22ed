"""Scheduled checks in batches: the same records as one at a time, as polite, and a
fixed number of queries whatever the batch's size."""

from __future__ import annotations

import pytest
from celery.signals import task_prerun
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regsecrets.registry_secrets import health, hostlimits, tasks
from regsecrets.registry_secrets.models import HealthAlert, HealthStatus, Secret, SecretHostHealth
from tests.conftest import CANARY
from tests.verification.conftest import ScriptedServer

pytestmark = pytest.mark.django_db


def _state(secret) -> tuple:
    secret.refresh_from_db()
    rows = [
        (row.status, row.code, row.consecutive_failures)
        for row in SecretHostHealth.objects.filter(secret=secret)
    ]
    kinds = list(
        HealthAlert.objects.filter(secret=secret).order_by("id").values_list("kind", flat=True)
    )
    return (
        secret.health_status,
        secret.health_code,
        secret.consecutive_failures,
        secret.checked_at is not None,
        rows,
        kinds,
    )


def _rejecting(handler):
    return 401, {"WWW-Authenticate": 'Basic realm="test"'}, b""


def _accepting(handler):
    return 200, {}, b"{}"


@pytest.mark.registry
def test_a_batch_records_what_checks_one_at_a_time_record(
    htpasswd_registry, registry_settings, make_secret, django_capture_on_commit_callbacks
):
    broken = [ScriptedServer(lambda handler: (503, {}, b"")) for _ in range(2)]
    try:
        registry_settings(htpasswd_registry.host, *(server.host for server in broken))
        sides = {}
        for side, server in zip(("batch", "single"), broken, strict=True):
            sides[side] = [
                make_secret(htpasswd_registry.host, name=f"{side}-good"),
                make_secret(htpasswd_registry.host, password=CANARY, name=f"{side}-wrong"),
                make_secret(server.host, name=f"{side}-broken"),
            ]
        # Round one: every secret; round two: the registry's (the broken hosts rest).
        for round_size in (3, 2):
            batch = [s.pk for s in sides["batch"][:round_size]]
            with django_capture_on_commit_callbacks(execute=True):
                batched = health.health_check_secrets(batch)
                single = [health.health_check_secret(s.pk) for s in sides["single"][:round_size]]
            assert [(o.state, o.status, o.transition) for o in batched] == [
                (o.state, o.status, o.transition) for o in single
            ]
            assert [o.secret_id for o in batched] == batch
            for mine, theirs in zip(sides["batch"], sides["single"], strict=True):
                assert _state(mine) == _state(theirs)
    finally:
        for server in broken:
            server.close()
    good, wrong, down = sides["batch"]
    assert _state(good)[:3] == (HealthStatus.HEALTHY, "", 0)
    assert _state(wrong)[:3] == (HealthStatus.FAILING, "AUTH_ACCESS_DENIED", 2)
    assert _state(wrong)[5] == ["failing"]
    assert _state(down)[1:3] == ("REGISTRY_ERROR", 1)


def test_a_batch_answers_gone_for_secrets_that_do_not_exist(registry_settings, make_secret):
    server = ScriptedServer(_accepting)
    try:
        registry_settings(server.host)
        secret = make_secret(server.host)
        gone = make_secret(server.host, name="deleted")
        gone_id = gone.pk
        gone.delete()
        outcomes = health.health_check_secrets([str(gone_id), str(secret.pk), "not-an-id"])
    finally:
        server.close()
    assert [o.state for o in outcomes] == ["gone", "checked", "gone"]
    assert len(server.requests) == 1


def test_a_batch_leaves_a_resting_host_alone_and_checks_the_others(
    registry_settings, make_secret
):
    resting, working = ScriptedServer(_accepting), ScriptedServer(_accepting)
    try:
        registry_settings(resting.host, working.host)
        hostlimits.back_off(resting.host, 120)
        secrets = [
            make_secret(resting.host, name="on-resting"),
            make_secret(working.host, name="on-working"),
        ]
        outcomes = health.health_check_secrets([s.pk for s in secrets])
    finally:
        resting.close()
        working.close()
    assert [o.state for o in outcomes] == ["deferred", "checked"]
    assert (len(resting.requests), len(working.requests)) == (0, 1)
    deferred = Secret.objects.get(pk=secrets[0].pk)
    assert deferred.checked_at is None
    assert deferred.next_check_at.timestamp() >= hostlimits.backoff_until([resting.host])


def test_a_batch_stops_calling_a_host_once_it_answers_5xx(registry_settings, make_secret):
    server = ScriptedServer(lambda handler: (503, {"Retry-After": "30"}, b""))
    try:
        registry_settings(server.host)
        secrets = [make_secret(server.host, name=f"s{n}") for n in range(3)]
        outcomes = health.health_check_secrets([s.pk for s in secrets])
    finally:
        server.close()
    # Checked in the order given: the first fails, the host then rests.
    assert [o.state for o in outcomes] == ["checked", "deferred", "deferred"]
    assert len(server.requests) == 1
    assert hostlimits.backoff_until([server.host]) is not None


def test_a_429_in_a_batch_defers_its_secrets_without_recording_a_failure(
    registry_settings, make_secret
):
    server = ScriptedServer(lambda handler: (429, {"Retry-After": "120"}, b""))
    try:
        registry_settings(server.host)
        secrets = [make_secret(server.host, name=f"s{n}") for n in range(3)]
        outcomes = health.health_check_secrets([s.pk for s in secrets])
    finally:
        server.close()
    assert [o.state for o in outcomes] == ["deferred"] * 3
    assert len(server.requests) == 1
    resting = hostlimits.backoff_until([server.host])
    for secret in Secret.objects.filter(pk__in=[s.pk for s in secrets]):
        assert (secret.health_status, secret.consecutive_failures) == (HealthStatus.UNKNOWN, 0)
        assert secret.next_check_at.timestamp() >= resting - 0.001  # microseconds


def test_a_batch_holds_one_slot_per_host_and_defers_at_the_cap(
    settings, registry_settings, make_secret
):
    settings.REGSECRETS_HEALTH_HOST_CONCURRENCY = 2
    seen: list[int] = []

    def counting_slots(handler):
        # What every other worker would see while this request is in flight.
        seen.append(
            sum(
                hostlimits.cache.get(hostlimits._slot_key(server.host, i)) is not None
                for i in range(2)
            )
        )
        return 200, {}, b"{}"

    server = ScriptedServer(counting_slots)
    try:
        registry_settings(server.host)
        secrets = [make_secret(server.host, name=f"s{n}") for n in range(4)]
        ids = [s.pk for s in secrets]
        with hostlimits.host_slots([server.host]), hostlimits.host_slots([server.host]):
            at_cap = health.health_check_secrets(ids)  # two other checks hold both slots
        with hostlimits.host_slots([server.host]):
            free = health.health_check_secrets(ids)  # one held elsewhere, one for us
    finally:
        server.close()
    assert [o.state for o in at_cap] == ["deferred"] * 4
    assert [o.state for o in free] == ["checked"] * 4
    assert seen == [2, 2, 2, 2]  # the other check's slot and the batch's one
    assert not any(
        hostlimits.cache.get(hostlimits._slot_key(server.host, i)) for i in range(2)
    )  # released


def _queries_of_rounds(make_secret, host: str, size: int, prefix: str) -> list[int]:
    secrets = [make_secret(host, name=f"{prefix}-{n}") for n in range(size)]
    counts = []
    for _ in range(3):  # new host rows; a transition for each (alerts); no change
        with CaptureQueriesContext(connection) as queries:
            outcomes = health.health_check_secrets([s.pk for s in secrets])
        assert {o.state for o in outcomes} == {"checked"}
        counts.append(len(queries))
    return counts


def test_a_batch_costs_the_same_queries_whatever_its_size(
    registry_settings, make_secret, django_capture_on_commit_callbacks
):
    server = ScriptedServer(_rejecting)
    try:
        registry_settings(server.host)
        with django_capture_on_commit_callbacks(execute=False):
            small = _queries_of_rounds(make_secret, server.host, 2, "small")
            large = _queries_of_rounds(make_secret, server.host, 12, "large")
    finally:
        server.close()
    assert small == large
    assert HealthAlert.objects.filter(kind="failing").count() == 14  # one per secret
    # Read; lock and read; host rows; the writes (and the alerts' on the second round).
    assert max(small) <= 12


def test_the_tick_queues_batches_of_the_configured_size(settings, registry_settings, make_secret):
    settings.REGSECRETS_HEALTH_CHECKS_PER_TASK = 4
    sizes: list[int] = []

    def started(sender=None, args=None, **kwargs):
        if getattr(sender, "name", "") == tasks.check_secrets.name:
            sizes.append(len(args[0]))

    server = ScriptedServer(_accepting)
    task_prerun.connect(started, weak=False)
    try:
        registry_settings(server.host)
        secrets = [make_secret(server.host, name=f"s{n}") for n in range(10)]
        queued = tasks.enqueue_due_checks()  # in-process: each batch runs as it is queued
    finally:
        task_prerun.disconnect(started)
        server.close()
    assert queued == 10
    assert sizes == [4, 4, 2]
    assert len(server.requests) == 10
    checked = Secret.objects.filter(pk__in=[s.pk for s in secrets], checked_at__isnull=False)
    assert checked.count() == 10


def test_a_check_that_raises_leaves_its_secret_claimed_and_the_batch_recorded(
    registry_settings, make_secret, monkeypatch, caplog
):
    server = ScriptedServer(_accepting)
    try:
        registry_settings(server.host)
        secrets = [make_secret(server.host, name=f"s{n}") for n in range(3)]
        health.health_claim_due()
        claimed = {s.pk: s.next_check_at for s in Secret.objects.all()}
        verify = health._verify

        def defective(secret, **kwargs):  # a defect in the checking code, for one secret
            if secret.pk == secrets[1].pk:
                raise RuntimeError("defect")
            return verify(secret, **kwargs)

        monkeypatch.setattr(health, "_verify", defective)
        outcomes = health.health_check_secrets([s.pk for s in secrets])
    finally:
        server.close()
    assert [o.state for o in outcomes] == ["checked", "deferred", "checked"]
    stuck = Secret.objects.get(pk=secrets[1].pk)
    assert (stuck.checked_at, stuck.next_check_at) == (None, claimed[stuck.pk])
    assert Secret.objects.filter(checked_at__isnull=False).count() == 2
    assert "the scheduled check of secret" in caplog.text


def test_a_batch_sees_a_backoff_another_worker_sets_while_it_runs(
    registry_settings, make_secret, monkeypatch
):
    monkeypatch.setattr(health, "_REST_REFRESH", 0.0)  # read the backoffs before every check
    other = ScriptedServer(_accepting)

    def first_host(handler):
        hostlimits.back_off(other.host, 120)  # meanwhile, another worker got a 503 there
        return 200, {}, b"{}"

    server = ScriptedServer(first_host)
    try:
        registry_settings(server.host, other.host)
        secrets = [make_secret(server.host, name="first"), make_secret(other.host, name="second")]
        outcomes = health.health_check_secrets([s.pk for s in secrets])  # checked in this order
    finally:
        server.close()
        other.close()
    assert [o.state for o in outcomes] == ["checked", "deferred"]
    assert len(other.requests) == 0
