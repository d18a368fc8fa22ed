"""manage.py create_registry_secret: credentials on stdin only, audited, one-line errors."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from regsecrets.audit.models import AuditEvent
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_fields
from tests.conftest import CANARY
from tests.registry_secrets.samples import GCP_KEY

pytestmark = pytest.mark.django_db


def run(*args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    kwargs = {"stdout": out, "stderr": io.StringIO()}
    if stdin is not None:
        kwargs["stdin_stream"] = io.StringIO(stdin)
    call_command("create_registry_secret", *args, **kwargs)
    return out.getvalue()


def fails(*args: str, stdin: str | None = None) -> str:
    with pytest.raises(CommandError) as excinfo:
        run(*args, stdin=stdin)
    message = str(excinfo.value)
    assert "\n" not in message
    assert CANARY not in message
    assert not Secret.objects.exists()
    assert not AuditEvent.objects.filter(action="secret.created").exists()
    return message


def test_creates_a_secret_from_stdin_and_non_secret_fields(org):
    output = run(
        "acme",
        "private-reg",
        "--provider",
        "private",
        "--field",
        "url=registry.example.com:5000",
        "--field",
        "username=deploy",
        "--stdin",
        stdin=json.dumps({"password": CANARY}),
    )
    secret = Secret.objects.get(organization=org, name="private-reg")
    assert str(secret.pk) in output
    assert CANARY not in output
    assert secret.provider == "private_registry"
    assert secret.hosts == ["registry.example.com:5000"]
    assert secret.username == "deploy"
    assert secret_fields(secret)["password"] == CANARY
    event = AuditEvent.objects.get(action="secret.created", object_id=str(secret.pk))
    assert event.actor is None
    assert event.organization == org
    assert CANARY not in json.dumps(event.details)


def test_accepts_the_api_key_and_every_field_on_stdin(org):
    run(
        "acme",
        "gh",
        "--provider",
        "github_registry",
        "--stdin",
        stdin=json.dumps({"username": "octocat", "password": "ghp_" + CANARY}),
    )
    secret = Secret.objects.get(name="gh")
    assert secret.hosts == ["ghcr.io"]
    assert secret.username == "octocat"


def test_gcp_key_file_from_stdin(org):
    run(
        "acme",
        "gcp",
        "--provider",
        "gcp",
        "--field",
        "url=europe-west1-docker.pkg.dev",
        "--stdin",
        stdin=json.dumps({"keyfile_content": GCP_KEY}),
    )
    assert Secret.objects.get(name="gcp").username == "puller@demo-project.iam.gserviceaccount.com"


def test_a_credential_on_the_command_line_is_refused_without_echo(org):
    message = fails(
        "acme",
        "x",
        "--provider",
        "github",
        "--field",
        "username=octocat",
        "--field",
        f"password={CANARY}",
    )
    assert "--stdin" in message


def test_a_malformed_field_is_refused_without_echo(org):
    message = fails("acme", "x", "--provider", "github", "--field", CANARY)
    assert "NAME=VALUE" in message


@pytest.mark.parametrize(
    ("stdin", "expected"),
    [
        ("", "empty"),
        ("not json " + CANARY, "not valid JSON"),
        (json.dumps([CANARY]), "JSON object"),
        (json.dumps({"password": 12345}), "JSON string"),
        (json.dumps({"nonsense": CANARY}), "Unknown field"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_bad_stdin_is_one_line_without_echo(org, stdin, expected):
    message = fails("acme", "x", "--provider", "github", "--stdin", stdin=stdin)
    assert expected in message


def test_provider_errors_name_the_field_without_echo(org):
    message = fails(
        "acme",
        "gh",
        "--provider",
        "github",
        "--stdin",
        stdin=json.dumps({"username": "octocat", "password": "github_pat_" + CANARY}),
    )
    assert message.startswith("Invalid input: password: Fine-grained tokens")


def test_missing_credentials_are_reported(org):
    message = fails("acme", "x", "--provider", "github", "--field", "username=octocat")
    assert "password" in message


def test_unknown_organization_and_provider(org):
    assert "Unknown organization" in fails("nope", "x", "--provider", "github")
    assert "Unknown provider" in fails("acme", "x", "--provider", "quay")


def test_a_taken_name_is_refused(org):
    body = json.dumps({"username": "octocat", "password": "ghp_" + CANARY})
    run("acme", "gh", "--provider", "github", "--stdin", stdin=body)
    with pytest.raises(CommandError, match="name: A secret named"):
        run("acme", "gh", "--provider", "github", "--stdin", stdin=body)
    assert Secret.objects.count() == 1


def test_a_field_given_twice_is_refused(org):
    fails(
        "acme",
        "x",
        "--provider",
        "github",
        "--field",
        "username=a",
        "--stdin",
        stdin=json.dumps({"username": "b", "password": CANARY}),
    )


def test_reads_the_process_stdin_when_no_stream_is_given(org, monkeypatch):
    body = json.dumps({"username": "octocat", "password": "ghp_" + CANARY})
    monkeypatch.setattr("sys.stdin", io.StringIO(body))
    out = io.StringIO()
    call_command(
        "create_registry_secret", "acme", "proc", "--provider", "github", "--stdin", stdout=out
    )
    assert Secret.objects.filter(name="proc").exists()
    assert CANARY not in out.getvalue()
