"""The naming rule shared by secrets, apps and services.

Services and the API refer to secrets by name, so names are stable identifiers:
2–64 characters, lowercase letters, digits and dashes, starting with a letter
and not ending with a dash.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

NAME_RE = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
NAME_HELP = (
    "2–64 characters: lowercase letters, digits and dashes; "
    "starts with a letter, does not end with a dash."
)


def validate_name(value: str) -> None:
    if not isinstance(value, str):
        raise ValidationError("Enter a name.", code="invalid")
    if len(value) < 2:
        raise ValidationError("Use at least 2 characters.", code="min_length")
    if len(value) > 64:
        raise ValidationError("Use at most 64 characters.", code="max_length")
    if not value[0].isascii() or not value[0].isalpha() or not value[0].islower():
        raise ValidationError("Start with a lowercase letter.", code="invalid")
    if value.endswith("-"):
        raise ValidationError("Do not end with a dash.", code="invalid")
    if not NAME_RE.match(value):
        raise ValidationError("Use only lowercase letters, digits and dashes.", code="invalid")
