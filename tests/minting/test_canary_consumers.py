"""Canary: AWS secret keys, minted tokens and Google private keys never come out.

ECR and GCP secrets (good, denied, assuming a role) go through every consumer: the
pages, the admin, the API, "Test credentials" (stored and typed), "Verify image",
the scheduled checks through Celery's tasks (with their alert emails), and the
export. Then every place a credential could surface is scanned: pages and JSON
replies, error replies and command errors, every log record (DEBUG, boto's and
SQL included), audit details, task arguments and results, and emails. The export's
own document is the one place a minted token belongs; it is checked to carry
nothing else.
"""

from __future__ import annotations

import base64
import json
from io import StringIO

import pytest
from celery.signals import task_postrun, task_prerun
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from regsecrets.accounts.tokens import token_create
from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.services import app_create, service_create
from regsecrets.registry_secrets import tasks
from regsecrets.registry_secrets.minting import secret_token
from regsecrets.registry_secrets.models import Secret
from tests.api.conftest import Api
from tests.conftest import CANARY
from tests.minting.conftest import (
    ROLE_ARN,
    ecr_input,
    make_ecr_secret,
    make_gcp_secret,
    restart_with_logins,
)
from tests.minting.oauth_endpoint import ServiceAccountKey

pytestmark = [pytest.mark.registry, pytest.mark.django_db(transaction=False)]

WRONG_KEY = f"wrong/{CANARY}/" + "w" * 10


@pytest.fixture
def task_calls():
    """Every Celery task run: its name, arguments and result (tasks run in-process)."""
    calls: list[dict] = []

    def before(sender=None, args=None, kwargs=None, **_):
        calls.append({"task": sender.name, "args": list(args or ()), "kwargs": dict(kwargs or {})})

    def after(sender=None, retval=None, **_):
        calls.append({"task": sender.name, "result": repr(retval)})

    task_prerun.connect(before, weak=False)
    task_postrun.connect(after, weak=False)
    yield calls
    task_prerun.disconnect(before)
    task_postrun.disconnect(after)


def test_no_credential_or_token_leaves_through_any_consumer(
    aws_env,
    ecr_registry,
    oauth_endpoint,
    service_account,
    registry_for,
    local_registries,
    org,
    alice,
    alice_client,
    admin_client,
    settings,
    caplog,
    task_calls,
    django_capture_on_commit_callbacks,
):
    caplog.set_level("DEBUG")
    settings.REGSECRETS_HEALTH_ALERT_AFTER = 1
    api = Api(Client(), token_create(user=alice, organization=org, name="canary")[1])

    # --- the secrets: ECR good, denied (a wrong secret key), via a role; GCP good, denied
    gcp_registry = registry_for(("oauth2accesstoken", "placeholder"))
    local_registries(ecr_registry.host, gcp_registry.host)
    ecr = make_ecr_secret(org, aws_env.puller, host=ecr_registry.host)
    denied = make_ecr_secret(
        org, aws_env.puller, host=ecr_registry.host, secret_access_key=WRONG_KEY
    )
    role = make_ecr_secret(org, aws_env.hopper, host=ecr_registry.host, role_arn=ROLE_ARN)
    key_file = service_account.key_file(oauth_endpoint.token_uri)
    gcp = make_gcp_secret(org, key_file, host=gcp_registry.host)
    gcp_token = secret_token(secret=gcp)
    restart_with_logins(gcp_registry, (gcp_token.username, gcp_token.password))
    impostor = ServiceAccountKey.generate()
    gcp_denied = make_gcp_secret(
        org,
        service_account.key_file(oauth_endpoint.token_uri, signed_by=impostor),
        host=gcp_registry.host,
    )
    secrets = [ecr, denied, role, gcp, gcp_denied]
    app = app_create(organization=org, name="shop", actor=alice)
    services = [
        service_create(
            app=app,
            name=f"s{number}",
            image=f"{secret.hosts[0]}/team/app:v1",
            registry_secret=secret,
            actor=alice,
        )
        for number, secret in enumerate(secrets)
    ]

    seen: dict[str, str] = {}

    def keep(where: str, response) -> None:
        seen[f"{where} ({response.status_code})"] = response.content.decode()

    # --- consumers, through their faces (alerts go out after commit: run them too)
    with django_capture_on_commit_callbacks(execute=True):
        for secret in secrets:
            keep(
                f"test {secret.name}", alice_client.post(f"/secrets/{secret.pk}/test/", follow=True)
            )
            keep(
                f"verify {secret.name}",
                alice_client.post(
                    "/services/verify-image/",
                    {"image": f"{secret.hosts[0]}/team/app:v1", "secret": secret.pk},
                ),
            )
            keep(
                f"api verify {secret.name}",
                api.get(
                    "/v1/docker-helper/verify",
                    {"image": f"{secret.hosts[0]}/team/app:v1", "secret_id": str(secret.pk)},
                ),
            )
    keep(
        "typed test",
        alice_client.post(
            "/secrets/new/aws-ecr/test/", ecr_input(aws_env.puller, secret_access_key=WRONG_KEY)
        ),
    )
    keep(
        "edit test",
        alice_client.post(
            f"/secrets/{ecr.pk}/edit/test/", ecr_input(aws_env.puller, secret_access_key=WRONG_KEY)
        ),
    )
    keep(
        "api bad create",
        api.post(
            "/v1/secrets",
            {
                "name": "x",
                "aws_ecr_registry": ecr_input(
                    aws_env.puller, secret_access_key=WRONG_KEY, region="?"
                ),
            },
        ),
    )
    keep(
        "site bad create",
        alice_client.post(
            "/secrets/new/aws-ecr/",
            {"name": "x", **ecr_input(aws_env.puller, secret_access_key=WRONG_KEY, region="?")},
        ),
    )
    # Scheduled checks, through beat's task and the workers' tasks (and alert emails).
    Secret.objects.update(next_check_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        tasks.enqueue_due_checks.delay()
    assert {c["task"] for c in task_calls} >= {
        "regsecrets.registry_secrets.tasks.enqueue_due_checks",
        "regsecrets.registry_secrets.tasks.check_secrets",
        "regsecrets.registry_secrets.tasks.deliver_alert",
    }
    assert len(mail.outbox) >= 2  # the two denied secrets are FAILING
    # Exports: the document is the export's purpose; messages and notes are not.
    exported = {}
    for service in services:
        for extra in ([], ["--format", "kubernetes"], ["--long-lived"]):
            out, err = StringIO(), StringIO()
            try:
                call_command(
                    "export_pull_secret", f"shop/{service.name}", *extra, stdout=out, stderr=err
                )
            except CommandError as exc:
                seen[f"export error {service.name} {extra}"] = str(exc)
            exported[f"{service.name} {extra}"] = out.getvalue()
            seen[f"export note {service.name} {extra}"] = err.getvalue()
    # Pages, admin and API replies after all that.
    for url in ("/secrets/", "/activity/", f"/apps/{app.pk}/"):
        keep(url, alice_client.get(url))
    for secret in secrets:
        for url in (f"/secrets/{secret.pk}/", f"/secrets/{secret.pk}/edit/"):
            keep(url, alice_client.get(url))
        keep(
            f"admin {secret.name}",
            admin_client.get(f"/admin/registry_secrets/secret/{secret.pk}/change/"),
        )
        keep(f"api get {secret.name}", api.get(f"/v1/secrets/{secret.pk}"))
    for service in services:
        keep(f"service {service.name}", alice_client.get(f"/services/{service.pk}/"))
    keep("admin list", admin_client.get("/admin/registry_secrets/secret/"))
    keep("api list", api.get("/v1/secrets", {"limit": "100"}))

    seen["logs"] = caplog.text + " ".join(repr(r.args) for r in caplog.records)
    seen["audit"] = json.dumps([e.details for e in AuditEvent.objects.all()])
    seen["tasks"] = json.dumps(task_calls, default=str)
    seen["emails"] = " ".join(f"{m.subject} {m.body} {m.alternatives}" for m in mail.outbox)

    # --- what must not be seen
    ecr_token = ecr_registry.extra["token"]
    gcp_tokens = [issued.access_token for issued in oauth_endpoint.issued]
    assert len(gcp_tokens) >= 1
    pem_lines = [
        line
        for pem in (service_account.private_pem, impostor.private_pem)
        for line in pem.splitlines()[1:-1]
    ]
    needles = {
        "an AWS secret key": [
            aws_env.puller.secret_access_key,
            aws_env.hopper.secret_access_key,
            WRONG_KEY,
            CANARY,
        ],
        "a minted token": [
            ecr_token,
            base64.b64encode(f"AWS:{ecr_token}".encode()).decode(),
            *gcp_tokens,
        ],
        "a private key": pem_lines,
    }
    for where, text in seen.items():
        for what, values in needles.items():
            for value in values:
                assert value not in text, f"{what} leaked into {where}"
    # The role's temporary credentials are in STS's answer, which boto logs at DEBUG.
    assert "SessionToken" not in seen["logs"]
    assert "SecretAccessKey" not in seen["logs"]

    # The exports: a token where one belongs, never the key it was minted from; GCP's
    # key only when --long-lived asked for it.
    assert ecr_token in exported["s0 []"]
    assert gcp_token.password in exported["s3 []"]
    for name, document in exported.items():
        for value in needles["an AWS secret key"]:
            assert value not in document, name
        if "--long-lived" not in name:
            for line in pem_lines:
                assert line not in document, name
    assert exported["s0 ['--long-lived']"] == ""  # refused for ECR
