"""Production refuses insecure settings through system checks that name the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from regsecrets.core.checks import check_production_settings

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 20 + "Zq8-x_Lm3Pw9Rt2Yv6Bn1Cd4Fg7Hj0Ks5Lw"


def _ids(errors):
    return {e.id for e in errors}


def test_debug_on_accepts_development_defaults(settings):
    settings.DEBUG = True
    assert check_production_settings() == []


@pytest.mark.parametrize(
    ("secret_key", "hosts", "origins", "expected"),
    [
        (
            "django-insecure-development-only-key-do-not-use-in-production",
            ["example.com"],
            [],
            {"regsecrets.E010"},
        ),
        ("short", ["example.com"], [], {"regsecrets.E010"}),
        (GOOD_KEY, [], [], {"regsecrets.E011"}),
        (GOOD_KEY, ["*"], [], {"regsecrets.E012"}),
        (GOOD_KEY, ["example.com"], ["http://example.com"], {"regsecrets.E013"}),
        (GOOD_KEY, ["example.com"], ["https://example.com"], set()),
    ],
)
def test_debug_off_refuses_insecure_values(settings, secret_key, hosts, origins, expected):
    settings.DEBUG = False
    settings.SECRET_KEY = secret_key
    settings.ALLOWED_HOSTS = hosts
    settings.CSRF_TRUSTED_ORIGINS = origins
    assert _ids(check_production_settings()) == expected


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REGSECRETS_"))}
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_server_refuses_to_start_without_secret_key_when_debug_off(tmp_path):
    result = _manage(
        "check",
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="example.com",
        REGSECRETS_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_deploy_check_passes_with_documented_production_environment(tmp_path):
    import base64

    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=GOOD_KEY,
        DJANGO_ALLOWED_HOSTS="secrets.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://secrets.example.com",
        DJANGO_BEHIND_TLS_PROXY="true",
        REGSECRETS_ENCRYPTION_KEYS="k1:" + base64.b64encode(os.urandom(32)).decode(),
        REGSECRETS_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
    )
    assert result.returncode == 0, result.stdout + result.stderr
