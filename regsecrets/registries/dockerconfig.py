"""Parse, validate and normalize Docker config documents (``config.json``).

The normalized document is the one format every credential is stored in::

    {"auths": {"ghcr.io": {"username": "octocat", "password": "…", "auth": "b64(user:pw)"}}}

Keys are normalized so that the many spellings of one registry (``https://ghcr.io/v2/``,
``GHCR.io``) become one, and so that matching never has to guess. Messages name the
registry key at fault and never a secret value.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidDockerConfig
from .text import has_control_characters

__all__ = [
    "DOCKER_HUB_AUTH_KEY",
    "DOCKER_HUB_DOMAIN",
    "DOCKER_HUB_HOSTS",
    "MAX_DOCKER_CONFIG_BYTES",
    "RegistryKey",
    "build_docker_config",
    "credential_values",
    "decode_auth",
    "decode_text",
    "display_host",
    "dump_docker_config",
    "encode_auth",
    "normalize_registry_key",
    "parse_docker_config",
    "parse_registry_key",
    "retired_host_message",
]

# The key `docker login` writes for Docker Hub; the Docker CLI and the kubelet both look
# Docker Hub credentials up under exactly this string, so it is the one we store.
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_DOMAIN = "docker.io"
DOCKER_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

MAX_DOCKER_CONFIG_BYTES = 64 * 1024

_RETIRED_HOSTS = {
    "docker.pkg.github.com": (
        "GitHub retired docker.pkg.github.com; use ghcr.io (GitHub Container Registry) instead."
    ),
}

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# One DNS label; "*" is allowed because config keys may be kubelet-style globs.
_LABEL_RE = re.compile(r"^[a-z0-9*](?:[a-z0-9*-]*[a-z0-9*])?$")
# A repository path component, as in the distribution reference grammar.
_PATH_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_MAX_SHOWN_KEY = 100


@dataclass(frozen=True)
class RegistryKey:
    """A registry key split into lowercase host, port and repository path prefix."""

    host: str  # punycode, lowercase; may hold "*" globs; IPv6 in brackets
    port: str = ""  # "" when absent
    path: str = ""  # "org/team" without leading or trailing slash, "" when absent

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}" if self.port else self.host

    def __str__(self) -> str:
        return f"{self.hostport}/{self.path}" if self.path else self.hostport


def _show(key: object) -> str:
    """Quote a registry key for a message, bounded so a pasted blob cannot flood it."""
    text = str(key)
    if len(text) > _MAX_SHOWN_KEY:
        text = text[: _MAX_SHOWN_KEY - 1] + "…"
    return repr(text)


def parse_registry_key(key: str, *, allow_globs: bool = True) -> RegistryKey:
    """Split a registry key or URL into host, port and path; raise ValueError.

    Accepts an optional http(s) scheme, drops the ``/v1/`` and ``/v2/`` API prefixes
    (Docker and the kubelet treat them as the bare host), converts internationalized
    names to punycode. The ValueError's message explains the problem without quoting
    the key, so callers can prefix the key or a field label.
    """
    if not isinstance(key, str):
        raise ValueError("it is not a string")
    text = key.strip()
    if not text:
        raise ValueError("it is empty")
    if any(ch.isspace() for ch in text) or has_control_characters(text):
        raise ValueError("it contains spaces or control characters")
    match = _SCHEME_RE.match(text)
    if match:
        scheme = match.group(1).lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"{scheme}:// is not a registry scheme; use https:// or none")
        text = text[match.end() :]
    if "@" in text:
        raise ValueError("it contains user information (user@host); give only the host")
    if "?" in text or "#" in text:
        raise ValueError("it contains a query or fragment (? or #)")
    hostport, _, path = text.partition("/")
    if not hostport:
        raise ValueError("it has no host")
    host, port = _split_host_port(hostport, allow_globs=allow_globs)
    return RegistryKey(host=host, port=port, path=_clean_path(path))


def _split_host_port(hostport: str, *, allow_globs: bool) -> tuple[str, str]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end == -1:
            raise ValueError("its IPv6 address lacks a closing bracket")
        try:
            address = ipaddress.IPv6Address(hostport[1:end])
        except ValueError:
            raise ValueError("its IPv6 address is invalid")
        host, rest = f"[{address.compressed}]", hostport[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ValueError("unexpected text after its IPv6 address")
        port = rest[1:] if rest else None
    else:
        host, sep, port_text = hostport.partition(":")
        if ":" in port_text:
            raise ValueError("an IPv6 address must be written in brackets, like [::1]:5000")
        port = port_text if sep else None
        host = _ascii_host(host, allow_globs=allow_globs)
    if port is not None:
        if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
            raise ValueError("its port must be a number from 1 to 65535")
        port = str(int(port))
    return host, port or ""


def _ascii_host(host: str, *, allow_globs: bool) -> str:
    if not host:
        raise ValueError("it has no host")
    if not host.isascii():
        try:
            # The stdlib codec implements IDNA 2003 ToASCII label by label.
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError("its internationalized host name cannot be converted to punycode")
    host = host.lower()
    if len(host) > 253:
        raise ValueError("its host name is longer than 253 characters")
    for label in host.split("."):
        if not label:
            raise ValueError("its host name has an empty label (two dots, or a dot at an end)")
        if len(label) > 63:
            raise ValueError("a label of its host name is longer than 63 characters")
        if not _LABEL_RE.match(label):
            raise ValueError(
                "its host name may only contain letters, digits, hyphens and dots"
                + (", and * as a wildcard" if allow_globs else "")
            )
        if "*" in label and not allow_globs:
            raise ValueError("wildcards (*) are not allowed here; give one registry host")
    return host


def _clean_path(path: str) -> str:
    path = path.lower()
    # "/v1/" and "/v2/" are API prefixes, not repositories: `docker login` writes
    # https://index.docker.io/v1/ and some tools write https://HOST/v2/.
    if path in ("v1", "v2") or path.startswith(("v1/", "v2/")):
        path = path[3:]
    path = path.strip("/")
    if not path:
        return ""
    for component in path.split("/"):
        if not component:
            raise ValueError("its path has an empty component (//)")
        if not _PATH_COMPONENT_RE.match(component):
            raise ValueError(
                "its path may only contain lowercase letters, digits and the separators "
                ". _ __ -, between letters or digits"
            )
    return path


def normalize_registry_key(key: str) -> str:
    """Return the stored form of a registry key; raise InvalidDockerConfig.

    ``"docker.io"`` → ``DOCKER_HUB_AUTH_KEY``; ``"https://ghcr.io/v2/"`` → ``"ghcr.io"``;
    ``"index.docker.io/myorg"`` → ``"docker.io/myorg"``.
    """
    try:
        parsed = parse_registry_key(key)
    except ValueError as exc:
        raise InvalidDockerConfig(f"Registry key {_show(key)} is not a registry host: {exc}.")
    if parsed.host in DOCKER_HUB_HOSTS and not parsed.port:
        if not parsed.path:
            return DOCKER_HUB_AUTH_KEY
        return f"{DOCKER_HUB_DOMAIN}/{parsed.path}"
    return str(parsed)


def retired_host_message(key: str) -> str | None:
    """The reason a registry host is no longer usable, or None."""
    try:
        host = parse_registry_key(key).host
    except ValueError:
        return None
    return _RETIRED_HOSTS.get(host)


def display_host(key: str) -> str:
    """A short, friendly form of a stored registry key for lists and previews."""
    return DOCKER_HUB_DOMAIN if key == DOCKER_HUB_AUTH_KEY else key


def encode_auth(username: str, password: str) -> str:
    """The ``auth`` value of a config entry: base64 of ``username:password``."""
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def decode_auth(auth: str) -> tuple[str, str]:
    """Split an ``auth`` value into (username, password); raise ValueError.

    The error messages describe the problem and never echo the value.
    """
    text = auth.strip()
    # Some tools drop the padding; restoring it costs nothing and stays unambiguous.
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("auth is not valid base64")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("auth does not decode to UTF-8 text")
    if ":" not in decoded:
        raise ValueError("auth does not decode to username:password (it has no colon)")
    username, _, password = decoded.partition(":")
    if not username:
        raise ValueError("auth decodes to an empty username")
    return username, password


def build_docker_config(entries: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """Build a normalized document from (key, username, password) triples."""
    return {
        "auths": {
            key: {
                "username": username,
                "password": password,
                "auth": encode_auth(username, password),
            }
            for key, username, password in entries
        }
    }


def credential_values(config: Mapping[str, Any]) -> set[str]:
    """Every credential a document holds: each entry's password (also the one inside
    ``auth``), identity token and registry token.

    For rules of the form "a clear value must not also be a credential", such as the
    display username. Unreadable ``auth`` values are skipped: a normalized document
    has none, and this must not raise on a stored one.
    """
    values: set[str] = set()
    auths = config.get("auths") if isinstance(config, Mapping) else None
    if not isinstance(auths, Mapping):
        return values
    for entry in auths.values():
        if not isinstance(entry, Mapping):
            continue
        for name in ("password", "identitytoken", "registrytoken"):
            value = entry.get(name)
            if isinstance(value, str) and value:
                values.add(value)
        auth = entry.get("auth")
        if isinstance(auth, str) and auth:
            try:
                _, password = decode_auth(auth)
            except ValueError:
                continue
            if password:
                values.add(password)
    return values


def dump_docker_config(config: Mapping[str, Any]) -> str:
    """Serialize a document the way we store and reveal it (stable, readable)."""
    return json.dumps(config, indent=2)


def decode_text(raw: bytes) -> str:
    """Decode an uploaded text file: UTF-8 (BOM optional), or UTF-16 with a BOM.

    UTF-16 matters because PowerShell's ``>`` writes UTF-16 files. Raises
    UnicodeDecodeError.
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads silently keeps the last of duplicate keys; a config with two entries
    # for one registry is ambiguous, so say so instead of picking one.
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


_HELPER_MESSAGE = (
    'relies on a credential helper: "credsStore" and "credHelpers" name programs on '
    "your own machine (such as the macOS keychain or Docker Desktop's store) that keep "
    "the real password, so this file holds no secret. Run `docker login` again with the "
    "helper removed from config.json, or enter the username and password with another "
    "provider."
)


def parse_docker_config(data: str | bytes | Mapping[str, Any]) -> dict[str, Any]:
    """Validate a config.json document and return its normalized form.

    Takes JSON text, the bytes of an uploaded file, or an already decoded dict.
    Returns ``{"auths": {key: {...}}}`` with normalized keys and, per entry,
    ``username``/``password``/``auth`` and/or ``identitytoken``/``registrytoken``;
    anything else is dropped. Raises InvalidDockerConfig.
    """
    root = _load(data)
    if not isinstance(root, dict):
        raise InvalidDockerConfig('The document must be a JSON object with an "auths" object.')
    uses_helpers = bool(root.get("credsStore")) or bool(root.get("credHelpers"))
    auths = root.get("auths")
    if auths is None:
        if uses_helpers:
            raise InvalidDockerConfig(f'The document has no "auths" and {_HELPER_MESSAGE}')
        if root and all(isinstance(v, dict) and "auth" in v for v in root.values()):
            raise InvalidDockerConfig(
                "This looks like the legacy .dockercfg format; wrap its entries in "
                '{"auths": {…}} as config.json does.'
            )
        raise InvalidDockerConfig('The document has no "auths" object.')
    if not isinstance(auths, dict):
        raise InvalidDockerConfig('"auths" must be an object mapping registries to credentials.')
    if not auths:
        if uses_helpers:
            raise InvalidDockerConfig(f'"auths" is empty: the document {_HELPER_MESSAGE}')
        raise InvalidDockerConfig('"auths" is empty: the document holds no registry.')

    normalized: dict[str, dict[str, str]] = {}
    origin: dict[str, str] = {}
    for key, raw_entry in auths.items():
        stored = normalize_registry_key(key)
        retired = retired_host_message(stored)
        if retired:
            raise InvalidDockerConfig(f"Registry {_show(key)}: {retired}")
        entry = _normalize_entry(key, raw_entry, uses_helpers)
        if stored in normalized:
            if normalized[stored] == entry:
                continue  # the same credentials under two spellings: keep one
            raise InvalidDockerConfig(
                f"Registry keys {_show(origin[stored])} and {_show(key)} both mean "
                f"{_show(stored)} but hold different credentials; keep only one."
            )
        normalized[stored] = entry
        origin[stored] = key
    return {"auths": normalized}


def _load(data: str | bytes | Mapping[str, Any]) -> Any:
    """Turn the accepted input types into a JSON value, enforcing the size limit."""
    too_big = InvalidDockerConfig(
        f"The document is larger than {MAX_DOCKER_CONFIG_BYTES // 1024} KiB; "
        "a config.json with a few registries is far smaller."
    )
    if isinstance(data, Mapping):
        try:
            size = len(json.dumps(data).encode("utf-8", "surrogatepass"))
        except RecursionError:
            raise InvalidDockerConfig("The document is nested too deeply.")
        except (TypeError, ValueError):
            raise InvalidDockerConfig("The document holds values that are not JSON.")
        if size > MAX_DOCKER_CONFIG_BYTES:
            raise too_big
        return dict(data)
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > MAX_DOCKER_CONFIG_BYTES:
            raise too_big
        try:
            text = decode_text(raw)
        except UnicodeDecodeError:
            raise InvalidDockerConfig("The file is not UTF-8 text; upload config.json itself.")
    elif isinstance(data, str):
        if len(data) > MAX_DOCKER_CONFIG_BYTES or (
            len(data.encode("utf-8", "surrogatepass")) > MAX_DOCKER_CONFIG_BYTES
        ):
            raise too_big
        text = data.removeprefix("\ufeff")
    else:
        raise InvalidDockerConfig("The document must be JSON text or an object.")
    if not text.strip():
        raise InvalidDockerConfig("The document is empty.")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey as exc:
        raise InvalidDockerConfig(f"The key {_show(exc.args[0])} appears twice in one object.")
    except json.JSONDecodeError as exc:
        # exc.msg and the position only: the exception's own text is safe too, but a
        # future Python could add a snippet of the document, which may be a secret.
        raise InvalidDockerConfig(
            f"The document is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        )
    except RecursionError:
        raise InvalidDockerConfig("The document is nested too deeply.")


_ENTRY_FIELDS = ("auth", "username", "password", "identitytoken", "registrytoken")


def _normalize_entry(key: str, raw: Any, uses_helpers: bool) -> dict[str, str]:
    where = f"Registry {_show(key)}"
    if not isinstance(raw, dict):
        raise InvalidDockerConfig(f"{where}: its entry must be an object.")
    values: dict[str, str] = {}
    for name in _ENTRY_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidDockerConfig(f"{where}: {name} must be a string.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidDockerConfig(f"{where}: {name} contains invalid Unicode.")
        if "\x00" in value:
            raise InvalidDockerConfig(f"{where}: {name} contains a NUL character.")
        if value:
            values[name] = value

    username = values.get("username")
    password = values.get("password")
    tokens: dict[str, str] = {
        name: values[name] for name in ("identitytoken", "registrytoken") if name in values
    }
    if "auth" in values:
        try:
            auth_user, auth_password = decode_auth(values["auth"])
        except ValueError as exc:
            raise InvalidDockerConfig(f"{where}: {exc}.")
        if username is not None and username != auth_user:
            raise InvalidDockerConfig(f"{where}: username does not match the one inside auth.")
        if password is not None and password != auth_password:
            raise InvalidDockerConfig(f"{where}: password does not match the one inside auth.")
        username, password = auth_user, auth_password or None

    if username is None and password is None and not tokens:
        if uses_helpers:
            raise InvalidDockerConfig(f"{where} has no credentials: the document {_HELPER_MESSAGE}")
        raise InvalidDockerConfig(
            f"{where} has no credentials: give auth, username and password, or an identity token."
        )
    if password is not None and username is None:
        raise InvalidDockerConfig(f"{where}: it has a password but no username.")
    if username is not None:
        if ":" in username:
            raise InvalidDockerConfig(f"{where}: the username must not contain a colon.")
        if has_control_characters(username):
            raise InvalidDockerConfig(f"{where}: the username contains control characters.")
        if password is None and not tokens:
            raise InvalidDockerConfig(f"{where}: it has a username but no password.")

    entry: dict[str, str] = {}
    if username is not None:
        entry["username"] = username
        entry["password"] = password or ""
        entry["auth"] = encode_auth(username, password or "")
    entry.update(tokens)
    return entry
