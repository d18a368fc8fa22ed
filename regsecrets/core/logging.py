"""A logging filter that redacts credential-shaped values from every record.

Code never logs credentials on purpose; this is the second line of defence for
libraries and exception messages that might (request bodies, headers, URLs).
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject, empty
from pythonjsonlogger.json import JsonFormatter

REDACTED = "[redacted]"

# The request being served by this thread or task, set by
# core.observe.RequestObservationMiddleware for the records made while it runs.
current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "regsecrets_current_request", default=None
)

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


# ------------------------------------------------------------ request context


def _loaded_user_id(request: HttpRequest) -> Any:
    """The signed-in user's id, only if the request already loaded the user.

    AuthenticationMiddleware's user is lazy; a log record must not be what loads
    it (a query, perhaps during the very database outage being logged).
    """
    user: Any = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


class RequestContextFilter(logging.Filter):
    """Give each record ``request_id``, ``user_id`` and ``organization_id`` (or None).

    The values come from the request this thread is serving, as far as the request
    knows them when the record is made (no query is made for them).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = current_request.get()
        organization = request.__dict__.get("organization") if request is not None else None
        record.request_id = getattr(request, "request_id", None)
        record.user_id = _loaded_user_id(request) if request is not None else None
        record.organization_id = getattr(organization, "pk", None)
        return True


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per line with a fixed set of keys, every text redacted.

    Only these keys are written, never a record's other attributes: ``extra=``
    values (Django's own loggers pass the request object) are not redacted where
    the record is made, so they are left out rather than trusted.
    """

    KEYS = (
        "timestamp",
        "level",
        "logger",
        "message",
        "request_id",
        "user_id",
        "organization_id",
        "exc_info",
        "stack_info",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", ["levelname", "name", "message"])
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", True)
        super().__init__(*args, **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for key in ("request_id", "user_id", "organization_id"):
            log_data[key] = getattr(record, key, None)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # The request keys are always there (null outside a request), the rest when set.
        always = ("request_id", "user_id", "organization_id")
        kept = {
            key: log_data.get(key)
            for key in self.KEYS
            if key in always or log_data.get(key) is not None
        }
        for key in ("message", "exc_info", "stack_info"):
            value = kept.get(key)
            if isinstance(value, str):
                kept[key] = redact(value)
        return kept
