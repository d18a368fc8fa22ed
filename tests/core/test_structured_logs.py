"""REGSECRETS_LOG_FORMAT=json: one JSON object per line, request context, redaction kept."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from regsecrets.core.logging import RedactingJsonFormatter, RequestContextFilter
from regsecrets.core.observe import request_id_from
from tests.conftest import CANARY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_log():
    """A JSON handler on the root logger, as settings.LOGGING builds it, for one test."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingJsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def records(stream: io.StringIO) -> list[dict]:
    lines = stream.getvalue().splitlines()
    return [json.loads(line) for line in lines]  # every line is one object


@pytest.mark.django_db
def test_a_request_logs_json_with_its_ids_and_no_credential(alice_client, alice, org, json_log, settings):
    settings.ROOT_URLCONF = "tests.core.log_urls"
    response = alice_client.get("/test-logs/", HTTP_X_REQUEST_ID="req-42.abc")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-42.abc"
    mine = [r for r in records(json_log) if r["logger"] == "regsecrets.tests.logging"]
    assert [r["level"] for r in mine] == ["WARNING", "ERROR"]
    for record in mine:
        assert record["request_id"] == "req-42.abc"
        assert record["user_id"] == alice.pk
        assert record["organization_id"] == org.pk
        assert set(record) <= set(RedactingJsonFormatter.KEYS)  # extra= values left out
        assert record["timestamp"].endswith("+00:00")
    assert mine[0]["message"] == "calling the registry with password=[redacted]"
    assert "RuntimeError: registry said: Authorization: Bearer [redacted]" in mine[1]["exc_info"]
    assert CANARY not in json_log.getvalue()


@pytest.mark.django_db
def test_a_log_line_outside_a_request_has_null_ids(json_log):
    logging.getLogger("regsecrets.tests.logging").info("token=%s", CANARY)
    [record] = [r for r in records(json_log) if r["logger"] == "regsecrets.tests.logging"]
    assert record["request_id"] is record["user_id"] is record["organization_id"] is None
    assert record["message"] == "token=[redacted]"


@pytest.mark.django_db
def test_an_anonymous_request_logs_its_id_but_no_user(client, json_log, settings):
    settings.ROOT_URLCONF = "tests.core.log_urls"
    response = client.get("/test-logs/")
    mine = [r for r in records(json_log) if r["logger"] == "regsecrets.tests.logging"]
    assert mine[0]["request_id"] == response["X-Request-ID"]
    assert mine[0]["user_id"] is None
    assert mine[0]["organization_id"] is None


def test_the_setting_switches_every_logger_of_a_process_to_json(tmp_path):
    """The real settings, in a fresh process: Django's loggers and ours, one object a line."""
    code = (
        "import django, logging; django.setup();"
        f"logging.getLogger('django.request').warning('Bad request: secret=%s', {CANARY!r});"
        f"logging.getLogger('regsecrets.health').error('checked with password=%s', {CANARY!r})"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("REGSECRETS_")},
        "DJANGO_SETTINGS_MODULE": "regsecrets.settings",
        "DJANGO_DEBUG": "true",
        "REGSECRETS_LOG_FORMAT": "json",
        "REGSECRETS_VAR_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert (first["logger"], first["level"]) == ("django.request", "WARNING")
    assert first["message"] == "Bad request: secret=[redacted]"
    assert (second["logger"], second["level"]) == ("regsecrets.health", "ERROR")
    assert CANARY not in done.stderr


def test_an_unknown_log_format_is_refused_at_startup(tmp_path):
    env = {**os.environ, "REGSECRETS_LOG_FORMAT": "xml", "REGSECRETS_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "import regsecrets.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "REGSECRETS_LOG_FORMAT must be plain or json" in done.stderr


# ------------------------------------------------------------------ request ids


@pytest.mark.parametrize(
    "incoming",
    ["", "with space", "new\nline", "x" * 129, "<script>", "ünïcode", "a/b"],
)
def test_an_insane_incoming_request_id_is_replaced(incoming):
    made = request_id_from(incoming)
    assert made != incoming
    assert len(made) == 32
    assert int(made, 16) >= 0


@pytest.mark.parametrize(
    "incoming", ["abc", "0f8fad5b-d9cb-469f-a165-70867728950e", "lb:1.2.3.4:5_6", "x" * 128]
)
def test_a_sane_incoming_request_id_is_kept(incoming):
    assert request_id_from(incoming) == incoming


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/healthz", "/v1/secrets", "/no-such-page/", "/static/nope.css"])
def test_every_response_echoes_a_request_id(client, path):
    response = client.get(path, HTTP_X_REQUEST_ID="bad id with spaces")
    request_id = response["X-Request-ID"]
    assert request_id != "bad id with spaces"
    assert len(request_id) == 32
    assert client.get(path)["X-Request-ID"] != request_id  # a new one each time
