"""Django forms for registry secrets, built from the provider catalogue.

One generic builder turns a :class:`~regsecrets.registries.Provider` into a form
class, so the browser pages, the admin and the service form's inline create all
ask for the same fields with the same help. Forms check the shape of the input
only (required, length, upload size); the provider catalogue, called by the
service functions, decides whether the credential is valid, and
:meth:`SecretForm.add_service_errors` maps its verdict back onto the fields.

Credentials are write-only: password inputs and the config/key-file textareas
never render a value, so a failed submission does not echo them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest
from django.urls import reverse

from regsecrets.accounts.models import Organization
from regsecrets.core.names import NAME_HELP, validate_name
from regsecrets.registries import MAX_DOCKER_CONFIG_BYTES, PROVIDERS, Provider, ProviderField
from regsecrets.registry_secrets.services import secret_create, secret_create_prepare

__all__ = [
    "FILE_SUFFIX",
    "SecretForm",
    "SecretTextarea",
    "provider_cards",
    "provider_form_class",
    "upload_was_dropped",
]

FILE_SUFFIX = "_file"
KEEP_HELP = "Leave empty to keep the stored value."
# What an edit form's credential input shows while a value is stored.
STORED_PLACEHOLDER = "stored — leave empty to keep"
EITHER_HELP = "Paste it above or upload the file here: one of the two is needed."
RETYPE_NOTICE = (
    "Type this again: what you typed was not kept, because credentials are never "
    "sent back to the page."
)


def example(text: str) -> str:
    """A placeholder that reads as an example, never as a value already there."""
    return f"e.g. {text}" if text else ""


class SecretTextarea(forms.Textarea):
    """A textarea that never renders its value: it holds a config or key file.

    Its field is marked required (the asterisk), but either it or the upload beside
    it will do, so the browser's own required check is left out.
    """

    def format_value(self, value: Any) -> None:
        return None

    def use_required_attribute(self, initial: Any) -> bool:
        return False


class EitherFileInput(forms.FileInput):
    """The upload alternative to a SecretTextarea: marked required, not enforced alone."""

    def use_required_attribute(self, initial: Any) -> bool:
        return False


class PasteOrUploadField(forms.CharField):
    """The pasted half of a paste-or-upload pair: shown as required, and
    ``SecretForm.clean`` checks that one of the two came."""

    def validate(self, value: Any) -> None:
        if value in self.empty_values:
            return
        super().validate(value)


class UploadOrPasteField(forms.FileField):
    """The uploaded half of the pair (see PasteOrUploadField)."""

    def validate(self, value: Any) -> None:
        if value in self.empty_values:
            return
        super().validate(value)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if not data and not initial:
            return None  # the pasted half may be there: SecretForm.clean decides
        return super().clean(data, initial)


class SecretForm(forms.Form):
    """Base of every provider form: the secret's name plus the provider's fields.

    Subclasses are made by :func:`provider_form_class`; ``provider`` and
    ``editing`` are set on them.
    """

    provider: Provider
    editing: bool = False
    # Set by a view when the upload handler dropped an oversized request's files
    # (see upload_was_dropped), so the user hears why the file is missing.
    upload_dropped: bool = False

    name = forms.CharField(
        label="Name",
        max_length=64,
        validators=[validate_name],
        help_text=NAME_HELP + " Services refer to the secret by this name.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "spellcheck": "false",
                "autocapitalize": "none",
                "placeholder": example("ghcr-acme"),
            }
        ),
    )

    expires_at = forms.DateField(
        label="Expires on",
        required=False,
        help_text=(
            "Optional. The day the token or password stops working: owners and admins "
            "are told 14, 3 and 1 days before."
        ),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if not self.editing:
            # A json field is required, but may come as text or as an upload.
            for spec in self.provider.fields:
                if spec.kind != "json" or not spec.required:
                    continue
                file_name = spec.name + FILE_SUFFIX
                if spec.name in self.errors or file_name in self.errors:
                    continue
                if not cleaned.get(spec.name, "").strip() and not cleaned.get(file_name):
                    self.add_error(spec.name, "Paste the file or choose it below.")
        if self.upload_dropped:
            for spec in self.provider.fields:
                if spec.kind == "json":
                    self.add_error(spec.name + FILE_SUFFIX, _too_large_message())
        return cleaned

    def provider_data(self) -> dict[str, Any]:
        """The provider input for ``Provider.validate`` / ``secret_update``.

        Uploaded files win over pasted text and are passed as bytes; an empty
        value on an edit form means "keep the stored value" to secret_update.
        """
        data: dict[str, Any] = {}
        for spec in self.provider.fields:
            value: Any = self.cleaned_data.get(spec.name) or ""
            if spec.kind == "json":
                upload = self.cleaned_data.get(spec.name + FILE_SUFFIX)
                if upload:
                    upload.seek(0)
                    value = upload.read()
            data[spec.name] = value
        return data

    def used_upload(self, field_name: str) -> bool:
        return bool(self.is_bound and self.files.get(field_name + FILE_SUFFIX))

    def add_service_errors(self, error: ValidationError) -> None:
        """Put a service's ValidationError (a dict by field) on the right fields.

        Errors about an uploaded document go on the file input the user used;
        errors about inputs the form does not show become non-field errors.
        """
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, messages in error.message_dict.items():
            if field in (NON_FIELD_ERRORS, None):
                self.add_error(None, messages)
            elif field in self.fields:
                target = field + FILE_SUFFIX if self.used_upload(field) else field
                self.add_error(target, messages)
            else:
                label = field.replace("_", " ").capitalize()
                self.add_error(None, [f"{label}: {m}" for m in messages])

    def add_judgement_errors(self, error: ValidationError) -> None:
        """The services' verdict on a form that already has errors of its own: their
        errors land only on inputs the form has not already flagged, so a submission
        reports every field once (an invalid name no longer hides the token's error)."""
        if not hasattr(error, "error_dict"):
            return
        for field, messages in error.message_dict.items():
            if field in (NON_FIELD_ERRORS, None) or field not in self.fields:
                continue
            target = field + FILE_SUFFIX if self.used_upload(field) else field
            if field in self.errors or target in self.errors:
                continue
            self.add_error(target, messages)

    def ask_to_retype_credentials(self) -> None:
        """After a failed submission: say beside each credential typed that it must
        be typed again (credentials are never sent back into the page)."""
        for spec in self.provider.fields:
            if not spec.secret:
                continue
            names = [spec.name, spec.name + FILE_SUFFIX] if spec.kind == "json" else [spec.name]
            if not any(self.data.get(n) or self.files.get(n) for n in names):
                continue
            field = self.fields[spec.name]
            field.help_text = f"{RETYPE_NOTICE} {field.help_text}"
            # The bound field keeps its own copy once the form has been cleaned.
            self[spec.name].help_text = field.help_text

    def visible_provider_fields(self) -> list[forms.BoundField]:
        """The provider's inputs (everything but the name), for the templates."""
        names = [name for name in self.fields if name not in ("name", "expires_at")]
        return [self[name] for name in names] + [self["expires_at"]]

    @classmethod
    def preview_fields(cls) -> list[str]:
        """Inputs whose values the live host preview may send to the server.

        Text fields always; a json field only when the provider has nothing else
        to derive a host from (the config.json provider). Passwords never.
        """
        text = [spec.name for spec in cls.provider.fields if spec.kind == "text"]
        if text:
            return text
        return [spec.name for spec in cls.provider.fields if spec.kind == "json"]


def _text_widget(spec: ProviderField) -> forms.Widget:
    attrs = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}
    if spec.placeholder:
        attrs["placeholder"] = example(spec.placeholder)
    return forms.TextInput(attrs=attrs)


def _password_attrs(spec: ProviderField, *, editing: bool) -> dict[str, str]:
    attrs = {"autocomplete": "new-password", "spellcheck": "false"}
    # On an edit, say that something is stored; never show it.
    placeholder = STORED_PLACEHOLDER if editing else example(spec.placeholder)
    if placeholder:
        attrs["placeholder"] = placeholder
    return attrs


def _form_fields(provider: Provider, *, editing: bool) -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for spec in provider.fields:
        help_text = spec.help_text
        if spec.kind == "text":
            fields[spec.name] = forms.CharField(
                label=spec.label,
                help_text=help_text,
                required=spec.required,
                max_length=spec.max_length,
                widget=_text_widget(spec),
            )
        elif spec.kind == "password":
            fields[spec.name] = forms.CharField(
                label=spec.label,
                help_text=f"{help_text} {KEEP_HELP}" if editing else help_text,
                required=spec.required and not editing,
                max_length=spec.max_length,
                # Secrets are taken as given: the provider decides about whitespace.
                strip=False,
                widget=forms.PasswordInput(
                    render_value=False,
                    attrs=_password_attrs(spec, editing=editing),
                ),
            )
        elif spec.kind == "json":
            attrs = {
                "rows": 8,
                "autocomplete": "off",
                "spellcheck": "false",
                "class": "font-monospace",
                "maxlength": str(MAX_DOCKER_CONFIG_BYTES),
            }
            if editing:
                attrs["placeholder"] = STORED_PLACEHOLDER
            elif spec.placeholder:
                attrs["placeholder"] = example(spec.placeholder)
            # Required on a create form (marked on both inputs): pasted text or an
            # upload, which SecretForm.clean checks; optional on an edit (empty keeps).
            required = spec.required and not editing
            fields[spec.name] = PasteOrUploadField(
                label=spec.label,
                help_text=f"{help_text} {KEEP_HELP}" if editing else help_text,
                required=required,
                strip=False,
                widget=SecretTextarea(attrs=attrs),
            )
            limit = f"At most {MAX_DOCKER_CONFIG_BYTES // 1024} KiB of UTF-8 JSON."
            fields[spec.name + FILE_SUFFIX] = UploadOrPasteField(
                label=f"… or upload {spec.label}",
                help_text=f"{EITHER_HELP} {limit}" if required else limit,
                required=required,
                widget=EitherFileInput(attrs={"accept": ".json,application/json"}),
                validators=[_max_upload_size],
            )
        else:  # pragma: no cover - the catalogue only has these three kinds
            raise ValueError(f"unknown field kind {spec.kind!r} in provider {provider.key}")
    return fields


def _too_large_message() -> str:
    return f"The file is larger than {MAX_DOCKER_CONFIG_BYTES // 1024} KiB."


def _max_upload_size(upload: Any) -> None:
    if upload.size > MAX_DOCKER_CONFIG_BYTES:
        raise ValidationError(_too_large_message(), code="too_large")


def upload_was_dropped(request: HttpRequest) -> bool:
    """Whether Django's in-memory upload handler dropped this request's files.

    Requests larger than FILE_UPLOAD_MAX_MEMORY_SIZE reach the view without their
    files (settings keep uploads in memory only); without this, the form would
    just say the file is missing.
    """
    if request.method != "POST" or request.FILES:
        return False
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.FILE_UPLOAD_MAX_MEMORY_SIZE


@cache
def _build(provider: Provider, editing: bool) -> type[SecretForm]:
    attrs: dict[str, Any] = {
        "provider": provider,
        "editing": editing,
        "__module__": __name__,
        **_form_fields(provider, editing=editing),
    }
    if editing:
        attrs["name"] = None  # the name is fixed once created: services refer to it
    class_name = "".join(part.title() for part in provider.slug.split("-"))
    return type(f"{class_name}{'Edit' if editing else ''}SecretForm", (SecretForm,), attrs)


def provider_form_class(provider: Provider, *, editing: bool = False) -> type[SecretForm]:
    """The form class for ``provider``: name + provider fields, or, when
    ``editing``, the provider fields alone with credentials optional (empty keeps)."""
    return _build(provider, editing)


@dataclass(frozen=True)
class ProviderCard:
    """One provider in a picker: the provider and where choosing it leads."""

    provider: Provider
    url: str


def provider_cards(url_name: str, *, next_url: str = "") -> list[ProviderCard]:
    """The catalogue's providers for a picker, each linked to ``url_name`` (which
    takes the provider's slug); ``next_url`` travels on as ``?next=``.

    The one builder behind the secret pages' cards and provider switch and the
    service form's inline panel (templates: registry_secrets/_provider_options.html).
    """
    suffix = f"?{urlencode({'next': next_url})}" if next_url else ""
    return [ProviderCard(p, reverse(url_name, args=[p.slug]) + suffix) for p in PROVIDERS]


def create_secret_from_form(
    form: SecretForm,
    *,
    organization: Organization,
    actor: User | None,
    request: HttpRequest | None,
    name: str | None = None,
) -> Any:
    """Save a create form through ``secret_create``; None with errors on the form.

    The one bridge from a provider form to the service layer, shared by the secret
    pages and the service form's inline panel. One round of errors: when the form
    itself refuses something, the services still judge the rest (nothing is saved),
    so every field's error comes back at once; and each credential typed is marked
    to be typed again.
    """
    if not form.is_valid():
        try:
            secret_create_prepare(
                organization=organization,
                name=form.cleaned_data.get("name", "") if name is None else name,
                provider=form.provider.key,
                data=form.provider_data(),
            )
        except ValidationError as exc:
            form.add_judgement_errors(exc)
        form.ask_to_retype_credentials()
        return None
    try:
        return secret_create(
            organization=organization,
            name=form.cleaned_data["name"] if name is None else name,
            provider=form.provider.key,
            data=form.provider_data(),
            actor=actor,
            request=request,
            expires_at=form.cleaned_data.get("expires_at"),
        )
    except ValidationError as exc:
        form.add_service_errors(exc)
        form.ask_to_retype_credentials()
        return None
