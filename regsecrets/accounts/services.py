"""Writes for organizations and memberships (keyword-only, atomic, audited)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils.text import slugify

from regsecrets.accounts.models import Membership, Organization, Role
from regsecrets.audit.services import audit_record


def unique_org_slug(base: str) -> str:
    root = slugify(base)[:56] or "org"
    slug, n = root, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{root}-{n}"
    return slug


@transaction.atomic
def organization_create(
    *, name: str, owner: User, slug: str | None = None, request: HttpRequest | None = None
) -> Organization:
    organization = Organization.objects.create(name=name, slug=slug or unique_org_slug(name))
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    audit_record(
        action="organization.created",
        organization=organization,
        actor=owner,
        obj=organization,
        request=request,
    )
    audit_record(
        action="member.added",
        organization=organization,
        actor=owner,
        object_type="membership",
        object_name=owner.get_username(),
        request=request,
        details={"role": Role.OWNER},
    )
    return organization


@transaction.atomic
def user_signup(*, username: str, email: str, password: str, request: HttpRequest | None = None):
    """Create the user and their personal organization."""
    user = get_user_model().objects.create_user(username=username, email=email, password=password)
    organization_create(name=username, owner=user, request=request)
    return user


class MembershipError(ValueError):
    pass


@transaction.atomic
def membership_add(
    *,
    organization: Organization,
    user: User,
    role: str,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> Membership:
    if role not in Role.values:
        raise MembershipError(f"Unknown role {role!r}; choose owner, admin or member.")
    if Membership.objects.filter(organization=organization, user=user).exists():
        raise MembershipError(f"{user.get_username()} is already a member of {organization.slug}.")
    membership = Membership.objects.create(organization=organization, user=user, role=role)
    audit_record(
        action="member.added",
        organization=organization,
        actor=actor,
        object_type="membership",
        object_name=user.get_username(),
        request=request,
        details={"role": role},
    )
    return membership


@transaction.atomic
def membership_set_role(
    *,
    membership: Membership,
    role: str,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> Membership:
    if role not in Role.values:
        raise MembershipError(f"Unknown role {role!r}; choose owner, admin or member.")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if membership.role == Role.OWNER and role != Role.OWNER:
        owners = Membership.objects.filter(organization=membership.organization_id, role=Role.OWNER)
        if owners.count() <= 1:
            raise MembershipError("An organization needs at least one owner.")
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        action="member.role_changed",
        organization=membership.organization,
        actor=actor,
        object_type="membership",
        object_name=membership.user.get_username(),
        request=request,
        details={"from": previous, "to": role},
    )
    return membership
