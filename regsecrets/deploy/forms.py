"""Forms for apps and services: they check the shape of the input only.

Whether a secret serves an image is a business rule (deploy.services); the
service form only guarantees that the secret chosen is one of the
organization's own, because its queryset is scoped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator

from regsecrets.accounts.models import Organization
from regsecrets.core.names import NAME_HELP, validate_name
from regsecrets.deploy.selectors import secret_choices
from regsecrets.registries import (
    MAX_IMAGE_LENGTH,
    InvalidImageReference,
    display_host,
    parse_image_reference,
)
from regsecrets.registry_secrets.models import Secret

# The value of the select's "Create a new registry secret…" option. Not a UUID,
# so it can never be mistaken for a secret's id.
NEW_SECRET = "new"
NEW_SECRET_LABEL = "Create a new registry secret…"
PUBLIC_LABEL = "No secret (public image)"

_NAME_ATTRS = {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"}


def secret_label(secret: Secret) -> str:
    """How a secret is shown in the select: its name and the registries it serves."""
    hosts = ", ".join(display_host(h) for h in secret.hosts or [])
    return f"{secret.name} ({hosts})" if hosts else secret.name


class _SecretChoices(ModelChoiceIterator):
    """The scoped secrets, then the "create a new one" entry at the end."""

    def __iter__(self) -> Iterator[tuple[Any, str]]:
        yield from super().__iter__()
        yield (NEW_SECRET, NEW_SECRET_LABEL)

    def __len__(self) -> int:
        return super().__len__() + 1


class SecretChoiceField(forms.ModelChoiceField):
    iterator = _SecretChoices

    def label_from_instance(self, obj: Secret) -> str:
        return secret_label(obj)


class ServiceForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=64,
        validators=[validate_name],
        help_text=NAME_HELP,
        widget=forms.TextInput(attrs={**_NAME_ATTRS, "placeholder": "e.g. web"}),
    )
    image = forms.CharField(
        label="Image reference",
        max_length=MAX_IMAGE_LENGTH,
        help_text="What the platform pulls, e.g. ghcr.io/owner/app:1.2 or nginx:1.27.",
        widget=forms.TextInput(attrs={**_NAME_ATTRS, "placeholder": "e.g. ghcr.io/owner/app:tag"}),
    )
    registry_secret = SecretChoiceField(
        label="Registry secret",
        queryset=Secret.objects.none(),
        required=False,
        empty_label=PUBLIC_LABEL,
        help_text="The credentials the platform uses to pull a private image.",
        error_messages={"invalid_choice": "Choose one of this organization's registry secrets."},
    )
    public_image = forms.BooleanField(
        label="This image is public: save without a registry secret",
        required=False,
    )

    def __init__(
        self,
        *args: Any,
        organization: Organization,
        secret_options: list[Secret] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["registry_secret"]
        assert isinstance(field, SecretChoiceField)  # declared above; narrows the type
        # Validation accepts any of the organization's secrets (one lookup by id)...
        field.queryset = secret_choices(organization=organization)
        if secret_options is not None:
            # ...while the select offers only a few (a search's answer and the current
            # choice): an organization may hold 100,000 secrets.
            field.widget.choices = [
                ("", PUBLIC_LABEL),
                *((str(secret.pk), secret_label(secret)) for secret in secret_options),
                (NEW_SECRET, NEW_SECRET_LABEL),
            ]

    def clean_image(self) -> str:
        image = self.cleaned_data["image"].strip()
        try:
            parse_image_reference(image)
        except InvalidImageReference as exc:
            raise forms.ValidationError(str(exc), code="invalid_image")
        return image


class AppServiceForm(ServiceForm):
    """The "New app" page: the app's name, then its first service (as Koyeb does)."""

    app_name = forms.CharField(
        label="App name",
        max_length=64,
        validators=[validate_name],
        help_text=NAME_HELP + " An app groups the services you deploy together.",
        widget=forms.TextInput(attrs={**_NAME_ATTRS, "placeholder": "e.g. shop"}),
    )
    field_order = ["app_name", "name", "image", "registry_secret", "public_image"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].label = "Service name"
