"""Which stored credentials serve which image: the kubelet keyring's rules.

A registry key ``HOST[:PORT][/PATH]`` matches an image when

* the host has as many dot-separated labels as the image's registry host and each
  label matches as a glob (``*.azurecr.io`` matches ``x.azurecr.io`` but neither
  ``azurecr.io`` nor ``a.b.azurecr.io``),
* the ports are equal (both absent counts as equal),
* the key's path is a prefix of the image's repository path, compared by whole
  path components (``ghcr.io/acme`` serves ``ghcr.io/acme/app``, not ``ghcr.io/acme2``;
  the kubelet compares plain string prefixes, which lets the latter through), and
* Docker Hub keys (``https://index.docker.io/v1/`` and its other spellings) serve
  images on ``docker.io``.

Every match is returned, most specific first: more path components first, then
exact host labels before globs, then longer keys, then the kubelet's reverse
lexicographic order as a tie-break so the result is deterministic.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from .dockerconfig import (
    DOCKER_HUB_AUTH_KEY,
    DOCKER_HUB_DOMAIN,
    decode_auth,
    normalize_registry_key,
    parse_registry_key,
)
from .errors import InvalidDockerConfig
from .reference import ImageReference, parse_image_reference

__all__ = [
    "GLOB_INDEX_HOST",
    "Credential",
    "credential_for_key",
    "credentials_for_image",
    "hosts_for_image",
    "image_index_host",
    "index_host",
    "key_matches_image",
    "registry_host_for_matching",
]

# What index_host answers for a key whose host holds a glob: such a key may serve
# images on many hosts, so it is a candidate for every image.
GLOB_INDEX_HOST = "*"


@dataclass(frozen=True)
class Credential:
    """One matching config entry. Its repr never shows the password or tokens."""

    server: str  # the auths key as stored
    username: str
    password: str = field(repr=False)
    identitytoken: str = field(default="", repr=False)
    registrytoken: str = field(default="", repr=False)


@dataclass(frozen=True)
class _Pattern:
    labels: tuple[str, ...]
    port: str
    path: tuple[str, ...]
    text: str  # the matching form, for ordering

    def matches(self, target: _Pattern) -> bool:
        if self.port != target.port or len(self.labels) != len(target.labels):
            return False
        if target.path[: len(self.path)] != self.path:
            return False
        return all(
            fnmatchcase(label, glob) if "*" in glob else label == glob
            for glob, label in zip(self.labels, target.labels, strict=True)
        )

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Sort key: smaller sorts first."""
        globs = sum("*" in label for label in self.labels)
        return (-len(self.path), globs, -len(self.text))


def registry_host_for_matching(key: str) -> str:
    """The ``host[:port][/path]`` a stored key is matched as; raise InvalidDockerConfig.

    Docker Hub's ``https://index.docker.io/v1/`` matches as ``docker.io``, the domain
    image references use.
    """
    stored = normalize_registry_key(key)
    return DOCKER_HUB_DOMAIN if stored == DOCKER_HUB_AUTH_KEY else stored


def _pattern_for_key(key: str) -> _Pattern | None:
    """Parse a stored key; None when it cannot be a registry (never matched)."""
    try:
        text = registry_host_for_matching(key)
        parsed = parse_registry_key(text)
    except ValueError:
        return None
    return _Pattern(
        labels=_labels(parsed.host),
        port=parsed.port,
        path=tuple(parsed.path.split("/")) if parsed.path else (),
        text=text,
    )


def _pattern_for_image(image: ImageReference) -> _Pattern:
    domain = image.domain.lower()
    if domain.startswith("["):
        end = domain.index("]")
        host, port = domain[: end + 1], domain[end + 2 :]
        with contextlib.suppress(ValueError):  # keys store IPv6 compressed
            host = f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
    else:
        host, _, port = domain.partition(":")
    # Ports compare as numbers written canonically, like keys (":05000" is ":5000").
    port = str(int(port)) if port else ""
    return _Pattern(labels=_labels(host), port=port, path=tuple(image.path.split("/")), text="")


def _labels(host: str) -> tuple[str, ...]:
    # An IPv6 literal is one label: its dots (if any) and colons are not DNS structure.
    return (host,) if host.startswith("[") else tuple(host.split("."))


def _as_reference(image: str | ImageReference) -> ImageReference:
    return image if isinstance(image, ImageReference) else parse_image_reference(image)


def _matching_keys(keys: Iterable[str], image: str | ImageReference) -> list[str]:
    target = _pattern_for_image(_as_reference(image))
    matched: list[tuple[_Pattern, str]] = []
    for key in keys:
        if not isinstance(key, str):
            continue
        pattern = _pattern_for_key(key)
        if pattern is not None and pattern.matches(target):
            matched.append((pattern, key))
    # Two stable sorts: the kubelet's reverse lexicographic order breaks ties of the
    # specificity order, so equal-ranked keys still come out in a fixed order.
    matched.sort(key=lambda item: item[0].text, reverse=True)
    matched.sort(key=lambda item: item[0].specificity)
    return [key for _, key in matched]


def _index_form(pattern: _Pattern) -> str:
    host = ".".join(pattern.labels)
    return f"{host}:{pattern.port}" if pattern.port else host


def index_host(key: str) -> str | None:
    """The ``host[:port]`` under which a stored key is indexed for matching.

    A key can only serve images whose registry host has this exact matching form, so
    an index on it narrows the candidates before the full rule runs; a key with a glob
    in its host is indexed as ``GLOB_INDEX_HOST`` (a candidate for every image), and
    a key that can never match is not indexed (None).
    """
    pattern = _pattern_for_key(key)
    if pattern is None:
        return None
    if any("*" in label for label in pattern.labels):
        return GLOB_INDEX_HOST
    return _index_form(pattern)


def image_index_host(image: str | ImageReference) -> str:
    """The indexed host an image's candidates are found under (with the globs);
    raises InvalidImageReference for a malformed image."""
    return _index_form(_pattern_for_image(_as_reference(image)))


def key_matches_image(key: str, image: str | ImageReference) -> bool:
    """Whether one registry key serves an image."""
    return bool(_matching_keys([key], image))


def hosts_for_image(hosts: Iterable[str], image: str | ImageReference) -> list[str]:
    """The stored auths keys that serve ``image``, most specific first.

    Works on metadata alone (no credentials), for the service form. Raises
    InvalidImageReference for a malformed image.
    """
    return _matching_keys(list(hosts), image)


def credentials_for_image(
    config: Mapping[str, Any], image: str | ImageReference
) -> list[Credential]:
    """The credentials of ``config`` that serve ``image``, most specific first.

    Entries that cannot be used (not an object, undecodable auth) are skipped rather
    than failing the lookup: the document was validated when it was stored. Raises
    InvalidImageReference for a malformed image and InvalidDockerConfig when the
    document has no ``auths`` object.
    """
    auths = config.get("auths") if isinstance(config, Mapping) else None
    if not isinstance(auths, Mapping):
        raise InvalidDockerConfig('The config document has no "auths" object.')
    credentials = []
    for key in _matching_keys(list(auths), image):
        credential = _credential(key, auths[key])
        if credential is not None:
            credentials.append(credential)
    return credentials


def credential_for_key(config: Mapping[str, Any], key: str) -> Credential | None:
    """The credential stored under exactly ``key`` in ``config``'s auths, or None.

    For testing a login to one registry host of a secret (its stored ``hosts`` are
    the auths keys), where no image is involved, so no matching rule applies.
    """
    auths = config.get("auths") if isinstance(config, Mapping) else None
    if not isinstance(auths, Mapping):
        return None
    return _credential(key, auths.get(key))


def _credential(key: str, entry: Any) -> Credential | None:
    if not isinstance(entry, Mapping):
        return None

    def text(name: str) -> str:
        value = entry.get(name)
        return value if isinstance(value, str) else ""

    username, password = text("username"), text("password")
    auth = text("auth")
    if auth and not username:
        try:
            username, password = decode_auth(auth)
        except ValueError:
            return None
    identitytoken, registrytoken = text("identitytoken"), text("registrytoken")
    if not (username or identitytoken or registrytoken):
        return None
    return Credential(
        server=key,
        username=username,
        password=password,
        identitytoken=identitytoken,
        registrytoken=registrytoken,
    )
