from __future__ import annotations

import logging

import pytest

from regsecrets.core.logging import RedactSecretsFilter, redact
from tests.conftest import CANARY


@pytest.mark.parametrize(
    "message",
    [
        f"Authorization: Basic {CANARY}",
        f"Authorization: Bearer {CANARY}",
        f"password={CANARY}&user=x",
        f'{{"password": "{CANARY}"}}',
        f"'token': '{CANARY}'",
        f"keyfile_content={CANARY}",
        f"got rst_{CANARY}_abcdef",
    ],
)
def test_credential_shapes_are_redacted(message):
    assert CANARY not in redact(message)


def test_plain_messages_are_untouched():
    assert redact("secret acme/github created by alice") == "secret acme/github created by alice"


def test_filter_rewrites_record_with_args():
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "login %s", (f"password={CANARY}",), None
    )
    assert RedactSecretsFilter().filter(record)
    assert CANARY not in record.getMessage()


def test_every_record_is_redacted_whichever_handler_gets_it(caplog):
    """The filter is installed on the record factory, not only on the console handler:
    pytest's caplog, Django's mail_admins or any added handler see redacted records."""
    caplog.set_level(logging.DEBUG)
    logging.getLogger("some.library").debug("sending password=%s", CANARY)
    logging.getLogger("django.request").warning("Bad: Authorization: Bearer %s", CANARY)
    assert len(caplog.records) == 2
    for record in caplog.records:
        assert CANARY not in record.getMessage()
    assert CANARY not in caplog.text


def test_an_exception_message_with_a_credential_is_redacted_in_the_traceback(caplog):
    caplog.set_level(logging.ERROR)
    try:
        raise ValueError(f"login failed with password={CANARY}")
    except ValueError:
        logging.getLogger("some.library").exception("verification failed")
    (record,) = caplog.records
    assert record.exc_info is None  # the live exception would be formatted again
    assert "ValueError" in record.exc_text
    assert CANARY not in caplog.text


def test_an_exception_without_credentials_keeps_its_traceback(caplog):
    caplog.set_level(logging.ERROR)
    try:
        secret = None
        raise ValueError(f"no such row {secret}")
    except ValueError:
        logging.getLogger("some.library").exception("failed")
    (record,) = caplog.records
    assert record.exc_info is not None
    assert "no such row None" in caplog.text
