"""The Celery application: scheduled credential checks and alert deliveries.

Configuration comes from Django's settings under the CELERY_ prefix; without
REDIS_URL tasks run eagerly in-process (``make run`` needs no broker).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regsecrets.settings")

app = Celery("regsecrets")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
