"""Create a registry secret from the command line (audited, actor: none).

Credentials never come from argv, where shell history and ``ps`` would keep
them: ``--stdin`` reads a JSON object of provider fields from standard input,
and ``--field name=value`` is accepted for the provider's non-secret fields only.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.views.decorators.debug import sensitive_variables

from regsecrets.accounts.models import Organization
from regsecrets.registries import PROVIDERS, Provider, get_provider
from regsecrets.registry_secrets.services import secret_create

MAX_STDIN_BYTES = 1024 * 1024


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


class Command(BaseCommand):
    # call_command(..., stdin_stream=StringIO(...)) in tests; sys.stdin otherwise.
    stealth_options = ("stdin_stream",)
    help = (
        "Create a registry secret in ORG_SLUG. Credentials are read as a JSON object "
        "from standard input (--stdin), never from the command line; --field "
        "name=value gives non-secret fields such as url or username."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("org_slug", metavar="ORG_SLUG", help="The organization's slug.")
        parser.add_argument("name", metavar="NAME", help="The new secret's name.")
        parser.add_argument(
            "--provider",
            required=True,
            metavar="KEY_OR_SLUG",
            help="One of: " + ", ".join(p.slug for p in PROVIDERS) + " (or the API key).",
        )
        parser.add_argument(
            "--field",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="A non-secret provider field (repeatable).",
        )
        parser.add_argument(
            "--stdin",
            dest="from_stdin",
            action="store_true",
            help="Read a JSON object of provider fields (credentials included) from stdin.",
        )

    @sensitive_variables("data", "given")
    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(slug=options["org_slug"]).first()
        if organization is None:
            raise CommandError(f"Unknown organization {_one_line(options['org_slug'])[:80]!r}.")
        try:
            provider = get_provider(options["provider"])
        except KeyError:
            raise CommandError(
                "Unknown provider; use one of: " + ", ".join(p.slug for p in PROVIDERS) + "."
            )
        data = self._fields(provider, options["field"])
        if options["from_stdin"]:
            given = self._read_stdin(provider, options.get("stdin_stream") or sys.stdin)
            overlap = sorted(set(given) & set(data))
            if overlap:
                raise CommandError(f"Field {overlap[0]!r} is given both by --field and on stdin.")
            data.update(given)
        try:
            secret = secret_create(
                organization=organization,
                name=options["name"],
                provider=provider.key,
                data=data,
                actor=None,
            )
        except ValidationError as exc:
            # Provider messages are built from our own words, never the values given.
            problems = [
                f"{field}: {_one_line(message)}" if field != "__all__" else _one_line(message)
                for field, messages in exc.message_dict.items()
                for message in messages
            ]
            raise CommandError("Invalid input: " + "; ".join(problems))
        self.stdout.write(
            f"Created secret {secret.name} ({provider.key}) in {organization.slug}: {secret.pk}"
        )

    def _fields(self, provider: Provider, pairs: list[str]) -> dict[str, str]:
        specs = {spec.name: spec for spec in (*provider.fields, *provider.extra_fields)}
        data: dict[str, str] = {}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            name = name.strip()
            if not sep or not name:
                # Not echoed: a mistyped credential could be in it.
                raise CommandError("Expected --field NAME=VALUE.")
            spec = specs.get(name)
            if spec is None:
                raise CommandError(
                    f"Unknown field {_one_line(name)[:40]!r} for {provider.key}; fields: "
                    + ", ".join(specs)
                    + "."
                )
            if spec.secret:
                raise CommandError(
                    f"{name} is a credential: pass it on standard input with --stdin "
                    "(a JSON object), never on the command line."
                )
            data[name] = value
        return data

    @sensitive_variables("raw", "text", "document")
    def _read_stdin(self, provider: Provider, stream: IO[Any]) -> dict[str, Any]:
        raw = stream.read(MAX_STDIN_BYTES + 1)
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CommandError("Standard input is not UTF-8 text.")
        if len(raw) > MAX_STDIN_BYTES:
            raise CommandError(f"Standard input is larger than {MAX_STDIN_BYTES} bytes.")
        if not raw.strip():
            raise CommandError("--stdin given but standard input is empty; send a JSON object.")
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError):
            raise CommandError("Standard input is not valid JSON; send a JSON object.")
        if not isinstance(document, dict):
            raise CommandError("Standard input must be a JSON object of provider fields.")
        specs = {spec.name for spec in (*provider.fields, *provider.extra_fields)}
        for key, value in document.items():
            if key not in specs:
                raise CommandError(
                    f"Unknown field {_one_line(key)[:40]!r} for {provider.key}; fields: "
                    + ", ".join(sorted(specs))
                    + "."
                )
            if value is not None and not isinstance(value, str):
                raise CommandError(f"Field {key!r} must be a JSON string.")
        return {k: v for k, v in document.items() if v is not None}
