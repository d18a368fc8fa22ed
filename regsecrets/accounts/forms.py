from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.validators import MaxLengthValidator
from django.utils.text import slugify

from regsecrets.accounts.models import Organization, Role
from regsecrets.accounts.services import EMAIL_TAKEN, SLUG_TAKEN, email_taken


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="Used only to reach you about your account.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if email_taken(email):
            raise forms.ValidationError(EMAIL_TAKEN, code="unique")
        return email


class LoginForm(AuthenticationForm):
    """Django's sign-in form, with the username's length enforced.

    AuthenticationForm sets ``max_length`` on its username field after the field
    is built, so no validator checks it: an over-long name reached
    ``authenticate()`` and django-axes' failure record (a 255-character column),
    which PostgreSQL refused with a 500.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        assert isinstance(field, forms.CharField)  # AuthenticationForm's; narrows the type
        if field.max_length and not any(
            isinstance(v, MaxLengthValidator) for v in field.validators
        ):
            field.validators.append(MaxLengthValidator(field.max_length))


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ("name", "slug")
        help_texts = {"slug": "Lowercase letters, digits and dashes; used in commands and URLs."}
        # The model's unique check can see a slug another request took a moment ago:
        # one message, whichever check notices.
        error_messages = {"slug": {"unique": SLUG_TAKEN}}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False

    def clean_slug(self) -> str:
        slug = self.cleaned_data.get("slug")
        if not slug:
            # Derived from the name (up to 100 characters): keep it within the column.
            slug = slugify(self.cleaned_data.get("name", ""))[:64].strip("-")
        if slug and Organization.objects.filter(slug=slug).exists():
            raise forms.ValidationError(SLUG_TAKEN, code="unique")
        return slug


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)

    def __init__(
        self, *args, organization: Organization, allowed_roles: list[str], **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        role = self.fields["role"]
        assert isinstance(role, forms.ChoiceField)  # declared above; narrows the type
        role.choices = [c for c in Role.choices if c[0] in allowed_roles]

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError(f"No user named “{username}”. They must sign up first.")
        if self.organization.memberships.filter(user=user).exists():
            raise forms.ValidationError(f"{username} is already a member.")
        return user


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


__all__ = [
    "AddMemberForm",
    "LoginForm",
    "OrganizationForm",
    "RoleForm",
    "SignupForm",
    "password_validation",
]
