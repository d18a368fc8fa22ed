"""Prometheus metrics: the request metrics and the domain's counters, in one module.

The use cases call one ``record_*`` function where their event happens; this
module owns the metric names, their labels and the rule that keeps label values
bounded and non-secret: every label value is either a number, one of a fixed set
written in code (an HTTP method, a URL pattern, a result code, a provider key), or
``other``. Nothing a person typed (a name, a path, a host) and nothing secret ever
becomes a label.

Several processes (gunicorn workers, Celery's prefork children) each count their
own; with ``PROMETHEUS_MULTIPROC_DIR`` set before the process starts,
prometheus_client writes the values to files there and ``exposition()`` adds up
every process's files (see ``regsecrets/gunicorn_conf.py`` and
``regsecrets/celery.py``, which clear the directory at startup and mark dead
processes). Without it each process serves its own values.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from regsecrets.registries import PROVIDERS
from regsecrets.registries.client import results as client_results
from regsecrets.registries.minting import base as minting_base

__all__ = [
    "CONTENT_TYPE_LATEST",
    "Metric",
    "bearer_token_matches",
    "exposition",
    "gauge",
    "multiprocess_dir",
    "prepare_multiprocess_dir",
    "record_alert_sent",
    "record_health_check",
    "record_health_transition",
    "record_request",
    "record_rotation",
    "record_token_mint",
    "record_verification",
    "record_web_worker_ready",
    "serve_in_background",
    "wsgi_app",
]

OTHER = "other"

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_MINT_CODES = frozenset(
    getattr(minting_base, name) for name in minting_base.__all__ if name.startswith("MINT_")
)
# A check's code: the client's, health's own, or a minting code (a check of a secret
# that logs in with a minted token can fail at minting).
_RESULT_CODES = (
    frozenset(getattr(client_results, name) for name in client_results.__all__ if name.isupper())
    | {"UNDECRYPTABLE", "EXPIRED", "EXPIRING"}
    | _MINT_CODES
)
_PROVIDERS = frozenset(p.key for p in PROVIDERS)
_CHECKS = frozenset({"credentials", "image"})
_HEALTH_STATES = frozenset({"checked", "deferred", "gone"})
_HEALTH_STATUSES = frozenset({"UNKNOWN", "HEALTHY", "FAILING", "EXPIRING", ""})
_ALERT_KINDS = frozenset({"failing", "expiring", "recovered"})
_CHANNELS = frozenset({"email", "webhook"})


def _bounded(value: Any, allowed: frozenset[str]) -> str:
    text = str(value)
    return text if text in allowed else OTHER


# --------------------------------------------------------------------- requests

HTTP_REQUESTS = Counter(
    "regsecrets_http_requests",
    "HTTP requests answered, by method, URL pattern and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "regsecrets_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and URL pattern.",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def record_request(*, method: str, route: str, status: int, seconds: float) -> None:
    """One answered request. ``route`` is a URL pattern from the code, never a path."""
    method = _bounded(method.upper(), _METHODS)
    HTTP_REQUESTS.labels(method, route, str(int(status))).inc()
    HTTP_DURATION.labels(method, route).observe(seconds)


# Labelled, so that importing this module writes nothing: an unlabelled value would be
# created (in multiprocess mode, a file) at import, before the directory exists.
WORKERS = Gauge(
    "regsecrets_workers",
    "Server processes that have loaded the app and are serving, by role.",
    ["role"],
    multiprocess_mode="livesum",
)


def record_web_worker_ready() -> None:
    """This process serves requests now (gunicorn's post_worker_init). A dead worker's
    value is dropped by ``mark_process_dead``, so the sum is the live workers."""
    WORKERS.labels("web").set(1)


# ----------------------------------------------------------------------- domain

VERIFICATIONS = Counter(
    "regsecrets_verifications",
    "Registry checks made (login or image pull), by kind and result code (OK on success).",
    ["check", "code"],
)
HEALTH_CHECKS = Counter(
    "regsecrets_health_checks",
    "Scheduled health checks, by what happened (checked, deferred, gone) and the "
    "status recorded.",
    ["state", "status"],
)
HEALTH_TRANSITIONS = Counter(
    "regsecrets_health_transitions",
    "Health transitions that raised an alert, by alert kind.",
    ["kind"],
)
TOKEN_MINTS = Counter(
    "regsecrets_token_mints",
    "Short-lived registry tokens minted (cache misses only), by provider and result code.",
    ["provider", "code"],
)
ALERTS_SENT = Counter(
    "regsecrets_alerts_sent",
    "Health alerts delivered, by channel (email, webhook) and alert kind.",
    ["channel", "kind"],
)
ROTATION_ROWS = Counter(
    "regsecrets_rotation_rows",
    "Rows handled by rotate_encryption_keys: scanned, rotated (re-encrypted) or failed.",
    ["result"],
)


def record_verification(*, check: str, success: bool, code: str) -> None:
    VERIFICATIONS.labels(
        _bounded(check, _CHECKS), "OK" if success else _bounded(code, _RESULT_CODES)
    ).inc()


def record_health_check(*, state: str, status: str = "") -> None:
    """One scheduled check: checked (with the status recorded), deferred or gone."""
    HEALTH_CHECKS.labels(_bounded(state, _HEALTH_STATES), _bounded(status, _HEALTH_STATUSES)).inc()


def record_health_transition(*, kind: str) -> None:
    """A transition that wrote an alert (scheduled or manual check)."""
    HEALTH_TRANSITIONS.labels(_bounded(kind, _ALERT_KINDS)).inc()


def record_token_mint(*, provider: str, code: str = "") -> None:
    """A mint that reached the token service: ``code`` empty on success."""
    TOKEN_MINTS.labels(
        _bounded(provider, _PROVIDERS), _bounded(code, _MINT_CODES) if code else "OK"
    ).inc()


def record_alert_sent(*, channel: str, kind: str) -> None:
    ALERTS_SENT.labels(_bounded(channel, _CHANNELS), _bounded(kind, _ALERT_KINDS)).inc()


def record_rotation(*, scanned: int = 0, rotated: int = 0, failed: int = 0) -> None:
    """Rows handled since the last call (the rotation command reports each batch)."""
    for result, count in (("scanned", scanned), ("rotated", rotated), ("failed", failed)):
        if count:
            ROTATION_ROWS.labels(result).inc(count)


def gauge(name: str, documentation: str, label: str, values: Mapping[str, int]) -> Metric:
    """A gauge family read at scrape time (from the database, say), one sample per key.

    Keys must be values written in code (statuses, model labels), never user input.
    """
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


# ------------------------------------------------------------------- exposition


def multiprocess_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def _ensure_multiprocess_dir() -> None:
    """Make the directory if it is set: prometheus_client writes there at the first
    count, and a one-off command (``manage``, ``release``) has no server hook to make it."""
    directory = multiprocess_dir()
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)


def prepare_multiprocess_dir() -> None:
    """Empty the multiprocess directory of a previous run's files (at server start).

    Only prometheus_client's own ``*.db`` files are removed, so a directory set by
    mistake to somewhere shared loses nothing else.
    """
    directory = multiprocess_dir()
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.db"):
        path.unlink(missing_ok=True)


def mark_process_dead(pid: int) -> None:
    """Forget a dead process's live gauges (counters and histograms are kept)."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(pid)


class _Families:
    """A collector over families already computed for one scrape."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def exposition(extra: Iterable[Metric] = ()) -> bytes:
    """The text format for one scrape: every process's metrics plus ``extra`` families."""
    if multiprocess_dir() is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(_Families(extra))
    return body + generate_latest(scrape)


def bearer_token_matches(authorization: str) -> bool:
    """Whether an Authorization header carries REGSECRETS_METRICS_TOKEN (constant time)."""
    expected = str(getattr(settings, "REGSECRETS_METRICS_TOKEN", "") or "")
    scheme, _, given = authorization.partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


# ------------------------------------------------- a worker's own metrics server


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes every few seconds would drown the worker's log


def wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """/metrics for processes without Django's URLs (Celery workers), same token rule."""
    if environ.get("PATH_INFO") != "/metrics" or not getattr(
        settings, "REGSECRETS_METRICS_TOKEN", ""
    ):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found.\n"]
    if not bearer_token_matches(environ.get("HTTP_AUTHORIZATION", "")):
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"Forbidden.\n"]
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [exposition()]


def serve_in_background(port: int, address: str = "0.0.0.0") -> WSGIServer:  # noqa: S104
    """Serve ``wsgi_app`` on ``port`` from a daemon thread; returns the server."""
    server = make_server(address, port, wsgi_app, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="regsecrets-metrics", daemon=True).start()
    return server


_ensure_multiprocess_dir()
