"""regsecrets: registry credentials stored encrypted, checked, and matched to images."""

from __future__ import annotations

# Loaded with Django so that @shared_task binds to this app (Celery's Django recipe).
from regsecrets.celery import app as celery_app

__all__ = ["celery_app"]
