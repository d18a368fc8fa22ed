"""Writes for organizations and memberships (keyword-only, atomic, audited).

Lock order: every write to an organization's memberships first locks the
Organization row (``SELECT … FOR UPDATE``), then reads the memberships it decides
on. One lock per organization serialises role changes and additions, so two
owners demoting each other cannot both count two owners, and the rules are
checked against the roles as they are now, not as the request found them.
SQLite serialises writers, so the lock is a no-op there.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.text import slugify

from regsecrets.accounts.models import MANAGER_ROLES, Membership, Organization, Role
from regsecrets.audit.services import audit_record

SLUG_TAKEN = "This slug is taken; choose another."
EMAIL_TAKEN = "An account with this email address already exists."
USERNAME_TAKEN = "A user with that username already exists."
# Automatic slugs (a sign-up's personal organization) retry with the next free
# suffix when a concurrent sign-up takes the one just chosen.
_AUTO_SLUG_ATTEMPTS = 5


def unique_org_slug(base: str) -> str:
    root = slugify(base)[:56] or "org"
    slug, n = root, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{root}-{n}"
    return slug


def _insert_organization(name: str, slug: str | None) -> Organization:
    """Insert the row; a slug taken meanwhile is the same field error as one taken before."""
    for _ in range(1 if slug else _AUTO_SLUG_ATTEMPTS):
        chosen = slug or unique_org_slug(name)
        try:
            # A savepoint: the clash must not spoil the caller's transaction.
            with transaction.atomic():
                return Organization.objects.create(name=name, slug=chosen)
        except IntegrityError:
            if not Organization.objects.filter(slug=chosen).exists():
                raise  # not the slug: let the real cause surface
    raise ValidationError({"slug": [ValidationError(SLUG_TAKEN, code="unique")]})


@transaction.atomic
def organization_create(
    *, name: str, owner: User, slug: str | None = None, request: HttpRequest | None = None
) -> Organization:
    """Create an organization owned by ``owner``.

    Raises ValidationError keyed "slug" when the slug is taken, including by a
    concurrent request that won the race (the unique index decides).
    """
    if slug and Organization.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": [ValidationError(SLUG_TAKEN, code="unique")]})
    organization = _insert_organization(name, slug)
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


def email_taken(email: str) -> bool:
    """Whether an account uses ``email``, compared case-insensitively.

    The database has the last word: migration accounts 0002 adds a unique index
    on LOWER(email) for non-empty addresses.
    """
    email = email.strip()
    return bool(email) and get_user_model().objects.filter(email__iexact=email).exists()


def username_taken(username: str) -> bool:
    """Whether an account uses ``username`` in any case.

    The database has the last word: migration accounts 0003 adds a unique index on
    LOWER(username).
    """
    return get_user_model().objects.filter(username__iexact=username).exists()


@transaction.atomic
def user_signup(*, username: str, email: str, password: str, request: HttpRequest | None = None):
    """Create the user and their personal organization.

    Raises ValidationError keyed "username" or "email" when either is taken,
    including by a concurrent sign-up that committed first.
    """
    user_model = get_user_model()
    email = email.strip()
    errors: dict[str, list[ValidationError]] = {}
    if username_taken(username):
        errors["username"] = [ValidationError(USERNAME_TAKEN, code="unique")]
    if email_taken(email):
        errors["email"] = [ValidationError(EMAIL_TAKEN, code="unique")]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            user = user_model.objects.create_user(
                username=username, email=email, password=password
            )
    except IntegrityError:
        # Someone took the username or the email between the check and the insert:
        # answer what the check would have answered had it run a moment later.
        if username_taken(username):
            errors["username"] = [ValidationError(USERNAME_TAKEN, code="unique")]
        if email_taken(email):
            errors["email"] = [ValidationError(EMAIL_TAKEN, code="unique")]
        if not errors:
            raise
        raise ValidationError(errors)
    organization_create(name=username, owner=user, request=request)
    return user


class MembershipError(ValueError):
    pass


class MembershipNotAllowed(MembershipError):
    """The actor's role, as it is now, does not allow this change."""


def _lock_organization(organization_id: int) -> Organization:
    return Organization.objects.select_for_update().get(pk=organization_id)


def _check_actor(organization_id: int, actor: User | None, *, touches_owner: bool) -> None:
    """Refuse an actor who is (no longer) allowed to make the change.

    Run after the organization lock, so a role taken away by a concurrent request
    counts. ``actor=None`` is an operator's command: no role to check.
    """
    if actor is None:
        return
    role = (
        Membership.objects.filter(organization_id=organization_id, user=actor)
        .values_list("role", flat=True)
        .first()
    )
    if role not in MANAGER_ROLES:
        raise MembershipNotAllowed("Only owners and admins can manage members.")
    if touches_owner and role != Role.OWNER:
        raise MembershipNotAllowed("Only owners can grant or change the owner role.")


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
    _lock_organization(organization.pk)
    _check_actor(organization.pk, actor, touches_owner=role == Role.OWNER)
    # Checked under the lock, so a double-submitted form gets this error, not the
    # unique constraint's IntegrityError.
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
    """Change a member's role; raises MembershipError (MembershipNotAllowed for the actor's role).

    Lock, then read: the organization row is locked before the membership and the
    owners are read, so concurrent demotions see each other's effect and the
    organization always keeps an owner.
    """
    if role not in Role.values:
        raise MembershipError(f"Unknown role {role!r}; choose owner, admin or member.")
    _lock_organization(membership.organization_id)
    current = (
        Membership.objects.select_related("user", "organization").filter(pk=membership.pk).first()
    )
    if current is None:
        raise MembershipError("This membership no longer exists.")
    membership = current
    _check_actor(
        membership.organization_id,
        actor,
        touches_owner=Role.OWNER in (membership.role, role),
    )
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
