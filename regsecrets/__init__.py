"""regsecrets: registry credentials stored encrypted, checked, and matched to images."""

from __future__ import annotations

# Loaded with Django so that @shared_task binds to this app (Celery's Django recipe).
from regsecrets.celery import app as celery_app

# The one place the version is written: pyproject.toml, /healthz and the footer read it.
__version__ = "0.2.0.dev0"

__all__ = ["__version__", "celery_app"]
