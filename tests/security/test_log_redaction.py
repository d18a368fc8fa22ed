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
