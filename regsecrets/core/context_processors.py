"""Template context every page gets from core: the release shown in the footer."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from regsecrets import __version__


def version(request: HttpRequest) -> dict[str, Any]:
    return {"regsecrets_version": __version__}
