"""Forms every face shares."""

from __future__ import annotations

from typing import Any

from django import forms


class ConfirmDeleteForm(forms.Form):
    """Deleting asks for the name to be typed, as a guard against the wrong row.

    One form for every "type the name to confirm" page (secrets, apps); ``label``
    lets a page say whose name it wants.
    """

    confirm_name = forms.CharField(
        label="Type the name to confirm",
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, expected: str, label: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = expected
        if label:
            self.fields["confirm_name"].label = label

    def clean_confirm_name(self) -> str:
        value = self.cleaned_data["confirm_name"].strip()
        if value != self.expected:
            raise forms.ValidationError("The name does not match.", code="mismatch")
        return value
