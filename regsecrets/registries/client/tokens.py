"""Answering a challenge: Basic credentials, or a Bearer token from the realm the
registry named (distribution token spec: docs/spec/auth/token.md and oauth.md)."""

from __future__ import annotations

import base64
import json

import httpx

from regsecrets.registries.matching import Credential

from .challenges import Challenge
from .results import (
    ANON_ACCESS_DENIED,
    AUTH_ACCESS_DENIED,
    MALFORMED,
    REGISTRY_ERROR,
    Stop,
)
from .session import Reply, Session, hostport, retry_after

__all__ = ["authorization", "has_login"]

_CLIENT_ID = "regsecrets"


def _basic(username: str, password: str) -> str:
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def has_login(credential: Credential | None) -> bool:
    """Whether the check is authenticated (else it is anonymous, as a pull would be)."""
    return credential is not None and bool(
        credential.username
        or credential.password
        or credential.identitytoken
        or credential.registrytoken
    )


def _token_from(reply: Reply) -> str:
    try:
        document = json.loads(reply.body)
    except (ValueError, UnicodeDecodeError):
        document = None
    if isinstance(document, dict):
        token = document.get("token") or document.get("access_token")
        if isinstance(token, str) and token:
            return token
    raise Stop(MALFORMED, "The token server's answer does not contain a token.")


def _obtain_token(
    session: Session,
    challenge: Challenge,
    credential: Credential | None,
    scope: str | None,
) -> str:
    """Get a Bearer token for ``scope`` as the distribution token spec describes.

    A registrytoken is already a Bearer token for the registry. An identitytoken is an
    OAuth2 refresh token and goes to the realm in a POST (never a query string). Else
    a GET with Basic credentials (the only place, besides a Basic registry, where the
    password is sent: the realm the registry named, over HTTPS).
    """
    if credential is not None and credential.registrytoken:
        return credential.registrytoken
    try:
        realm = httpx.URL(challenge.params["realm"])
    except httpx.InvalidURL:
        raise Stop(MALFORMED, "The registry's token realm is not a valid URL.")
    if realm.scheme not in ("http", "https") or not realm.host:
        raise Stop(MALFORMED, "The registry's token realm is not an http(s) URL.")
    session.require_scheme(realm, "token server")
    service = challenge.params.get("service", "")
    denied = AUTH_ACCESS_DENIED if has_login(credential) else ANON_ACCESS_DENIED
    realm_host = hostport(realm)

    if credential is not None and credential.identitytoken:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credential.identitytoken,
            "client_id": _CLIENT_ID,
            "service": service,
        }
        if scope:
            form["scope"] = scope
        reply = session.request("POST", realm, data=form, what="token server")
    else:
        params: dict[str, str] = {}
        if service:
            params["service"] = service
        if scope:
            params["scope"] = scope
        headers: dict[str, str] = {}
        if credential is not None and has_login(credential):
            params["account"] = credential.username
            headers["Authorization"] = _basic(credential.username, credential.password)
        reply = session.request(
            "GET", realm.copy_merge_params(params), headers=headers, what="token server"
        )

    if reply.status in (400, 401, 403):
        if denied == AUTH_ACCESS_DENIED:
            reason = (
                f"The token server {realm_host} rejected the credentials "
                f"(HTTP {reply.status}): check the username and password or token."
            )
        else:
            reason = (
                f"The token server {realm_host} refused anonymous access "
                f"(HTTP {reply.status}): this registry needs credentials."
            )
        raise Stop(denied, reason, status=reply.status)
    if reply.status != 200:
        raise Stop(
            REGISTRY_ERROR,
            f"The token server {realm_host} answered HTTP {reply.status}.",
            retry_after(reply),
            status=reply.status,
        )
    return _token_from(reply)


def authorization(
    session: Session,
    challenge: Challenge,
    credential: Credential | None,
    scope: str | None,
) -> dict[str, str]:
    """Authorization header answering ``challenge``; empty for anonymous Basic."""
    if challenge.scheme == "basic":
        if credential is None or not (credential.username or credential.password):
            return {}
        return {"Authorization": _basic(credential.username, credential.password)}
    token = _obtain_token(session, challenge, credential, scope)
    return {"Authorization": f"Bearer {token}"}
