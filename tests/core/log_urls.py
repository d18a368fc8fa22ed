"""The project's URLs plus one page that logs, for the structured-log tests."""

from __future__ import annotations

import logging

from django.http import HttpResponse
from django.urls import path

from regsecrets.urls import handler400, handler403, handler404, handler500  # noqa: F401
from regsecrets.urls import urlpatterns as project_urlpatterns
from tests.conftest import CANARY

logger = logging.getLogger("regsecrets.tests.logging")


def logs_a_credential(request):
    logger.warning("calling the registry with password=%s", CANARY, extra={"detail": CANARY})
    try:
        raise RuntimeError(f"registry said: Authorization: Bearer {CANARY}")
    except RuntimeError:
        logger.exception("the check failed", extra={"request": request})
    return HttpResponse("logged")


urlpatterns = [*project_urlpatterns, path("test-logs/", logs_a_credential)]
