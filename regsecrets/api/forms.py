from __future__ import annotations

from typing import Any

from django import forms

from regsecrets.accounts.models import Organization


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What uses the token, e.g. “CI deploy job”.",
    )
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        empty_label=None,
        help_text="The token acts for you in this organization, with your role there.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = Organization.objects.filter(  # type: ignore[attr-defined]
            memberships__user=user
        ).order_by("name")
