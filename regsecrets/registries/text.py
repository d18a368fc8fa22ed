"""The one control-character rule for text that people type or send.

Every face and layer that refuses control characters (provider fields, config
documents, API query parameters, token names) asks this function, so they agree
on what a control character is: the C0 range (NUL, tab, line breaks, escape...)
and DEL.
"""

from __future__ import annotations

__all__ = ["has_control_characters"]


def has_control_characters(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)
