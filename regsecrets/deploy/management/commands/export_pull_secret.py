"""Print a service's image pull secret for the platform (decrypts; audited)."""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from regsecrets.accounts.models import Organization
from regsecrets.crypto import DecryptionError
from regsecrets.deploy.models import App, Service
from regsecrets.deploy.services import PullSecretUnavailable, service_pull_secret

FORMATS = ("dockerconfigjson", "kubernetes")

# Kubernetes' own rules: an object name is a DNS-1123 subdomain, a namespace a label.
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_OBJECT_NAME = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
_NAMESPACE = re.compile(_DNS_LABEL)

# When the short-lived token inside stops working (RFC 3339, UTC): what a job that
# refreshes pull secrets looks at.
EXPIRY_ANNOTATION = "regsecrets/token-expires-at"


def rfc3339(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def object_name(value: str) -> str:
    if len(value) > 253 or not _OBJECT_NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value[:80]!r} is not a Kubernetes object name (lowercase letters, digits, "
            "'-' and '.', starting and ending with a letter or digit, at most 253)"
        )
    return value


def namespace_name(value: str) -> str:
    if len(value) > 63 or not _NAMESPACE.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value[:80]!r} is not a Kubernetes namespace (lowercase letters, digits and "
            "'-', starting and ending with a letter or digit, at most 63)"
        )
    return value


def kubernetes_manifest(
    *,
    name: str,
    config: dict[str, Any],
    namespace: str | None = None,
    expires_at: datetime.datetime | None = None,
) -> dict[str, Any]:
    """A Secret of type kubernetes.io/dockerconfigjson carrying ``config``; a minted
    token's expiry goes in an annotation."""
    encoded = base64.b64encode(json.dumps(config, separators=(",", ":")).encode()).decode("ascii")
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if expires_at is not None:
        metadata["annotations"] = {EXPIRY_ANNOTATION: rfc3339(expires_at)}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": encoded},
    }


def manifest_name(service: Service) -> str:
    # App and service names are DNS labels already (core/names.py), so this is a
    # valid Kubernetes object name (at most 64 + 1 + 64 + 12 characters).
    return f"{service.app.name}-{service.name}-pull-secret"


class Command(BaseCommand):
    help = (
        "Print the pull secret of APP/SERVICE: the Docker config document restricted "
        "to the registries that serve the service's image, or a Kubernetes Secret manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "target", metavar="APP/SERVICE", help="The app's name and the service's, e.g. web/api."
        )
        parser.add_argument(
            "--org", metavar="SLUG", help="The organization (required when APP is ambiguous)."
        )
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default="dockerconfigjson",
            help="dockerconfigjson (the config.json document, default) or kubernetes "
            "(a Secret manifest of type kubernetes.io/dockerconfigjson).",
        )
        parser.add_argument(
            "--name",
            type=object_name,
            help="With --format kubernetes: the Secret's name "
            "(default APP-SERVICE-pull-secret).",
        )
        parser.add_argument(
            "--namespace",
            type=namespace_name,
            help="With --format kubernetes: the Secret's namespace (default: none, "
            "kubectl's current one).",
        )
        parser.add_argument(
            "--long-lived",
            action="store_true",
            help=(
                "Google Cloud secrets: export the service-account key itself (_json_key) "
                "instead of a one-hour access token, for platforms that cannot refresh "
                "pull secrets. Refused for Amazon ECR, whose logins are 12-hour tokens."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["format"] != "kubernetes" and (options.get("name") or options.get("namespace")):
            raise CommandError("--name and --namespace go with --format kubernetes.")
        service = self._service(options["target"], options.get("org"))
        try:
            pull = service_pull_secret(
                service=service, format=options["format"], long_lived=options["long_lived"]
            )
        except PullSecretUnavailable as exc:
            raise CommandError(str(exc))
        except DecryptionError as exc:
            name = service.registry_secret.name if service.registry_secret else ""
            raise CommandError(f"The secret “{name}” of {service} cannot be decrypted: {exc}")
        if options["format"] == "kubernetes":
            document: dict[str, Any] = kubernetes_manifest(
                name=options.get("name") or manifest_name(service),
                config=pull.config,
                namespace=options.get("namespace"),
                expires_at=pull.expires_at,
            )
        else:
            document = pull.config
        self.stdout.write(json.dumps(document, indent=2))
        if pull.expires_at is not None:
            # Beside the document, not in it: stdout stays the document alone.
            expiry = rfc3339(pull.expires_at)
            self.stderr.write(f"The token in this pull secret expires at {expiry}.")

    def _service(self, target: str, org_slug: str | None) -> Service:
        app_name, sep, service_name = target.partition("/")
        if not sep or not app_name or not service_name or "/" in service_name:
            raise CommandError(f"Expected APP/SERVICE, got {target!r}.")
        apps = App.objects.select_related("organization").filter(name=app_name)
        if org_slug:
            organization = Organization.objects.filter(slug=org_slug).first()
            if organization is None:
                raise CommandError(f"No organization with slug {org_slug!r}.")
            apps = apps.filter(organization=organization)
        found = list(apps[:20])
        where = f" in organization {org_slug!r}" if org_slug else ""
        if not found:
            raise CommandError(f"No app named {app_name!r}{where}.")
        if len(found) > 1:
            slugs = ", ".join(sorted(a.organization.slug for a in found))
            raise CommandError(
                f"Several organizations have an app named {app_name!r} ({slugs}); pass --org SLUG."
            )
        service = (
            Service.objects.select_related("app", "organization", "registry_secret")
            .filter(app=found[0], name=service_name)
            .first()
        )
        if service is None:
            raise CommandError(f"App {app_name!r}{where} has no service named {service_name!r}.")
        return service
