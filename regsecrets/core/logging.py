"""A logging filter that redacts credential-shaped values from every record.

Code never logs credentials on purpose; this is the second line of defence for
libraries and exception messages that might (request bodies, headers, URLs).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

REDACTED = "[redacted]"

# (pattern, replacement): each keeps the label it matched and drops the value.
_RULES: list[tuple[re.Pattern[str], str]] = [
    # Authorization headers and Basic/Bearer values.
    (
        re.compile(r"(?i)\b(authorization\s*[:=]\s*)(basic|bearer)\s+[^\s,'\"]+"),
        rf"\g<1>\g<2> {REDACTED}",
    ),
    (re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), REDACTED),
    # key=value and "key": "value" forms for credential-looking keys.
    (
        re.compile(
            r"(?i)([\"']?(?:password|passwd|token|access_token|identitytoken|registrytoken|"
            r"auth|keyfile_content|private_key|secret|secret_access_key|secretaccesskey|"
            r"sessiontoken)[\"']?\s*[:=]\s*)"
            r"(\"[^\"]*\"|'[^']*'|[^\s,&}]+)"
        ),
        rf"\g<1>{REDACTED}",
    ),
    # Our own API tokens.
    (re.compile(r"\brst_[A-Za-z0-9_-]{10,}"), REDACTED),
]


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def _format_exception(exc_info: Any) -> str:
    return logging.Formatter().formatException(exc_info)


def _exception_carries_credentials(exc: BaseException) -> bool:
    """Whether the message of ``exc`` or of an exception chained to it needs redacting.

    Only messages are judged: a traceback's source lines (``token = ...``) are code.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        try:
            message = str(current)
        except Exception:
            message = ""
        if redact(message) != message:
            return True
        current = current.__cause__ or current.__context__
    return False


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact the record's message and exception text in place; return it.

    When an exception message carries a credential, the redacted traceback is
    kept as ``exc_text`` and ``exc_info`` is dropped: formatters print
    ``exc_text`` as it is, but would format ``exc_info`` (and its message)
    again from the live exception object.
    """
    try:
        message = record.getMessage()
    except Exception:  # a broken format string must not drop the record
        message = str(record.msg)
    cleaned = redact(message)
    if cleaned != message:
        record.msg = cleaned
        record.args = None
    if record.exc_info and record.exc_info[1] is not None:
        if _exception_carries_credentials(record.exc_info[1]):
            text = record.exc_text or _format_exception(record.exc_info)
            record.exc_text = redact(text)
            record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    return record


class RedactSecretsFilter(logging.Filter):
    """Rewrite the record's message with credential-shaped values redacted.

    Every record made after Django's setup is already redacted by the record
    factory below; this filter is for handlers an operator attaches to records
    made elsewhere (a process logging before Django is set up).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_INSTALLED: dict[str, Callable[..., logging.LogRecord]] = {}


def install_record_redaction() -> None:
    """Redact every record when it is made, whichever handler emits it.

    A handler's filter only guards that handler: Django's own ``mail_admins``
    and debug console handlers, pytest's caplog, or a handler an operator adds
    would otherwise see the record as logged. Wrapping the record factory covers
    them all. Idempotent.
    """
    if "factory" in _INSTALLED:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    _INSTALLED["factory"] = factory
    logging.setLogRecordFactory(factory)
