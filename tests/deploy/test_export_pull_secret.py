"""manage.py export_pull_secret: both formats, errors on stderr, every export audited."""

from __future__ import annotations

import base64
import json
from io import StringIO

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.services import app_create, service_create
from regsecrets.registry_secrets.models import Secret

pytestmark = pytest.mark.django_db

TWO_REGISTRIES = json.dumps(
    {
        "auths": {
            "ghcr.io": {"username": "octocat", "password": "ghp_ghcr"},
            "registry.example.com": {"username": "other", "password": "not-for-ghcr"},
        }
    }
)


def export(*args: str) -> str:
    out = StringIO()
    call_command("export_pull_secret", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def multi_service(org, app, make_secret):
    secret = make_secret(org, "multi", provider="docker_config", data={"config": TWO_REGISTRIES})
    return service_create(app=app, name="api", image="ghcr.io/acme/api:2", registry_secret=secret)


def test_default_format_is_the_docker_config_restricted_to_the_image_registry(multi_service):
    document = json.loads(export("shop/api"))
    assert list(document["auths"]) == ["ghcr.io"]
    entry = document["auths"]["ghcr.io"]
    assert entry["username"] == "octocat"
    assert entry["password"] == "ghp_ghcr"
    assert base64.b64decode(entry["auth"]).decode() == "octocat:ghp_ghcr"
    assert "not-for-ghcr" not in json.dumps(document)


def test_kubernetes_format_is_a_dockerconfigjson_secret_manifest(multi_service):
    manifest = json.loads(export("shop/api", "--format", "kubernetes", "--org", "acme"))
    assert manifest["apiVersion"] == "v1"
    assert manifest["kind"] == "Secret"
    assert manifest["type"] == "kubernetes.io/dockerconfigjson"
    assert manifest["metadata"]["name"] == "shop-api-pull-secret"
    assert set(manifest["data"]) == {".dockerconfigjson"}
    carried = json.loads(base64.b64decode(manifest["data"][".dockerconfigjson"]))
    assert carried["auths"]["ghcr.io"]["password"] == "ghp_ghcr"
    assert list(carried["auths"]) == ["ghcr.io"]


def test_every_export_is_audited_without_the_credential(multi_service, org):
    export("shop/api")
    export("shop/api", "--format", "kubernetes")
    events = AuditEvent.objects.filter(action="secret.exported").order_by("id")
    assert [e.details["format"] for e in events] == ["dockerconfigjson", "kubernetes"]
    event = events[0]
    assert event.organization == org
    assert event.object_name == "multi"
    assert event.details["service"] == "shop/api"
    assert event.details["registries"] == ["ghcr.io"]
    assert "ghp_ghcr" not in json.dumps(event.details)


def test_ambiguous_app_name_requires_org(multi_service, other_org):
    other_app = app_create(organization=other_org, name="shop")
    service_create(app=other_app, name="api", image="nginx", registry_secret=None)
    with pytest.raises(CommandError, match="pass --org"):
        export("shop/api")
    assert json.loads(export("shop/api", "--org", "acme"))["auths"]


@pytest.mark.parametrize(
    ("target", "extra", "message"),
    [
        ("nope/api", [], "No app named 'nope'"),
        ("shop/nope", [], "no service named 'nope'"),
        ("shop", [], "Expected APP/SERVICE"),
        ("shop/api", ["--org", "missing"], "No organization with slug"),
        ("shop/api", ["--org", "globex"], "No app named 'shop' in organization 'globex'"),
    ],
)
def test_unknown_targets_are_command_errors(multi_service, other_org, target, extra, message):
    with pytest.raises(CommandError, match=message):
        export(target, *extra)
    assert not AuditEvent.objects.filter(action="secret.exported").exists()


def test_service_without_secret_is_an_error(app):
    service_create(app=app, name="web", image="nginx", registry_secret=None)
    with pytest.raises(CommandError, match="no registry secret"):
        export("shop/web")


def test_undecryptable_secret_is_an_error_without_traceback(multi_service):
    secret = multi_service.registry_secret
    token = Secret.objects.values_list("document", flat=True).get(pk=secret.pk)
    # Flip a character in the middle of the ciphertext: authentication fails.
    middle = len(token) // 2
    tampered = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    Secret.objects.filter(pk=secret.pk).update(document=tampered)
    with pytest.raises(CommandError, match="cannot be decrypted"):
        export("shop/api")
    assert not AuditEvent.objects.filter(action="secret.exported").exists()


def test_command_line_error_is_one_line_on_stderr_and_nonzero_exit(multi_service, capsys):
    utility = ManagementUtility(["manage.py", "export_pull_secret", "nope/api", "--skip-checks"])
    with pytest.raises(SystemExit) as exc:
        utility.execute()
    assert exc.value.code != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == ["CommandError: No app named 'nope'."]


def test_kubernetes_format_takes_a_name_and_a_namespace(multi_service):
    manifest = json.loads(
        export(
            "shop/api", "--format", "kubernetes", "--name", "ghcr-pull", "--namespace", "shop-prod"
        )
    )
    assert manifest["metadata"] == {"name": "ghcr-pull", "namespace": "shop-prod"}
    assert json.loads(base64.b64decode(manifest["data"][".dockerconfigjson"]))["auths"]


def test_without_a_namespace_the_manifest_names_none(multi_service):
    manifest = json.loads(export("shop/api", "--format", "kubernetes"))
    assert "namespace" not in manifest["metadata"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--name", "Ghcr_Pull"),
        ("--name", "-leading-dash"),
        ("--name", "a" * 254),
        ("--namespace", "shop.prod"),
        ("--namespace", "a" * 64),
        ("--namespace", "Shop"),
    ],
)
def test_names_kubernetes_would_refuse_are_refused_before_decrypting(
    multi_service, option, value
):
    with pytest.raises(CommandError, match="Kubernetes"):
        export("shop/api", "--format", "kubernetes", f"{option}={value}")
    assert not AuditEvent.objects.filter(action="secret.exported").exists()


@pytest.mark.parametrize("option", ["--name", "--namespace"])
def test_name_and_namespace_go_with_the_kubernetes_format_only(multi_service, option):
    with pytest.raises(CommandError, match="--format kubernetes"):
        export("shop/api", option, "shop")
    assert not AuditEvent.objects.filter(action="secret.exported").exists()
