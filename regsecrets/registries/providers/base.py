"""What every provider shares: the field and result types, the base class whose
``validate`` runs the common checks before the provider's own ``clean``, and the
input checks several providers use.

Messages never contain a secret value: they name the field and the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from regsecrets.registries.dockerconfig import (
    MAX_DOCKER_CONFIG_BYTES,
    build_docker_config,
    decode_text,
    parse_registry_key,
)
from regsecrets.registries.errors import ProviderValidationError
from regsecrets.registries.text import has_control_characters

__all__ = [
    "FieldErrors",
    "Provider",
    "ProviderField",
    "ProviderResult",
    "clean_password",
    "clean_token",
    "clean_username",
    "registry_host",
    "secret_field",
    "single_entry",
    "text_field",
]

MAX_USERNAME = 255
# Generous: cloud-issued tokens (ECR, ACR refresh tokens) run to a few kilobytes.
MAX_PASSWORD = 8192
_REQUIRED = "This field is required."


@dataclass(frozen=True)
class ProviderField:
    """One input a provider asks for."""

    name: str  # the Koyeb API field name
    label: str
    help_text: str
    kind: str  # "text" | "password" | "json" (a textarea that also accepts an upload)
    required: bool = True
    max_length: int | None = None
    placeholder: str = ""

    @property
    def secret(self) -> bool:
        """Write-only: accepted, stored, never shown again."""
        return self.kind in ("password", "json")


@dataclass(frozen=True)
class ProviderResult:
    """What a provider makes of valid input."""

    # Both hold secrets: kept out of repr so a logged or displayed result leaks nothing.
    fields: dict[str, str] = field(repr=False)  # normalized input under Koyeb field names
    config: dict[str, Any] = field(repr=False)  # normalized Docker config document
    hosts: tuple[str, ...]  # the auths keys as stored, in order
    username: str  # non-secret display username, "" when none


class FieldErrors:
    """Collects the errors of one submission, so the form reports them together."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def __contains__(self, name: str) -> bool:
        return name in self.errors

    def raise_if_any(self) -> None:
        if self.errors:
            raise ProviderValidationError(self.errors)


class Provider:
    """A kind of registry and how to turn its form input into a config document.

    A subclass declares what it asks for in class attributes and implements
    :meth:`clean`; one that can tell its host from partial input overrides
    :meth:`preview`. The catalogue (:mod:`.catalogue`) holds one instance of each.
    """

    key: ClassVar[str]  # Koyeb API payload key, e.g. "docker_hub_registry"
    slug: ClassVar[str]  # URL slug, e.g. "docker-hub"
    label: ClassVar[str]
    icon: ClassVar[str]  # CSS class suffix / static icon name
    description: ClassVar[str]  # one line for the picker card
    help: ClassVar[str]  # where to create the credential and with which scope
    # The provider's own page where that credential is made, linked beside the help
    # (every form that shows the help shows the link); "" when there is none.
    console_url: ClassVar[str] = ""
    console_label: ClassVar[str] = ""  # the link's words, e.g. "GitHub token settings"
    # What identifies a secret whose stored username is empty (lists, detail page).
    identity_hint: ClassVar[str] = ""
    # The registry hosts this provider is the one for, as shell-style patterns
    # ("*.azurecr.io"): an image on such a host preselects this provider in forms.
    host_patterns: ClassVar[tuple[str, ...]] = ()
    fields: ClassVar[tuple[ProviderField, ...]]
    # Inputs the API may send that the form does not ask for (e.g. DigitalOcean's
    # username, which is the token anyway).
    extra_fields: ClassVar[tuple[ProviderField, ...]] = ()
    # The host a live preview shows when the input does not name one.
    host: ClassVar[str | None] = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key}>"

    def validate(self, data: Mapping[str, Any]) -> ProviderResult:
        """Validate input and build the result; raise ProviderValidationError.

        Values are str, or bytes / file objects for uploads of json fields. Whitespace
        around non-secret values is stripped; secrets are taken as given.
        """
        errors = FieldErrors()
        values: dict[str, str] = {}
        for spec in (*self.fields, *self.extra_fields):
            try:
                text = _coerce(data.get(spec.name), spec)
            except ValueError as exc:
                errors.add(spec.name, str(exc))
                continue
            if not spec.secret:
                text = text.strip()
            if not text.strip():
                if spec.required:
                    errors.add(spec.name, _REQUIRED)
                continue
            if spec.max_length is not None and len(text) > spec.max_length:
                errors.add(spec.name, f"Enter at most {spec.max_length} characters.")
                continue
            values[spec.name] = text
        # clean runs even after field errors, checking the fields that are present, so
        # one submission reports every problem; fields with errors are left out.
        result = self.clean(values, errors)
        errors.raise_if_any()
        assert result is not None  # clean returns None only after adding an error
        return result

    def clean(self, values: dict[str, str], errors: FieldErrors) -> ProviderResult | None:
        """Check the provider's own rules and build the result.

        ``values`` holds the fields that passed the common checks; add a message to
        ``errors`` for each problem, and return None when there is any.
        """
        raise NotImplementedError

    def preview(self, data: Mapping[str, Any]) -> str | None:
        """The registry host this raw input would be stored for; may raise."""
        return self.host

    def preview_host(self, data: Mapping[str, Any]) -> str | None:
        """Best-effort registry host for a live preview; never raises."""
        try:
            return self.preview(data)
        except Exception:  # a preview must not break a page, whatever the input
            return None

    def identity(self, username: str) -> str:
        """How a stored secret is recognised in lists: its username, or the hint."""
        return username or self.identity_hint

    @property
    def secret_fields(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields if spec.secret)


def _coerce(value: Any, spec: ProviderField) -> str:
    """Turn one raw input value into text; raise ValueError with a safe message."""
    if value is None:
        return ""
    if hasattr(value, "read"):  # an uploaded file
        limit = MAX_DOCKER_CONFIG_BYTES if spec.kind == "json" else MAX_PASSWORD
        value = value.read(limit + 1)
    if isinstance(value, bytes | bytearray):
        if spec.kind == "json" and len(value) > MAX_DOCKER_CONFIG_BYTES:
            raise ValueError(f"The file is larger than {MAX_DOCKER_CONFIG_BYTES // 1024} KiB.")
        try:
            return decode_text(bytes(value))
        except UnicodeDecodeError:
            raise ValueError("The file is not UTF-8 text.")
    if not isinstance(value, str):
        raise ValueError("Enter text.")
    if spec.kind == "json" and len(value) > MAX_DOCKER_CONFIG_BYTES:
        raise ValueError(f"The text is larger than {MAX_DOCKER_CONFIG_BYTES // 1024} KiB.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("The text contains invalid Unicode.")
    return value


# --- field declarations -------------------------------------------------------------


def text_field(name: str, label: str, help_text: str, **kwargs: Any) -> ProviderField:
    kwargs.setdefault("max_length", MAX_USERNAME)
    return ProviderField(name=name, label=label, help_text=help_text, kind="text", **kwargs)


def secret_field(name: str, label: str, help_text: str, **kwargs: Any) -> ProviderField:
    kwargs.setdefault("max_length", MAX_PASSWORD)
    return ProviderField(name=name, label=label, help_text=help_text, kind="password", **kwargs)


# --- shared checks ------------------------------------------------------------------


def clean_username(values: dict[str, str], errors: FieldErrors, name: str = "username") -> str:
    value = values.get(name, "")
    if ":" in value:
        # Docker joins username and password with the first colon in "auth".
        errors.add(name, "The username cannot contain a colon.")
    elif any(ch.isspace() for ch in value) or has_control_characters(value):
        errors.add(name, "The username cannot contain spaces or control characters.")
    return value


def clean_token(values: dict[str, str], errors: FieldErrors, name: str = "password") -> str:
    """A provider-issued token: never contains whitespace, so surrounding whitespace
    from copy and paste is dropped rather than making the login fail later."""
    value = values.get(name, "").strip()
    if any(ch.isspace() for ch in value) or has_control_characters(value):
        errors.add(name, "The token cannot contain spaces or line breaks; paste the token alone.")
    return value


def clean_password(values: dict[str, str], errors: FieldErrors, name: str = "password") -> str:
    value = values.get(name, "")
    if has_control_characters(value):
        errors.add(name, "The password cannot contain line breaks or control characters.")
    return value


def registry_host(value: str, errors: FieldErrors, name: str, example: str) -> str | None:
    """Parse a registry host[:port] typed in a form (scheme optional, no path)."""
    try:
        parsed = parse_registry_key(value, allow_globs=False)
    except ValueError as exc:
        errors.add(name, f"Enter a registry host such as {example}: {exc}.")
        return None
    if parsed.path:
        errors.add(name, f"Enter only the registry host, such as {example}, without a path.")
        return None
    return parsed.hostport


def single_entry(
    host: str,
    username: str,
    password: str,
    fields: dict[str, str],
    display_username: str | None = None,
) -> ProviderResult:
    """The result for a provider whose document has one registry entry."""
    return ProviderResult(
        fields=fields,
        config=build_docker_config([(host, username, password)]),
        hosts=(host,),
        username=username if display_username is None else display_username,
    )
