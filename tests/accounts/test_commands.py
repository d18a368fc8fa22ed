from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from regsecrets.accounts.models import Membership, Organization, Role

pytestmark = pytest.mark.django_db


def test_create_organization_makes_owner(alice):
    call_command("create_organization", "initech", owner="alice", name="Initech Inc")
    organization = Organization.objects.get(slug="initech")
    assert organization.name == "Initech Inc"
    assert Membership.objects.get(organization=organization, user=alice).role == Role.OWNER


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (["initech"], {"owner": "ghost"}, "Unknown user 'ghost'"),
        (["acme"], {"owner": "alice"}, "already exists"),
        (["bad slug!"], {"owner": "alice"}, "Invalid slug"),
    ],
)
def test_create_organization_errors(org, args, kwargs, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_organization", *args, **kwargs)


def test_add_member_then_change_role(org, bob):
    call_command("add_member", "acme", "bob", role="member")
    assert Membership.objects.get(organization=org, user=bob).role == Role.MEMBER
    call_command("add_member", "acme", "bob", role="admin")
    assert Membership.objects.get(organization=org, user=bob).role == Role.ADMIN


@pytest.mark.parametrize(
    ("slug", "username", "message"),
    [("nope", "bob", "Unknown organization 'nope'"), ("acme", "ghost", "Unknown user 'ghost'")],
)
def test_add_member_errors(org, bob, slug, username, message):
    with pytest.raises(CommandError, match=message):
        call_command("add_member", slug, username, role="member")
