"""WWW-Authenticate challenges (RFC 7235): parse them, pick the one to answer, and
recognise a registry saying the token's scope is not enough."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from .results import MALFORMED, Stop

__all__ = [
    "Challenge",
    "MalformedChallenge",
    "challenge_of",
    "is_insufficient_scope",
    "parse_challenges",
]

_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_SCHEME_RE = re.compile(rf"\s*({_TOKEN})")
_PARAM_RE = re.compile(rf"\s*({_TOKEN})\s*=\s*(?:\"((?:[^\"\\]|\\.)*)\"|([^\s,\"]*))")


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower-case: "basic" or "bearer"
    params: dict[str, str]


class MalformedChallenge(ValueError):
    pass


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a WWW-Authenticate value (RFC 7235) into challenges.

    Strict enough to call garbage garbage (unterminated quotes, parameters without a
    scheme), lenient about whitespace, since registries in the wild vary.
    """
    challenges: list[Challenge] = []
    pos = 0
    length = len(header)
    while pos < length:
        while pos < length and header[pos] in " \t,":
            pos += 1
        if pos >= length:
            break
        match = _SCHEME_RE.match(header, pos)
        if not match:
            raise MalformedChallenge(header)
        scheme = match.group(1).lower()
        pos = match.end()
        params: dict[str, str] = {}
        while True:
            param = _PARAM_RE.match(header, pos)
            if not param:
                break
            value = param.group(2)
            value = re.sub(r"\\(.)", r"\1", value) if value is not None else param.group(3)
            params[param.group(1).lower()] = value
            pos = param.end()
            rest = header[pos:].lstrip(" \t")
            if rest.startswith(","):
                pos = length - len(rest) + 1
                continue
            break
        challenges.append(Challenge(scheme, params))
    if not challenges:
        raise MalformedChallenge(header)
    return challenges


def challenge_of(headers: httpx.Headers) -> Challenge:
    """The challenge to answer: Bearer preferred over Basic, like the Docker client."""
    values = headers.get_list("www-authenticate")
    if not values:
        raise Stop(
            MALFORMED,
            "The registry asked for authentication without saying how "
            "(no WWW-Authenticate header).",
        )
    found: list[Challenge] = []
    try:
        for value in values:
            found.extend(parse_challenges(value))
    except MalformedChallenge:
        raise Stop(
            MALFORMED,
            "The registry's authentication challenge (WWW-Authenticate header) is malformed.",
        )
    for wanted in ("bearer", "basic"):
        for challenge in found:
            if challenge.scheme == wanted:
                if wanted == "bearer" and not challenge.params.get("realm"):
                    raise Stop(
                        MALFORMED,
                        "The registry's Bearer challenge has no realm (token server address).",
                    )
                return challenge
    raise Stop(
        MALFORMED,
        "The registry asks for an authentication scheme other than "
        "Basic or Bearer, which is not supported.",
    )


def is_insufficient_scope(headers: httpx.Headers) -> bool:
    for value in headers.get_list("www-authenticate"):
        try:
            for challenge in parse_challenges(value):
                if challenge.params.get("error") == "insufficient_scope":
                    return True
        except MalformedChallenge:
            continue
    return False
