"""The Celery application: scheduled credential checks and alert deliveries.

Configuration comes from Django's settings under the CELERY_ prefix; without
REDIS_URL tasks run eagerly in-process (``make run`` needs no broker).
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals

from regsecrets.core import metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regsecrets.settings")

app = Celery("regsecrets")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Metrics of the worker's task processes (README "Metrics"): the prefork children
# write to PROMETHEUS_MULTIPROC_DIR and the main process serves their sum on
# REGSECRETS_WORKER_METRICS_PORT, with the web's bearer token rule.
@signals.worker_init.connect
def _serve_worker_metrics(**kwargs: Any) -> None:
    metrics.prepare_multiprocess_dir()
    port = os.environ.get("REGSECRETS_WORKER_METRICS_PORT")
    if port:
        metrics.serve_in_background(int(port))


@signals.worker_process_shutdown.connect
def _forget_worker_process(pid: int | None = None, **kwargs: Any) -> None:
    metrics.mark_process_dead(pid or os.getpid())
