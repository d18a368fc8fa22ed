"""Issue a personal API token from the command line, for automation.

The token is the last line of the output, so ``| tail -n 1`` captures it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from regsecrets.accounts.models import Organization
from regsecrets.accounts.tokens import TokenError, token_create


class Command(BaseCommand):
    help = "Issue an API token for USERNAME in the organization --org; prints it last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The user the token acts as.")
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument("--name", default="issued by manage.py", help="A label for the token.")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        try:
            user = User.objects.get_by_natural_key(options["username"])
        except User.DoesNotExist:
            raise CommandError(f"No user named {options['username']!r}.")
        try:
            organization = Organization.objects.get(slug=options["org"])
        except Organization.DoesNotExist:
            raise CommandError(f"No organization with slug {options['org']!r}.")
        try:
            token, raw = token_create(user=user, organization=organization, name=options["name"])
        except TokenError as exc:
            raise CommandError(str(exc))
        self.stdout.write(
            f"Token “{token.name}” ({token.prefix}…) for {user.get_username()} in "
            f"{organization.slug}; it is shown once, store it now."
        )
        self.stdout.write(raw)
