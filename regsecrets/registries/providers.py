"""The provider catalogue: one declarative entry per kind of registry.

Each :class:`Provider` says which fields it asks for and turns valid input into the
canonical Docker config document plus non-secret metadata. The browser forms, the
admin, the API and the management commands all go through :meth:`Provider.validate`,
so each provider has exactly one implementation.

Messages never contain a secret value: they name the field and the problem.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .dockerconfig import (
    DOCKER_HUB_AUTH_KEY,
    DOCKER_HUB_DOMAIN,
    MAX_DOCKER_CONFIG_BYTES,
    build_docker_config,
    credential_values,
    decode_text,
    dump_docker_config,
    normalize_registry_key,
    parse_docker_config,
    parse_registry_key,
    retired_host_message,
)
from .errors import InvalidDockerConfig, ProviderValidationError
from .text import has_control_characters

__all__ = [
    "MAX_KEYFILE_BYTES",
    "PROVIDERS",
    "Provider",
    "ProviderField",
    "ProviderResult",
    "get_provider",
    "provider_by_key",
    "provider_by_slug",
]

MAX_KEYFILE_BYTES = 64 * 1024
_MAX_USERNAME = 255
# Generous: cloud-issued tokens (ECR, ACR refresh tokens) run to a few kilobytes.
_MAX_PASSWORD = 8192
_NON_FIELD = ProviderValidationError.NON_FIELD
_REQUIRED = "This field is required."


@dataclass(frozen=True)
class ProviderField:
    """One input a provider asks for."""

    name: str  # the Koyeb API field name
    label: str
    help_text: str
    kind: str  # "text" | "password" | "json" (a textarea that also accepts an upload)
    required: bool = True
    max_length: int | None = None
    placeholder: str = ""

    @property
    def secret(self) -> bool:
        """Write-only: accepted, stored, never shown again."""
        return self.kind in ("password", "json")


@dataclass(frozen=True)
class ProviderResult:
    """What a provider makes of valid input."""

    # Both hold secrets: kept out of repr so a logged or displayed result leaks nothing.
    fields: dict[str, str] = field(repr=False)  # normalized input under Koyeb field names
    config: dict[str, Any] = field(repr=False)  # normalized Docker config document
    hosts: tuple[str, ...]  # the auths keys as stored, in order
    username: str  # non-secret display username, "" when none


class _Errors:
    """Collects the errors of one submission, so the form reports them together."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def __contains__(self, name: str) -> bool:
        return name in self.errors

    def raise_if_any(self) -> None:
        if self.errors:
            raise ProviderValidationError(self.errors)


_Cleaner = Callable[[dict[str, str], _Errors], ProviderResult | None]
_Previewer = Callable[[Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class Provider:
    """A kind of registry and how to turn its form input into a config document."""

    key: str  # Koyeb API payload key, e.g. "docker_hub_registry"
    slug: str  # URL slug, e.g. "docker-hub"
    label: str
    icon: str  # CSS class suffix / static icon name
    description: str  # one line for the picker card
    help: str  # where to create the credential and with which scope
    fields: tuple[ProviderField, ...]
    # Inputs the API may send that the form does not ask for (e.g. DigitalOcean's
    # username, which is the token anyway).
    extra_fields: tuple[ProviderField, ...] = field(default=(), repr=False)
    cleaner: _Cleaner = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    previewer: _Previewer = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def validate(self, data: Mapping[str, Any]) -> ProviderResult:
        """Validate input and build the result; raise ProviderValidationError.

        Values are str, or bytes / file objects for uploads of json fields. Whitespace
        around non-secret values is stripped; secrets are taken as given.
        """
        errors = _Errors()
        values: dict[str, str] = {}
        for spec in (*self.fields, *self.extra_fields):
            try:
                text = _coerce(data.get(spec.name), spec)
            except ValueError as exc:
                errors.add(spec.name, str(exc))
                continue
            if not spec.secret:
                text = text.strip()
            if not text.strip():
                if spec.required:
                    errors.add(spec.name, _REQUIRED)
                continue
            if spec.max_length is not None and len(text) > spec.max_length:
                errors.add(spec.name, f"Enter at most {spec.max_length} characters.")
                continue
            values[spec.name] = text
        # The cleaner runs even after field errors, checking the fields that are present,
        # so one submission reports every problem; fields with errors are left out.
        result = self.cleaner(values, errors)
        errors.raise_if_any()
        assert result is not None  # a cleaner returns None only after adding an error
        return result

    def preview_host(self, data: Mapping[str, Any]) -> str | None:
        """Best-effort registry host for a live preview; never raises."""
        try:
            return self.previewer(data)
        except Exception:  # a preview must not break a page, whatever the input
            return None

    @property
    def secret_fields(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields if spec.secret)


def _coerce(value: Any, spec: ProviderField) -> str:
    """Turn one raw input value into text; raise ValueError with a safe message."""
    if value is None:
        return ""
    if hasattr(value, "read"):  # an uploaded file
        limit = MAX_DOCKER_CONFIG_BYTES if spec.kind == "json" else _MAX_PASSWORD
        value = value.read(limit + 1)
    if isinstance(value, bytes | bytearray):
        if spec.kind == "json" and len(value) > MAX_DOCKER_CONFIG_BYTES:
            raise ValueError(f"The file is larger than {MAX_DOCKER_CONFIG_BYTES // 1024} KiB.")
        try:
            return decode_text(bytes(value))
        except UnicodeDecodeError:
            raise ValueError("The file is not UTF-8 text.")
    if not isinstance(value, str):
        raise ValueError("Enter text.")
    if spec.kind == "json" and len(value) > MAX_DOCKER_CONFIG_BYTES:
        raise ValueError(f"The text is larger than {MAX_DOCKER_CONFIG_BYTES // 1024} KiB.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("The text contains invalid Unicode.")
    return value


# --- shared checks ------------------------------------------------------------------


def _username(values: dict[str, str], errors: _Errors, name: str = "username") -> str:
    value = values.get(name, "")
    if ":" in value:
        # Docker joins username and password with the first colon in "auth".
        errors.add(name, "The username cannot contain a colon.")
    elif any(ch.isspace() for ch in value) or has_control_characters(value):
        errors.add(name, "The username cannot contain spaces or control characters.")
    return value


def _token(values: dict[str, str], errors: _Errors, name: str = "password") -> str:
    """A provider-issued token: never contains whitespace, so surrounding whitespace
    from copy and paste is dropped rather than making the login fail later."""
    value = values.get(name, "").strip()
    if any(ch.isspace() for ch in value) or has_control_characters(value):
        errors.add(name, "The token cannot contain spaces or line breaks; paste the token alone.")
    return value


def _password(values: dict[str, str], errors: _Errors, name: str = "password") -> str:
    value = values.get(name, "")
    if has_control_characters(value):
        errors.add(name, "The password cannot contain line breaks or control characters.")
    return value


def _host_only(value: str, errors: _Errors, name: str, example: str) -> str | None:
    """Parse a registry host[:port] typed in a form (scheme optional, no path)."""
    try:
        parsed = parse_registry_key(value, allow_globs=False)
    except ValueError as exc:
        errors.add(name, f"Enter a registry host such as {example}: {exc}.")
        return None
    if parsed.path:
        errors.add(name, f"Enter only the registry host, such as {example}, without a path.")
        return None
    return parsed.hostport


def _single(
    host: str,
    username: str,
    password: str,
    fields: dict[str, str],
    display_username: str | None = None,
) -> ProviderResult:
    return ProviderResult(
        fields=fields,
        config=build_docker_config([(host, username, password)]),
        hosts=(host,),
        username=username if display_username is None else display_username,
    )


def _text_field(name: str, label: str, help_text: str, **kwargs: Any) -> ProviderField:
    kwargs.setdefault("max_length", _MAX_USERNAME)
    return ProviderField(name=name, label=label, help_text=help_text, kind="text", **kwargs)


def _secret_field(name: str, label: str, help_text: str, **kwargs: Any) -> ProviderField:
    kwargs.setdefault("max_length", _MAX_PASSWORD)
    return ProviderField(name=name, label=label, help_text=help_text, kind="password", **kwargs)


# --- Docker Hub ---------------------------------------------------------------------


def _clean_docker_hub(values: dict[str, str], errors: _Errors) -> ProviderResult | None:
    username = _username(values, errors)
    if "username" not in errors and "@" in username:
        errors.add("username", "Use your Docker ID (username), not your email address.")
    token = _token(values, errors)
    if errors.errors:
        return None
    return _single(DOCKER_HUB_AUTH_KEY, username, token, {"username": username, "password": token})


DOCKER_HUB = Provider(
    key="docker_hub_registry",
    slug="docker-hub",
    label="Docker Hub",
    icon="docker",
    description="Private repositories on Docker Hub (docker.io).",
    help=(
        "Create a personal access token with the Read-only scope at "
        "https://app.docker.com/settings/personal-access-tokens. For an organization "
        "access token, use the organization name as the username."
    ),
    fields=(
        _text_field("username", "Docker ID", "Your Docker Hub username, not your email address."),
        _secret_field("password", "Access token", "A personal access token (dckr_pat_…)."),
    ),
    cleaner=_clean_docker_hub,
    previewer=lambda data: DOCKER_HUB_DOMAIN,
)


# --- GitHub -------------------------------------------------------------------------

GHCR_HOST = "ghcr.io"
_GITHUB_LOGIN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")


def _clean_github(values: dict[str, str], errors: _Errors) -> ProviderResult | None:
    url = values.get("url", "")
    if url:  # only the API may send one; the form knows the host
        retired = retired_host_message(url)
        if retired:
            errors.add("url", retired)
        elif _host_only(url, errors, "url", GHCR_HOST) not in (GHCR_HOST, None):
            errors.add(
                "url", "GitHub Container Registry is ghcr.io; use Private registry for others."
            )
    username = values.get("username", "")
    if "@" in username:
        errors.add("username", "Use your GitHub username, not your email address.")
    elif username and not _GITHUB_LOGIN_RE.fullmatch(username):
        errors.add(
            "username",
            "A GitHub username has at most 39 letters, digits or single hyphens, "
            "and does not start or end with a hyphen.",
        )
    token = _token(values, errors)
    if token.startswith("github_pat_"):
        errors.add(
            "password",
            "Fine-grained tokens cannot read GitHub Packages; create a personal access "
            "token (classic) with the read:packages scope.",
        )
    if errors.errors:
        return None
    return _single(GHCR_HOST, username, token, {"username": username, "password": token})


GITHUB = Provider(
    key="github_registry",
    slug="github",
    label="GitHub Container Registry",
    icon="github",
    description="Container images on ghcr.io.",
    help=(
        "Create a personal access token (classic) with the read:packages scope at "
        "https://github.com/settings/tokens/new?scopes=read:packages. Fine-grained "
        "tokens do not work with GitHub Packages."
    ),
    fields=(
        _text_field(
            "username", "GitHub username", "The account that owns the token.", max_length=39
        ),
        _secret_field(
            "password", "Personal access token", "A classic token (ghp_…) with read:packages."
        ),
    ),
    extra_fields=(_text_field("url", "Registry", "Always ghcr.io.", required=False),),
    cleaner=_clean_github,
    previewer=lambda data: GHCR_HOST,
)


# --- GitLab -------------------------------------------------------------------------

GITLAB_HOST = "registry.gitlab.com"


def _clean_gitlab(values: dict[str, str], errors: _Errors) -> ProviderResult | None:
    host: str | None = GITLAB_HOST
    if values.get("url"):
        host = _host_only(values["url"], errors, "url", "registry.gitlab.example.com")
        if host == "gitlab.com":
            errors.add("url", "GitLab.com's registry is registry.gitlab.com.")
        elif host and retired_host_message(host):
            errors.add("url", retired_host_message(host) or "")
    username = _username(values, errors)
    token = _token(values, errors)
    if errors.errors or host is None:
        return None
    fields = {"username": username, "password": token, "url": host}
    return _single(host, username, token, fields)


def _preview_gitlab(data: Mapping[str, Any]) -> str | None:
    url = str(data.get("url") or "").strip()
    if not url:
        return GITLAB_HOST
    return parse_registry_key(url, allow_globs=False).hostport


GITLAB = Provider(
    key="gitlab_registry",
    slug="gitlab",
    label="GitLab Container Registry",
    icon="gitlab",
    description="GitLab.com's registry or a self-managed GitLab registry.",
    help=(
        "Create a deploy token with the read_registry scope under the project's "
        "Settings > Repository > Deploy tokens, or a personal access token with "
        "read_registry at https://gitlab.com/-/user_settings/personal_access_tokens."
    ),
    fields=(
        _text_field(
            "username",
            "Username",
            "The deploy token's username (gitlab+deploy-token-…) or your GitLab username.",
        ),
        _secret_field("password", "Token", "The deploy token or personal access token."),
        _text_field(
            "url",
            "Registry host",
            "Only for self-managed GitLab: your registry's host, e.g. gitlab.example.com:5050.",
            required=False,
            placeholder=GITLAB_HOST,
        ),
    ),
    cleaner=_clean_gitlab,
    previewer=_preview_gitlab,
)


# --- DigitalOcean -------------------------------------------------------------------

DIGITALOCEAN_HOST = "registry.digitalocean.com"


def _clean_digital_ocean(values: dict[str, str], errors: _Errors) -> ProviderResult | None:
    token = _token(values, errors)
    if ":" in token:
        errors.add("password", "The API token cannot contain a colon.")
    # `doctl registry login` uses the token as both username and password; the API
    # may send a distinct username, which the registry accepts too.
    username = _username(values, errors) or token
    if errors.errors:
        return None
    display = username if username != token else ""
    fields = {"username": username, "password": token}
    return _single(DIGITALOCEAN_HOST, username, token, fields, display_username=display)


DIGITAL_OCEAN = Provider(
    key="digital_ocean_registry",
    slug="digital-ocean",
    label="DigitalOcean Container Registry",
    icon="digitalocean",
    description="Images in your DigitalOcean registry (registry.digitalocean.com).",
    help=(
        "Create an API token with read access to the container registry at "
        "https://cloud.digitalocean.com/account/api/tokens. It serves as both username "
        "and password, as with `doctl registry login`."
    ),
    fields=(_secret_field("password", "API token", "A DigitalOcean API token (dop_v1_…)."),),
    extra_fields=(_text_field("username", "Username", "Defaults to the token.", required=False),),
    cleaner=_clean_digital_ocean,
    previewer=lambda data: DIGITALOCEAN_HOST,
)


# --- Azure --------------------------------------------------------------------------

_ACR_SUFFIX = ".azurecr.io"
_ACR_NAME_RE = re.compile(r"[a-z0-9]{5,50}")


def _acr_name(value: str) -> str:
    """Accept "myreg", "myreg.azurecr.io" or "https://myreg.azurecr.io/"."""
    name = re.sub(r"^https?://", "", value.strip(), flags=re.IGNORECASE).rstrip("/").lower()
    return name.removesuffix(_ACR_SUFFIX)


def _clean_azure(values: dict[str, str], errors: _Errors) -> ProviderResult | None:
    name = _acr_name(values.get("registry_name", ""))
    if "registry_name" in values and not _ACR_NAME_RE.fullmatch(name):
        errors.add(
            "registry_name",
            "A registry name is 5 to 50 letters and digits: the NAME in NAME.azurecr.io.",
        )
    username = _username(values, errors)
    password = _password(values, errors)
    if errors.errors:
        return None
    host = name + _ACR_SUFFIX
    fields = {"registry_name": name, "username": username, "password": password}
    return _single(host, username, password, fields)


def _preview_azure(data: Mapping[str, Any]) -> str | None:
    name = _acr_name(str(data.get("registry_name") or ""))
    return name + _ACR_SUFFIX if _ACR_NAME_RE.fullmatch(name) else None


AZURE = Provider(
    key="azure_container_registry",
    slug="azure",
    label="Azure Container Registry",
    icon="azure",
    description="An Azure Container Registry (NAME.azurecr.io).",
    help=(
        "Use a service principal with the AcrPull role (username: its application ID), "
        "a repository-scoped token, or the admin user under the registry's "
        "Settings > Access keys."
    ),
    fields=(
        _text_field(
            "registry_name",
            "Registry name",
            "The NAME in NAME.azurecr.io: 5 to 50 letters and digits.",
            max_length=100,
            placeholder="myregistry",
        ),
        _text_field(
            "username",
            "Username",
            "The admin user, a service principal's application ID, or a token name.",
        ),
        _secret_field("password", "Password", "The matching password or client secret."),
    ),
    cleaner=_clean_azure,
    previewer=_preview_azure,
)


# --- Google Cloud -------------------------------------------------------------------

GCP_USERNAME = "_json_key"
_GCR_HOSTS = ("gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io")
# Artifact Registry: a region (europe-west1) or multi-region (europe) before -docker.
_ARTIFACT_REGISTRY_RE = re.compile(r"[a-z]+(?:-[a-z]+[0-9]+)?-docker\.pkg\.dev")
_SERVICE_ACCOUNT_FIELDS = ("client_email", "private_key", "project_id")


def _gcp_host(value: str) -> str | None:
    """The registry host of a gcr.io / Artifact Registry URL, or None.

    A repository path ("europe-west1-docker.pkg.dev/proj/repo") is accepted and
    dropped: the credentials are per host.
    """
    parsed = parse_registry_key(value, allow_globs=False)
    host = parsed.hostport
    if host in _GCR_HOSTS or _ARTIFACT_REGISTRY_RE.fullmatch(host):
        return host
    return None


def parse_service_account_key(value: str | bytes) -> str:
    """Return the JSON text of a service-account key given as JSON, bytes or base64.

    Raises ValueError with a message that never quotes the key.
    """
    if isinstance(value, bytes | bytearray):
        try:
            value = decode_text(bytes(value))
        except UnicodeDecodeError:
            raise ValueError("The key file is not UTF-8 text.")
    text = value.strip()
    if len(text.encode("utf-8", "surrogatepass")) > MAX_KEYFILE_BYTES:
        raise ValueError(f"The key file is larger than {MAX_KEYFILE_BYTES // 1024} KiB.")
    if not text.startswith("{"):
        # The API sends the key base64-encoded, as Koyeb's keyfile_content does.
        try:
            decoded = base64.b64decode("".join(text.split()), validate=True)
            text = decode_text(decoded).strip()
        except (binascii.Error, ValueError):
            raise ValueError("The key file is neither JSON nor base64 of JSON.")
        if not text.startswith("{"):
            raise ValueError("The key file is neither JSON nor base64 of JSON.")
    try:
        key = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"The key file is not valid JSON (line {exc.lineno}, column {exc.colno}).")
    except RecursionError:
        raise ValueError("The key file is nested too deeply.")
    if not isinstance(key, dict):
        raise ValueError("The key file must be a JSON object.")
    kind = key.get("type")
    if kind == "authorized_user":
        raise ValueError(
            "This is a user credential from gcloud, not a service-account key; "
            "create a JSON key for a service account."
        )
    if kind == "external_account":
        raise ValueError(
            "This is a workload identity federation configuration, which holds no key; "
            "create a JSON key for a service account."
        )
    if kind != "service_account":
        raise ValueError('The key file must have "type": "service_account".')
    missing = [
        name
        for name in _SERVICE_ACCOUNT_FIELDS
        if not (isinstance(key.get(name), str) and key[name])
    ]
    if missing:
        raise ValueError(f"The key file lacks {', '.join(missing)}.")
    if "PRIVATE KEY" not in key["private_key"]:
        raise ValueError("The key file's private_key is not a PEM private key.")
    if "@" not in key["client_email"]:
        raise ValueError("The key file's client_email is not an email address.")
    return text


def _clean_gcp(values: dict[str, str], errors: _Errors) -> ProviderResult | None:
    host = None
    with contextlib.suppress(ValueError):  # an unparsable URL is reported just below
        host = _gcp_host(values.get("url", ""))
    if host is None and "url" in values:
        errors.add(
            "url",
            "Enter gcr.io, us.gcr.io, eu.gcr.io, asia.gcr.io, or REGION-docker.pkg.dev "
            "for Artifact Registry.",
        )
    key_text = ""
    if "keyfile_content" in values:
        try:
            key_text = parse_service_account_key(values["keyfile_content"])
        except ValueError as exc:  # messages describe the problem, never the key
            errors.add("keyfile_content", str(exc))
    if errors.errors or host is None:
        return None
    fields = {
        "url": host,
        "keyfile_content": base64.b64encode(key_text.encode("utf-8")).decode("ascii"),
    }
    return _single(host, GCP_USERNAME, key_text, fields)


def _preview_gcp(data: Mapping[str, Any]) -> str | None:
    return _gcp_host(str(data.get("url") or ""))


GCP = Provider(
    key="gcp_container_registry",
    slug="gcp",
    label="Google Cloud Artifact Registry",
    icon="gcp",
    description="Artifact Registry (REGION-docker.pkg.dev) or Container Registry (gcr.io).",
    help=(
        "Create a JSON key for a service account with the Artifact Registry Reader role "
        "(roles/artifactregistry.reader) under IAM & Admin > Service accounts > Keys."
    ),
    fields=(
        _text_field(
            "url",
            "Registry",
            "gcr.io, us.gcr.io, eu.gcr.io, asia.gcr.io, or REGION-docker.pkg.dev.",
            placeholder="europe-west1-docker.pkg.dev",
        ),
        ProviderField(
            name="keyfile_content",
            label="Service-account key file",
            help_text="Paste the JSON key file or upload it.",
            kind="json",
        ),
    ),
    cleaner=_clean_gcp,
    previewer=_preview_gcp,
)


# --- Any private registry -----------------------------------------------------------


def _clean_private(values: dict[str, str], errors: _Errors) -> ProviderResult | None:
    key: str | None = None
    url = values.get("url")
    try:
        if url is not None:
            parse_registry_key(url, allow_globs=False)  # refuses globs, which keys may hold
            key = normalize_registry_key(url)
    except ValueError as exc:
        errors.add("url", f"Enter a registry such as registry.example.com:5000: {exc}.")
    if key is not None:
        retired = retired_host_message(key)
        if retired:
            errors.add("url", retired)
            key = None
        elif key == DOCKER_HUB_AUTH_KEY or key.startswith(f"{DOCKER_HUB_DOMAIN}/"):
            errors.add("url", "That is Docker Hub; choose the Docker Hub provider.")
            key = None
    username = _username(values, errors)
    password = _password(values, errors)
    if errors.errors or key is None:
        return None
    fields = {"url": key, "username": username, "password": password}
    return _single(key, username, password, fields)


def _preview_private(data: Mapping[str, Any]) -> str | None:
    url = str(data.get("url") or "")
    parse_registry_key(url, allow_globs=False)
    return normalize_registry_key(url)


PRIVATE = Provider(
    key="private_registry",
    slug="private",
    label="Private registry",
    icon="server",
    description="Any registry speaking the Docker Registry HTTP API v2.",
    help=(
        "Enter the registry's host, with :PORT if it is not 443, and optionally a "
        "repository path to limit which images these credentials serve."
    ),
    fields=(
        _text_field(
            "url",
            "Registry URL",
            "host[:port][/path]; https:// is assumed.",
            placeholder="registry.example.com:5000",
        ),
        _text_field("username", "Username", "The registry account's username."),
        _secret_field("password", "Password", "The password or access token."),
    ),
    cleaner=_clean_private,
    previewer=_preview_private,
)


# --- A whole config.json ------------------------------------------------------------


def _clean_docker_config(values: dict[str, str], errors: _Errors) -> ProviderResult | None:
    if "config" not in values:
        return None
    try:
        config = parse_docker_config(values["config"])
    except InvalidDockerConfig as exc:
        errors.add("config", str(exc))
        return None
    entries = config["auths"]
    first = next(iter(entries.values()))
    # `doctl registry docker-config` writes auth = base64(token:token): its username
    # is the token. A username that is also any credential of the document (password,
    # identity or registry token, of any entry) is not shown.
    username = first.get("username", "")
    if username in credential_values(config):
        username = ""
    return ProviderResult(
        fields={"config": dump_docker_config(config)},
        config=config,
        hosts=tuple(entries),
        username=username,
    )


def _preview_docker_config(data: Mapping[str, Any]) -> str | None:
    value = data.get("config")
    if not value:
        return None
    return next(iter(parse_docker_config(value)["auths"]), None)


DOCKER_CONFIG = Provider(
    key="docker_config",
    slug="docker-config",
    label="Docker config.json",
    icon="docker-config",
    description="Paste or upload a config.json written by docker login, for any registry.",
    help=(
        "Run `docker login REGISTRY`, then paste or upload ~/.docker/config.json. If it "
        "uses a credential helper (credsStore or credHelpers), the file holds no "
        "password: remove the helper and log in again."
    ),
    fields=(
        ProviderField(
            name="config",
            label="config.json",
            help_text='The whole file, with an "auths" object; at most 64 KiB.',
            kind="json",
            placeholder='{"auths": {"registry.example.com": {"auth": "…"}}}',
        ),
    ),
    cleaner=_clean_docker_config,
    previewer=_preview_docker_config,
)


# --- The catalogue ------------------------------------------------------------------

PROVIDERS: tuple[Provider, ...] = (
    DOCKER_HUB,
    GITHUB,
    GITLAB,
    DIGITAL_OCEAN,
    AZURE,
    GCP,
    PRIVATE,
    DOCKER_CONFIG,
)
_BY_KEY = {provider.key: provider for provider in PROVIDERS}
_BY_SLUG = {provider.slug: provider for provider in PROVIDERS}


def provider_by_key(key: str) -> Provider:
    """The provider with this API key (``"github_registry"``); raise KeyError."""
    return _BY_KEY[key]


def provider_by_slug(slug: str) -> Provider:
    """The provider with this URL slug (``"github"``); raise KeyError."""
    return _BY_SLUG[slug]


def get_provider(key_or_slug: str) -> Provider:
    """The provider with this API key or URL slug; raise KeyError."""
    provider = _BY_KEY.get(key_or_slug) or _BY_SLUG.get(key_or_slug)
    if provider is None:
        raise KeyError(key_or_slug)
    return provider
