from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from regsecrets.accounts.models import Membership, Organization, Role
from regsecrets.accounts.services import MembershipError, membership_add, membership_set_role


class Command(BaseCommand):
    help = "Add an existing user to an organization, or change their role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The organization's slug.")
        parser.add_argument("username", help="An existing user's username.")
        parser.add_argument(
            "--role",
            required=True,
            choices=Role.values,
            help="The role to give: " + ", ".join(Role.values) + ".",
        )

    def handle(self, *args: Any, slug: str, username: str, role: str, **options: Any) -> None:
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise CommandError(f"Unknown organization {slug!r}.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"Unknown user {username!r}.")
        existing = Membership.objects.filter(organization=organization, user=user).first()
        try:
            if existing is None:
                membership_add(organization=organization, user=user, role=role)
                self.stdout.write(f"Added {username} to {slug} as {role}.")
            else:
                membership_set_role(membership=existing, role=role)
                self.stdout.write(f"{username} is now {role} in {slug}.")
        except MembershipError as exc:
            raise CommandError(str(exc))
