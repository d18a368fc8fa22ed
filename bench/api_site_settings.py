"""Settings for bench/api.py: the project's, plus a URLconf with the bare baseline views."""

from __future__ import annotations

from regsecrets.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_site_urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
