from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.views.decorators.cache import never_cache

from regsecrets.accounts.context import ContextRequest
from regsecrets.core.readiness import readiness_problems


def home(request: ContextRequest) -> HttpResponse:
    if request.user.is_authenticated:
        if request.organization is None:
            return redirect("organization_create")
        return redirect("registry_secrets:list")
    return render(request, "core/home.html")


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: 200 when the database and the key ring work, else 503 and why."""
    problems = readiness_problems()
    if problems:
        return JsonResponse({"status": "unavailable", "reasons": problems}, status=503)
    return JsonResponse({"status": "ok"})


def error_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "400.html", status=400)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors that touch the database: the error may be the database.
    return HttpResponse(loader.get_template("500.html").render({}), status=500)
