"""Exceptions of the registry domain.

All of them are ``ValueError`` subclasses so callers that only care about "bad input"
can catch one type. Their messages are shown to users and written to logs, so they
never carry a secret value: they name the registry key or the field instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["InvalidDockerConfig", "InvalidImageReference", "ProviderValidationError"]


class InvalidDockerConfig(ValueError):
    """A Docker config document (config.json) is malformed or unusable."""


class InvalidImageReference(ValueError):
    """An image reference does not follow the distribution reference grammar."""


class ProviderValidationError(ValueError):
    """A provider's input failed validation.

    ``errors`` maps a field name (``"__all__"`` for the form as a whole) to its
    messages, ready to hand to a Django form's ``add_error`` or to an API response.
    """

    NON_FIELD = "__all__"

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors: dict[str, list[str]] = {
            field: list(messages) for field, messages in errors.items() if messages
        }
        summary = "; ".join(
            f"{field}: {message}" for field, messages in self.errors.items() for message in messages
        )
        super().__init__(summary or "invalid input")
