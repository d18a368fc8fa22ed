"""The two questions: do these credentials log in (``docker login``), and can this
image be pulled (``docker pull``)?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regsecrets.registries.errors import InvalidDockerConfig, InvalidImageReference
from regsecrets.registries.matching import Credential, credentials_for_image
from regsecrets.registries.reference import parse_image_reference

from .challenges import challenge_of, is_insufficient_scope
from .results import (
    ANON_ACCESS_DENIED,
    ANON_NOT_FOUND,
    AUTH_ACCESS_DENIED,
    AUTH_NOT_FOUND,
    MALFORMED,
    REGISTRY_ERROR,
    ClientOptions,
    Stop,
    VerificationResult,
)
from .running import run
from .session import DOCKER_HUB_REGISTRY, Registry, Reply, Session, registry_for, retry_after
from .tokens import authorization, has_login

__all__ = ["MANIFEST_ACCEPT", "check_credentials", "check_image"]

# Everything a container runtime accepts, so a registry never answers 404 merely
# because the image is an index or OCI manifest.
MANIFEST_ACCEPT = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def _ping(session: Session, registry: Registry, headers: dict[str, str] | None = None) -> Reply:
    return session.request("GET", registry.base.join("/v2/"), headers=headers)


def _unexpected(registry: Registry, reply: Reply, doing: str) -> Stop:
    if reply.status == 404 and doing == "ping":
        return Stop(
            REGISTRY_ERROR,
            f"{registry.host} does not serve the Registry HTTP API v2 (/v2/ answered 404).",
            status=reply.status,
        )
    return Stop(
        REGISTRY_ERROR,
        f"{registry.host} answered HTTP {reply.status} to the {doing}.",
        retry_after(reply),
        status=reply.status,
    )


def check_credentials(
    server: str,
    credential: Credential | None,
    *,
    options: ClientOptions | None = None,
    deadline: float | None = None,
) -> VerificationResult:
    """Do these credentials log in to ``server``? Like ``docker login``.

    ``deadline`` (``time.monotonic()``) bounds the check together with the other
    checks of the same request; by default it has ``options.timeout`` to itself.

    Success means /v2/ answers 200 with them: directly with Basic, or, behind a Bearer
    challenge, with a token obtained without a scope (as docker login does, since
    logging in says nothing about any one repository).
    """
    options = options or ClientOptions()
    try:
        registry = registry_for(server, options)
    except Stop as stop:
        return VerificationResult(False, stop.code, stop.reason, server.strip())
    authenticated = has_login(credential)

    def flow(session: Session) -> VerificationResult:
        reply = _ping(session, registry)
        if reply.status == 200:
            return VerificationResult(
                True,
                "",
                f"{registry.host} accepts anonymous access; no credentials are needed.",
                registry.host,
            )
        if reply.status != 401:
            raise _unexpected(registry, reply, "ping")
        challenge = challenge_of(reply.headers)
        if not authenticated:
            raise Stop(ANON_ACCESS_DENIED, f"{registry.host} requires credentials to log in.")
        headers = authorization(session, challenge, credential, None)
        reply = _ping(session, registry, headers)
        if reply.status == 200:
            return VerificationResult(
                True, "", f"The credentials log in to {registry.host}.", registry.host
            )
        if reply.status in (401, 403):
            raise Stop(
                AUTH_ACCESS_DENIED,
                f"{registry.host} rejected the credentials (HTTP {reply.status}): "
                "check the username and password or token.",
                status=reply.status,
            )
        raise _unexpected(registry, reply, "login")

    return run(registry.host, options, credential, flow, deadline)


def check_image(
    image: str,
    config: Mapping[str, Any] | None,
    *,
    options: ClientOptions | None = None,
    deadline: float | None = None,
) -> VerificationResult:
    """Can ``image`` be pulled with the credentials ``config`` holds for it?

    The credential is the first (most specific) match of the kubelet keyring rules;
    without a config or a match the check is anonymous, as a pull would be. Success
    means a manifest HEAD with the full Accept list answers 200.
    """
    options = options or ClientOptions()
    try:
        reference = parse_image_reference(image)
    except InvalidImageReference:
        return VerificationResult(False, MALFORMED, "The image reference is not valid.", "")
    try:
        registry = registry_for(reference.domain, options)
    except Stop as stop:
        return VerificationResult(False, stop.code, stop.reason, reference.domain)

    path = reference.path
    if registry.host == DOCKER_HUB_REGISTRY and "/" not in path:
        path = f"library/{path}"
    ref = reference.digest or reference.tag or "latest"
    shown = f"{path}@{ref}" if reference.digest else f"{path}:{ref}"
    credential: Credential | None = None
    if config:
        try:
            matches = credentials_for_image(config, reference)
        except InvalidDockerConfig:
            return VerificationResult(
                False, MALFORMED, "The registry credentials document is not valid.", registry.host
            )
        credential = matches[0] if matches else None
    authenticated = has_login(credential)
    denied = AUTH_ACCESS_DENIED if authenticated else ANON_ACCESS_DENIED
    not_found = AUTH_NOT_FOUND if authenticated else ANON_NOT_FOUND
    who = "with the stored credentials" if authenticated else "without credentials"
    scope = f"repository:{path}:pull"

    def flow(session: Session) -> VerificationResult:
        reply = _ping(session, registry)
        headers: dict[str, str] = {}
        if reply.status == 401:
            headers = authorization(session, challenge_of(reply.headers), credential, scope)
        elif reply.status != 200:
            raise _unexpected(registry, reply, "ping")
        manifest = registry.base.join(f"/v2/{path}/manifests/{ref}")
        headers["Accept"] = MANIFEST_ACCEPT
        reply = session.request("HEAD", manifest, headers=headers)
        if reply.status == 405:
            # A few registries do not implement HEAD on manifests.
            reply = session.request("GET", manifest, headers=headers)
        if reply.status == 200:
            return VerificationResult(True, "", f"{shown} can be pulled {who}.", registry.host)
        if reply.status == 401 and is_insufficient_scope(reply.headers):
            raise Stop(
                denied,
                f"Authenticated to {registry.host}, but not allowed to pull {path}."
                if authenticated
                else f"{registry.host} does not allow pulling {path} without credentials.",
                status=reply.status,
            )
        if reply.status in (401, 403):
            raise Stop(
                denied,
                f"{registry.host} does not allow pulling {path} {who} "
                f"(HTTP {reply.status}); the repository may also not exist.",
                status=reply.status,
            )
        if reply.status == 404:
            raise Stop(
                not_found, f"{shown} was not found on {registry.host}.", status=reply.status
            )
        raise _unexpected(registry, reply, "manifest request")

    return run(registry.host, options, credential, flow, deadline)
