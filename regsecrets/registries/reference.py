"""Image references, parsed by the distribution reference grammar.

The grammar is docker/distribution's ``reference`` package (also used by containerd
and the kubelet), including its normalization: a first component without a dot or a
colon (and not ``localhost``) is a Docker Hub namespace, not a host, and official
images live under ``library/``. We parse step by step instead of with one big regular
expression so every failure gets a message that says what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidImageReference

__all__ = ["DEFAULT_DOMAIN", "MAX_IMAGE_LENGTH", "ImageReference", "parse_image_reference"]

DEFAULT_DOMAIN = "docker.io"
_LEGACY_DEFAULT_DOMAIN = "index.docker.io"
_OFFICIAL_PREFIX = "library/"
NAME_TOTAL_LENGTH_MAX = 255
# The longest image reference anyone may type, store or check: the service's column,
# its forms and the verification faces all use this one limit. A repository name is at
# most 255 characters; a tag (128) and a digest (sha512: 135) fit beside it.
MAX_IMAGE_LENGTH = 512

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
)
_PATH_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG_RE = re.compile(r"\w[\w.-]{0,127}", re.ASCII)
_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")
# Lengths of the registered digest algorithms (opencontainers/go-digest).
_DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True)
class ImageReference:
    """A parsed, normalized image reference."""

    domain: str  # "docker.io" when defaulted; "ghcr.io"; "localhost:5000"
    path: str  # "library/nginx"
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The repository name with its domain: ``docker.io/library/nginx``."""
        return f"{self.domain}/{self.path}"

    @property
    def reference(self) -> str:
        """What is pulled: the digest, else the tag, else ``latest``."""
        return self.digest or self.tag or "latest"

    @property
    def familiar(self) -> str:
        """The short form people type: ``nginx``, ``user/app``, ``ghcr.io/o/app``."""
        if self.domain != DEFAULT_DOMAIN:
            return str(self)
        path = self.path.removeprefix(_OFFICIAL_PREFIX)
        return self._with_suffix(path)

    def _with_suffix(self, name: str) -> str:
        if self.tag:
            name += f":{self.tag}"
        if self.digest:
            name += f"@{self.digest}"
        return name

    def __str__(self) -> str:
        """The canonical full form, e.g. ``docker.io/library/nginx:1.27``.

        No ``:latest`` is added when the tag was omitted; see :attr:`reference`.
        """
        return self._with_suffix(self.name)


def parse_image_reference(image: str) -> ImageReference:
    """Parse and normalize an image reference; raise InvalidImageReference."""
    if not isinstance(image, str):
        raise InvalidImageReference("The image reference must be text.")
    if not image.strip():
        raise InvalidImageReference("The image reference is empty.")
    if any(ch.isspace() for ch in image):
        raise InvalidImageReference("An image reference cannot contain spaces.")
    if "://" in image:
        raise InvalidImageReference(
            "Leave out the scheme: write ghcr.io/owner/app, not https://ghcr.io/owner/app."
        )
    if _IDENTIFIER_RE.fullmatch(image):
        raise InvalidImageReference(
            "A 64-character hexadecimal string is an image ID, not a reference; "
            "give the repository name."
        )

    remainder, at, digest = image.partition("@")
    if at:
        _check_digest(digest)
    colon, slash = remainder.rfind(":"), remainder.rfind("/")
    tag: str | None = None
    if colon > slash:  # a colon before the last slash belongs to a port
        remainder, tag = remainder[:colon], remainder[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            raise InvalidImageReference(
                "The tag must be 1 to 128 letters, digits, '_', '.' or '-', "
                "and cannot start with '.' or '-'."
            )
    if not remainder:
        raise InvalidImageReference("The image reference has no repository name.")

    domain, path = _split_domain(remainder)
    if path != path.lower():
        raise InvalidImageReference("The repository name must be lowercase.")
    for component in path.split("/"):
        if not component:
            raise InvalidImageReference(
                "The repository name has an empty component (a leading, trailing or double '/')."
            )
        if not _PATH_COMPONENT_RE.fullmatch(component):
            raise InvalidImageReference(
                f"The repository name component {component!r} may only contain lowercase "
                "letters, digits and the separators '.', '_', '__' or '-' between them."
            )
    if len(domain) + 1 + len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidImageReference(
            f"The repository name is longer than {NAME_TOTAL_LENGTH_MAX} characters."
        )
    return ImageReference(domain=domain, path=path, tag=tag, digest=digest or None)


def _split_domain(name: str) -> tuple[str, str]:
    """distribution's splitDockerDomain: find the registry host, default docker.io."""
    first, sep, rest = name.partition("/")
    # Without a dot, a colon or "localhost", a lowercase first component is a Docker Hub
    # namespace ("user/app"); uppercase would be invalid as a namespace, so it is a host.
    if not sep or (
        not any(ch in first for ch in ".:") and first != "localhost" and first == first.lower()
    ):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, rest
        if not _DOMAIN_RE.fullmatch(domain):
            raise InvalidImageReference(
                f"The registry host {domain!r} is invalid: use a host name or IP address, "
                "optionally with :PORT."
            )
    if domain == _LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = _OFFICIAL_PREFIX + path
    return domain, path


def _check_digest(digest: str) -> None:
    if not _DIGEST_RE.fullmatch(digest):
        raise InvalidImageReference(
            "The digest must be ALGORITHM:HEX, such as sha256: followed by 64 hex digits."
        )
    algorithm, _, encoded = digest.partition(":")
    expected = _DIGEST_HEX_LENGTHS.get(algorithm)
    if expected is None:
        raise InvalidImageReference(
            f"Unsupported digest algorithm {algorithm!r}; use sha256, sha384 or sha512."
        )
    if len(encoded) != expected or encoded != encoded.lower():
        raise InvalidImageReference(
            f"A {algorithm} digest must be {expected} lowercase hexadecimal digits."
        )
