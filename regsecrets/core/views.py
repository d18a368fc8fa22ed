from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.views.decorators.cache import never_cache

from regsecrets import __version__
from regsecrets.accounts.context import ContextRequest
from regsecrets.core import metrics as core_metrics
from regsecrets.core.readiness import readiness_problems
from regsecrets.crypto import KeyRingError, get_keyring
from regsecrets.crypto.status import rows_pending_rotation
from regsecrets.registry_secrets.selectors import health_status_counts

logger = logging.getLogger(__name__)


def home(request: ContextRequest) -> HttpResponse:
    if request.user.is_authenticated:
        if request.organization is None:
            return redirect("organization_create")
        return redirect("registry_secrets:list")
    return render(request, "core/home.html")


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok", "version": __version__})


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when the database and the key ring work, else 503 and why."""
    problems = readiness_problems()
    if problems:
        return JsonResponse({"status": "unavailable", "reasons": problems}, status=503)
    return JsonResponse({"status": "ok"})


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for a scraper holding REGSECRETS_METRICS_TOKEN.

    404 when no token is configured (the endpoint is off), 403 without the right
    ``Authorization: Bearer`` header. The process counters come from every worker
    process; the database gauges are read now, and left out if the database fails.
    """
    if not settings.REGSECRETS_METRICS_TOKEN:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if not core_metrics.bearer_token_matches(request.headers.get("Authorization", "")):
        return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
    return HttpResponse(
        core_metrics.exposition(_state_families()), content_type=core_metrics.CONTENT_TYPE_LATEST
    )


def _state_families() -> list[core_metrics.Metric]:
    families = []
    try:
        families.append(
            core_metrics.gauge(
                "regsecrets_secrets_by_health_status",
                "Registry secrets in each health status, every organization together.",
                "status",
                health_status_counts(),
            )
        )
        families.append(
            core_metrics.gauge(
                "regsecrets_rotation_pending_rows",
                "Rows whose ciphertext is not under the active key (0 once rotation is done).",
                "field",
                rows_pending_rotation(get_keyring().active_kid),
            )
        )
    except (DatabaseError, KeyRingError) as exc:
        logger.warning("Metrics: the database gauges are left out: %s", type(exc).__name__)
    return families


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "400.html", status=400)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors that touch the database: the error may be the database.
    return HttpResponse(loader.get_template("500.html").render({}), status=500)
