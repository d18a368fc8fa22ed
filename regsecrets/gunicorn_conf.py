"""gunicorn's settings for the image and for production.

    gunicorn regsecrets.wsgi -c python:regsecrets.gunicorn_conf

Everything comes from the environment: ``PORT`` (8000), ``WEB_CONCURRENCY``
(workers, 4), ``GUNICORN_THREADS`` (threads per gthread worker, 8: a verification
waits on registries in the thread serving it, and the other threads keep serving
pages; REGSECRETS_VERIFY_MAX_REQUESTS keeps checks below this), ``GUNICORN_TIMEOUT``
(30 s: keep it above REGSECRETS_VERIFY_TIMEOUT, see README "Production"). With
``PROMETHEUS_MULTIPROC_DIR`` set, the workers' metrics are added up at every scrape:
the directory is emptied when the server starts and a dead worker's live gauges are
dropped. With
``REGSECRETS_LOG_FORMAT=json`` gunicorn's own lines are JSON too.
"""

from __future__ import annotations

import os
from typing import Any

from regsecrets.core import metrics

bind = [f"0.0.0.0:{int(os.environ.get('PORT', '8000'))}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# Heartbeat files in memory, not on a container's (possibly slow or read-only) disk.
_SHM = "/dev/shm"  # noqa: S108 (gunicorn's documented choice for its heartbeat files)
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
# Requests are counted in the metrics and logged by the application, not per line here.
accesslog = None
errorlog = "-"
# No runtime control socket: nothing in a container uses it, and the image's user
# has no home directory to put it in.
control_socket_disable = True

if os.environ.get("REGSECRETS_LOG_FORMAT", "").strip().lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "regsecrets.core.logging.RedactingJsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            # gunicorn logs access lines whenever a logging dict is given: none here either.
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
    }


def on_starting(server: Any) -> None:
    metrics.prepare_multiprocess_dir()


def post_worker_init(worker: Any) -> None:
    metrics.record_web_worker_ready()


def child_exit(server: Any, worker: Any) -> None:
    metrics.mark_process_dead(worker.pid)
