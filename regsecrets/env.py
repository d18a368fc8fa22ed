"""Read settings from the environment, with ``NAME_FILE`` support.

Container and Kubernetes secrets are usually mounted as files, so every
variable may also be given as ``NAME_FILE`` pointing at a file holding the value.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any, overload

import dj_email_url

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None = None) -> str | None: ...


def env(name: str, default: str | None = None) -> str | None:
    """Return ``name`` from the environment, or the contents of ``name_FILE``."""
    if name in os.environ:
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def env_list(name: str, default: str = "") -> list[str]:
    value = env(name, default) or ""
    return [item.strip() for item in value.split(",") if item.strip()]


def env_float(name: str, default: float) -> float:
    value = env(name)
    if value is None or not value.strip():
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {value!r}")


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_duration(name: str, default: str) -> float:
    """Seconds from ``90``, ``90s``, ``15m``, ``6h`` or ``2d``."""
    value = (env(name, default) or default).strip().lower()
    unit = _UNITS.get(value[-1:], 0)
    number = value[:-1] if unit else value
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise ValueError(f"{name} must be a duration such as 6h, 30m or 3600, not {value!r}")
    if seconds <= 0:
        raise ValueError(f"{name} must be positive, not {value!r}")
    return seconds


# django-environ's spellings, which operators know, mapped onto dj-email-url's.
_EMAIL_SCHEME_ALIASES = {
    "smtp+tls": ("smtp", "tls=true"),
    "smtp+ssl": ("smtp", "ssl=true"),
    "consolemail": ("console", ""),
    "filemail": ("file", ""),
    "memorymail": ("memory", ""),
    "dummymail": ("dummy", ""),
}


def email_config(url: str) -> dict[str, Any]:
    """Django's EMAIL_* settings from one EMAIL_URL (dj-email-url plus environ's aliases)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("EMAIL_URL must look like smtp://user:password@host:port")
    target, query = _EMAIL_SCHEME_ALIASES.get(scheme.lower(), (scheme.lower(), ""))
    if query:
        rest += ("&" if "?" in rest else "?") + query
    config = dj_email_url.parse(f"{target}://{rest}")
    if "EMAIL_BACKEND" not in config:
        raise ValueError(f"EMAIL_URL has an unknown scheme {scheme!r}")
    if target == "file":
        # dj-email-url drops the leading slash of an absolute path.
        config["EMAIL_FILE_PATH"] = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    return config
