"""Google Cloud: Artifact Registry (REGION-docker.pkg.dev) or Container Registry
(gcr.io), logged in to as ``_json_key`` with a service account's JSON key file."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Mapping
from typing import Any

from regsecrets.registries.dockerconfig import decode_text, parse_registry_key

from .base import FieldErrors, Provider, ProviderField, ProviderResult, single_entry, text_field

__all__ = ["GCP_USERNAME", "MAX_KEYFILE_BYTES", "GoogleCloud", "parse_service_account_key"]

MAX_KEYFILE_BYTES = 64 * 1024
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


class GoogleCloud(Provider):
    key = "gcp_container_registry"
    slug = "gcp"
    label = "Google Cloud Artifact Registry"
    icon = "gcp"
    description = "Artifact Registry (REGION-docker.pkg.dev) or Container Registry (gcr.io)."
    help = (
        "Create a JSON key for a service account with the Artifact Registry Reader role "
        "(roles/artifactregistry.reader) under IAM & Admin > Service accounts > Keys. "
        "There is no username to type: Google's registries take the fixed username "
        "_json_key with the whole key file as the password, and the secret is listed "
        "under the service account's email."
    )
    console_url = "https://console.cloud.google.com/iam-admin/serviceaccounts"
    host_patterns = ("gcr.io", "*.gcr.io", "*-docker.pkg.dev")
    console_label = "Service accounts in the Google Cloud console"
    identity_hint = "service-account key"
    fields = (
        text_field(
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
    )

    def clean(self, values: dict[str, str], errors: FieldErrors) -> ProviderResult | None:
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
        # Listed by the service account it belongs to, not by the fixed "_json_key".
        client_email = json.loads(key_text)["client_email"]
        return single_entry(host, GCP_USERNAME, key_text, fields, display_username=client_email)

    def identity(self, username: str) -> str:
        # Secrets stored before the email was kept show the fixed username.
        return self.identity_hint if username in ("", GCP_USERNAME) else username

    def preview(self, data: Mapping[str, Any]) -> str | None:
        return _gcp_host(str(data.get("url") or ""))
