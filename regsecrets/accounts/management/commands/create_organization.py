from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_slug

from regsecrets.accounts.models import Organization
from regsecrets.accounts.services import organization_create


class Command(BaseCommand):
    help = "Create an organization owned by an existing user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The new organization's slug (letters, digits, -, _).")
        parser.add_argument("--owner", required=True, help="username of the owner")
        parser.add_argument("--name", help="display name (defaults to the slug)")

    def handle(self, *args: Any, slug: str, owner: str, name: str | None, **options: Any) -> None:
        try:
            validate_slug(slug)
        except ValidationError:
            raise CommandError(f"Invalid slug {slug!r}: use letters, digits, dashes, underscores.")
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"Unknown user {owner!r}.")
        if Organization.objects.filter(slug=slug).exists():
            raise CommandError(f"An organization with slug {slug!r} already exists.")
        try:
            organization = organization_create(name=name or slug, slug=slug, owner=user)
        except ValidationError:  # taken by a concurrent request since the check above
            raise CommandError(f"An organization with slug {slug!r} already exists.")
        self.stdout.write(f"Created organization {organization.slug} owned by {owner}.")
