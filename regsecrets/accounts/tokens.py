"""Personal API tokens: issue, look up, revoke.

A token is ``rst_`` + 43 URL-safe characters (256 random bits). Only its SHA-256
digest is stored: a fast hash is enough for a random secret of that size (no
dictionary to attack), and it lets a request be authenticated by one indexed
lookup. The first characters are kept as a prefix so people can tell tokens apart.
"""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from regsecrets.accounts.models import ApiToken, Membership, Organization
from regsecrets.audit.services import audit_record
from regsecrets.registries import has_control_characters

TOKEN_PREFIX = "rst_"
DISPLAY_PREFIX_LENGTH = 12  # "rst_" and 8 random characters
MAX_TOKEN_LENGTH = 200  # anything longer is not one of ours; refuse before hashing


class TokenError(ValueError):
    """The token cannot be issued (no membership, bad name)."""


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def token_create(
    *,
    user: User,
    organization: Organization,
    name: str,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token for ``user`` in ``organization``; return (row, the token, shown once)."""
    name = (name or "").strip()
    if not name:
        raise TokenError("Give the token a name, such as the machine or job that uses it.")
    if len(name) > 100 or has_control_characters(name):
        raise TokenError("Use at most 100 characters, without control characters.")
    if not Membership.objects.filter(user=user, organization=organization).exists():
        raise TokenError(f"{user.get_username()} is not a member of {organization.slug}.")
    raw = generate_token()
    token = ApiToken.objects.create(
        organization=organization,
        user=user,
        name=name,
        prefix=raw[:DISPLAY_PREFIX_LENGTH],
        digest=token_digest(raw),
    )
    audit_record(
        action="token.created",
        organization=organization,
        actor=actor if actor is not None else user,
        obj=token,
        object_name=name,
        request=request,
        details={"prefix": token.prefix, "user": user.get_username()},
    )
    return token, raw


@transaction.atomic
def token_revoke(
    *, token: ApiToken, actor: User | None = None, request: HttpRequest | None = None
) -> ApiToken:
    """Revoke the token (idempotent: a revoked token stays revoked, audited once)."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        action="token.revoked",
        organization=token.organization,
        actor=actor,
        obj=token,
        object_name=token.name,
        request=request,
        details={"prefix": token.prefix, "user": token.user.get_username()},
    )
    return token
