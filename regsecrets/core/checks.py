"""System checks that refuse insecure production settings, naming the variable."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

# /metrics answers anyone holding the bearer token: it must not be guessable.
MIN_METRICS_TOKEN_LENGTH = 32


@register(Tags.security, deploy=False)
def check_production_settings(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if settings.DEBUG:
        return []
    errors: list[Error] = []
    key = settings.SECRET_KEY or ""
    if (
        key == settings.INSECURE_SECRET_KEY_PLACEHOLDER
        or key.startswith("django-insecure")
        or len(key) < 50
        or len(set(key)) < 5
    ):
        errors.append(
            Error(
                "DJANGO_SECRET_KEY is missing or insecure while DJANGO_DEBUG is off.",
                hint="Set DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) to at least 50 random "
                "characters, e.g. from "
                "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`.",
                id="regsecrets.E010",
            )
        )
    if not settings.ALLOWED_HOSTS:
        errors.append(
            Error(
                "DJANGO_ALLOWED_HOSTS is empty while DJANGO_DEBUG is off.",
                hint="Set DJANGO_ALLOWED_HOSTS to the comma-separated host names the app serves.",
                id="regsecrets.E011",
            )
        )
    elif "*" in settings.ALLOWED_HOSTS:
        errors.append(
            Error(
                "DJANGO_ALLOWED_HOSTS contains '*' while DJANGO_DEBUG is off.",
                hint="List the host names explicitly.",
                id="regsecrets.E012",
            )
        )
    for origin in settings.CSRF_TRUSTED_ORIGINS:
        if not origin.startswith("https://"):
            errors.append(
                Error(
                    f"DJANGO_CSRF_TRUSTED_ORIGINS entry {origin!r} is not an https:// origin.",
                    hint="Production origins must use HTTPS.",
                    id="regsecrets.E013",
                )
            )
    token = str(getattr(settings, "REGSECRETS_METRICS_TOKEN", "") or "")
    if token and len(token) < MIN_METRICS_TOKEN_LENGTH:
        errors.append(
            Error(
                f"REGSECRETS_METRICS_TOKEN is shorter than {MIN_METRICS_TOKEN_LENGTH} characters.",
                hint="Use a long random token, e.g. from "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`, "
                "or leave it empty to turn /metrics off.",
                id="regsecrets.E014",
            )
        )
    return errors
