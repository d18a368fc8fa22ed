"""A logging filter that redacts credential-shaped values from every record.

Code never logs credentials on purpose; this is the second line of defence for
libraries and exception messages that might (request bodies, headers, URLs).
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

_PATTERNS = [
    # Authorization headers and Basic/Bearer values.
    re.compile(r"(?i)\b(authorization\s*[:=]\s*)(basic|bearer)\s+[^\s,'\"]+"),
    re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]{8,}"),
    # key=value and "key": "value" forms for credential-looking keys.
    re.compile(
        r"(?i)([\"']?(?:password|passwd|token|access_token|identitytoken|registrytoken|auth|"
        r"keyfile_content|private_key|secret)[\"']?\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,&}]+)"
    ),
    # Our own API tokens.
    re.compile(r"\brst_[A-Za-z0-9_-]{10,}"),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        if pattern.groups >= 2 and pattern.pattern.startswith("(?i)(["):
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        elif pattern.groups >= 1 and pattern.pattern.startswith(r"(?i)\b(authorization"):
            text = pattern.sub(lambda m: m.group(1) + m.group(2) + " " + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Rewrite the record's message with credential-shaped values redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not drop the record
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = redact(str(record.exc_info[1]))
            if exc_text != str(record.exc_info[1]):
                record.exc_text = None
                record.msg = f"{record.msg} ({REDACTED} exception text)"
        return True
