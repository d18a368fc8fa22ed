"""The key ring: parsing, caching by settings value, development key file."""

from __future__ import annotations

import base64
import logging
import stat

import pytest

from regsecrets.crypto import KeyRingError, generate_key_entry, get_keyring, parse_keyring
from tests.conftest import TEST_KEY_A, TEST_KEY_B
from tests.crypto.conftest import ROTATED_RING

RAW_A = bytes(range(32))


def test_first_entry_encrypts_and_every_entry_is_known():
    ring = parse_keyring(ROTATED_RING)
    assert ring.active_kid == "test-b"
    assert ring.kids == ("test-b", "test-a")
    assert "test-a" in ring
    assert "other" not in ring


@pytest.mark.parametrize(
    "encoded",
    [
        base64.b64encode(RAW_A).decode(),
        base64.urlsafe_b64encode(RAW_A).decode(),
        base64.urlsafe_b64encode(RAW_A).decode().rstrip("="),
    ],
    ids=["standard", "urlsafe", "urlsafe-unpadded"],
)
def test_standard_and_urlsafe_base64_keys_are_accepted(encoded):
    ring = parse_keyring(f"k1:{encoded}")
    assert ring.active_kid == "k1"


def test_whitespace_and_newlines_between_entries_are_tolerated():
    ring = parse_keyring(f"  a:{TEST_KEY_A} ,\n b:{TEST_KEY_B}\n")
    assert ring.kids == ("a", "b")


def test_repr_names_kids_but_not_keys():
    ring = parse_keyring(ROTATED_RING)
    text = repr(ring)
    assert "test-b" in text
    assert TEST_KEY_A not in text
    assert TEST_KEY_B not in text
    assert "__dict__" not in dir(ring)  # no attribute bag to dump keys through


SHORT_KEY = base64.b64encode(b"x" * 16).decode()


@pytest.mark.parametrize(
    ("raw", "position", "problem"),
    [
        (f"a:{TEST_KEY_A},b:not*base64", 2, "not valid base64"),
        (f"a:{SHORT_KEY}", 1, "16 bytes"),
        (f"a:{TEST_KEY_A},b:{TEST_KEY_B},a:{TEST_KEY_B}", 3, "repeats the KID of entry 1"),
        (f"a:{TEST_KEY_A},:{TEST_KEY_B}", 2, "empty KID"),
        (f"a:{TEST_KEY_A},,b:{TEST_KEY_B}", 2, "is empty"),
        (f"{TEST_KEY_B}", 1, "no ':'"),
        (f"a:{TEST_KEY_A},bad kid!:{TEST_KEY_B}", 2, "invalid KID"),
        (f"a:{TEST_KEY_A},b:", 2, "0 bytes"),
    ],
    ids=[
        "bad-base64",
        "wrong-length",
        "duplicate-kid",
        "empty-kid",
        "empty-entry",
        "missing-colon",
        "invalid-kid",
        "empty-key",
    ],
)
def test_malformed_ring_names_the_entry_position_never_the_key(raw, position, problem):
    with pytest.raises(KeyRingError) as excinfo:
        parse_keyring(raw)
    message = str(excinfo.value)
    assert f"entry {position}" in message
    assert problem in message
    for key in (TEST_KEY_A, TEST_KEY_B, SHORT_KEY, "not*base64"):
        assert key not in message


def test_malformed_ring_in_settings_fails_on_use(settings):
    settings.REGSECRETS_ENCRYPTION_KEYS = f"a:{SHORT_KEY}"
    with pytest.raises(KeyRingError, match="entry 1"):
        get_keyring()


def test_ring_is_cached_by_settings_value_and_follows_overrides(settings):
    first = get_keyring()
    assert get_keyring() is first
    settings.REGSECRETS_ENCRYPTION_KEYS = ROTATED_RING
    assert get_keyring().active_kid == "test-b"


def test_no_key_without_debug_refuses_even_with_a_secret_key(settings):
    settings.DEBUG = False
    settings.SECRET_KEY = "x" * 60
    settings.REGSECRETS_ENCRYPTION_KEYS = ""
    with pytest.raises(KeyRingError, match="No encryption key"):
        get_keyring()


def test_debug_without_key_creates_a_private_dev_key_file_once_and_logs_it(
    settings, tmp_path, caplog
):
    path = tmp_path / "var" / "encryption.keys"
    settings.DEBUG = True
    settings.REGSECRETS_ENCRYPTION_KEYS = ""
    settings.REGSECRETS_DEV_KEY_FILE = path
    with caplog.at_level(logging.WARNING, logger="regsecrets.crypto"):
        ring = get_keyring()
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "Created development encryption key file" in caplog.text
    key_text = path.read_text().strip().partition(":")[2]
    assert key_text not in caplog.text
    caplog.clear()
    again = get_keyring()
    assert again.active_kid == ring.active_kid
    assert "Created" not in caplog.text
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_generated_entries_parse_and_differ():
    first, second = generate_key_entry(), generate_key_entry()
    assert first != second
    assert parse_keyring(f"{first},{second}").kids == (
        first.partition(":")[0],
        second.partition(":")[0],
    )
    assert generate_key_entry("prod-2025").startswith("prod-2025:")


def test_generated_entry_refuses_a_kid_that_cannot_be_parsed_back():
    with pytest.raises(ValueError, match="KID"):
        generate_key_entry("has:colon")
