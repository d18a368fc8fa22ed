"""Operator commands: help for every argument, progress with a count and an estimate."""

from __future__ import annotations

import argparse
import io

import pytest
from django.core.management import call_command, get_commands, load_command_class

from regsecrets.core.progress import Progress, duration_text
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_create
from tests.conftest import TEST_KEY_A, TEST_KEY_B


def project_commands() -> list[tuple[str, str]]:
    return sorted(
        (app, name) for name, app in get_commands().items() if app.startswith("regsecrets.")
    )


def test_the_walk_finds_every_project_command():
    names = {name for _app, name in project_commands()}
    assert {
        "add_member",
        "check_secrets",
        "create_organization",
        "create_registry_secret",
        "encryption_status",
        "export_pull_secret",
        "generate_encryption_key",
        "issue_api_token",
        "rotate_encryption_keys",
    } <= names


@pytest.mark.parametrize(("app", "name"), project_commands())
def test_every_argument_and_option_of_every_command_has_help(app, name):
    command = load_command_class(app, name)
    assert command.help, f"{name} has no description"
    parser = command.create_parser("manage.py", name)
    missing = [
        "/".join(action.option_strings) or action.dest
        for action in parser._actions
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert missing == [], f"{name}: no help for {missing}"


# ------------------------------------------------------------------- progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "<1s"), (42, "42s"), (59.6, "1m 00s"), (185, "3m 05s"), (3720, "1h 02m")],
)
def test_durations_read_as_people_write_them(seconds, text):
    assert duration_text(seconds) == text


def test_the_estimate_is_the_pace_so_far_times_what_is_left():
    clock = FakeClock()
    progress = Progress(1000, clock=clock)
    assert progress.text(0) == "0/1000 (0%)"
    clock.now += 10  # 100 rows in 10 s: 900 more take 90 s
    assert progress.text(100) == "100/1000 (10%), about 1m 30s left"
    clock.now += 80
    assert progress.text(1000) == "1000/1000 (100%), done in 1m 30s"


def test_an_empty_run_is_done_at_once():
    assert Progress(0, clock=FakeClock()).text(0) == "0/0 (100%), done in <1s"


@pytest.mark.django_db
def test_rotation_prints_rows_scanned_out_of_the_total_with_an_estimate(org, alice, settings):
    for n in range(3):
        secret_create(
            organization=org,
            name=f"s{n}",
            provider="private_registry",
            data={"url": "registry.example.com", "username": "u", "password": "p"},
            actor=alice,
        )
    settings.REGSECRETS_ENCRYPTION_KEYS = f"test-b:{TEST_KEY_B},test-a:{TEST_KEY_A}"
    out = io.StringIO()
    call_command("rotate_encryption_keys", "--batch-size", "2", verbosity=2, stdout=out)
    lines = [line for line in out.getvalue().splitlines() if "Secret.document" in line]
    assert lines[0].startswith("registry_secrets.Secret.document: scanned 2/3 (66%), about ")
    assert lines[0].endswith("left; re-encrypted 2, failed 0")
    assert "scanned 3/3 (100%), done in " in lines[1]


# Committed data: on PostgreSQL the command checks in threads with their own connections.
@pytest.mark.django_db(transaction=True)
def test_check_secrets_prints_a_count_and_an_estimate(loopback_secrets, settings):
    settings.REGSECRETS_HEALTH_ALERT_AFTER = 2
    loopback_secrets(2)
    out = io.StringIO()
    call_command("check_secrets", "--all", stdout=out)
    text = out.getvalue()
    assert "] 2/2 (100%), done in " in text
    assert "Checked 2 secret(s)" in text


@pytest.mark.django_db(transaction=True)
def test_check_secrets_checks_in_the_workers_batches_and_reports_each(
    loopback_secrets, settings
):
    settings.REGSECRETS_HEALTH_CHECKS_PER_TASK = 2
    loopback_secrets(5)
    out = io.StringIO()
    call_command("check_secrets", "--all", "--concurrency", "1", stdout=out)
    text = out.getvalue()
    # One progress line per batch of two (not a terminal, each tenth crossed), then the end.
    assert [line.split("] ")[1].split(" ")[0] for line in text.splitlines() if "] " in line] == [
        "2/5",
        "4/5",
        "5/5",
    ]
    assert "Checked 5 secret(s)" in text
    assert not Secret.objects.filter(checked_at__isnull=True).exists()
