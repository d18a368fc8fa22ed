"""The Activity page in people's words: sentences from real events, links to live objects."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from regsecrets.audit.models import AuditEvent
from regsecrets.audit.presentation import present_events
from regsecrets.audit.services import audit_record
from regsecrets.deploy.services import app_create, service_create, service_delete
from regsecrets.registry_secrets.services import secret_create, secret_delete, secret_update
from tests.conftest import CANARY

pytestmark = pytest.mark.django_db

GHCR = {"username": "octocat", "password": f"ghp_{CANARY}"}
CODE_WORDS = re.compile(
    r"\b(secret|app|service|member|token|organization)\.[a-z_]+\b"  # action codes
    r"|\[|\]|\bTrue\b|\bFalse\b|\bNone\b|_registry\b|\b[A-Z]+_[A-Z_]+\b"
)


def sentences(org) -> dict[str, str]:
    events = AuditEvent.objects.filter(organization=org).select_related("api_token")
    return {row.event.action + f"#{row.event.pk}": row.text for row in present_events(events)}


def texts(org, action: str) -> list[str]:
    return [text for key, text in sentences(org).items() if key.startswith(action + "#")]


def test_secret_lifecycle_reads_as_sentences(org, alice):
    secret = secret_create(
        organization=org, name="ghcr-acme", provider="github_registry", data=GHCR, actor=alice
    )
    secret_update(secret=secret, data={"username": "octocat", "password": "ghp_new"}, actor=alice)
    secret_update(secret=secret, data={"username": "hubot", "password": ""}, actor=alice)

    (created,) = texts(org, "secret.created")
    assert (
        created == "alice added the registry secret ghcr-acme (GitHub Container Registry, ghcr.io)"
    )
    updates = texts(org, "secret.updated")
    assert "alice rotated the password of ghcr-acme" in updates
    assert "alice changed the username of ghcr-acme" in updates


def test_failed_checks_read_as_failures_with_what_went_wrong(org, alice):
    secret = secret_create(
        organization=org, name="ghcr-acme", provider="github_registry", data=GHCR, actor=alice
    )
    for success, code in ((False, "AUTH_ACCESS_DENIED"), (True, "")):
        audit_record(
            action="secret.verified",
            organization=org,
            actor=alice,
            obj=secret,
            details={"check": "credentials", "host": "ghcr.io", "success": success, "code": code},
        )
    audit_record(
        action="secret.verified",
        organization=org,
        actor=alice,
        obj=secret,
        details={
            "check": "image",
            "host": "index.docker.io",
            "success": False,
            "code": "AUTH_NOT_FOUND",
            "image": "docker.io/acme/api:1",
        },
    )
    rows = {r.text: r for r in present_events(AuditEvent.objects.filter(action="secret.verified"))}
    failed = rows["Check of ghcr-acme on ghcr.io failed: the registry rejected the credentials"]
    assert failed.failed
    ok = rows["alice checked ghcr-acme on ghcr.io: the credentials work"]
    assert not ok.failed
    assert rows[
        "Pulling docker.io/acme/api:1 with ghcr-acme failed: the image was not found"
    ].failed


def test_no_codes_lists_or_booleans_reach_the_page(org, alice, alice_client):
    secret = secret_create(
        organization=org, name="ghcr-acme", provider="github_registry", data=GHCR, actor=alice
    )
    app = app_create(organization=org, name="shop", actor=alice)
    service = service_create(
        app=app, name="web", image="ghcr.io/acme/web:1", registry_secret=secret, actor=alice
    )
    audit_record(
        action="secret.health_changed",
        organization=org,
        obj=secret,
        details={
            "from": "HEALTHY",
            "to": "FAILING",
            "code": "AUTH_ACCESS_DENIED",
            "alert": "failing",
        },
    )
    service_delete(service=service, actor=alice)

    html = alice_client.get("/activity/").content.decode()
    table = html[html.index('id="activity-table"') :]
    text = re.sub(r"<[^>]+>", " ", table)
    assert not CODE_WORDS.search(text), CODE_WORDS.search(text)
    assert "ghcr-acme is now failing: the registry rejected the credentials" in " ".join(
        text.split()
    )
    assert (
        "alice created the service shop/web (ghcr.io/acme/web:1, pulled with ghcr-acme)"
        in " ".join(text.split())
    )
    # The filters name actions and objects in words too.
    assert ">Secret created<" in html
    assert ">Registry secrets<" in html
    assert CANARY not in html


def test_objects_are_links_while_they_exist(org, alice, alice_client):
    kept = secret_create(
        organization=org, name="kept", provider="github_registry", data=GHCR, actor=alice
    )
    gone = secret_create(
        organization=org, name="gone", provider="github_registry", data=GHCR, actor=alice
    )
    secret_delete(secret=gone, actor=alice)
    html = alice_client.get("/activity/").content.decode()
    assert f'<a href="/secrets/{kept.pk}/">kept</a>' in html
    assert f"/secrets/{gone.pk}/" not in html
    assert '<span class="fw-semibold">gone</span>' in html


def test_a_page_of_events_costs_the_same_queries_however_many_objects(org, alice, alice_client):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get("/activity/").status_code == 200
        return len(queries)

    secret_create(organization=org, name="one", provider="github_registry", data=GHCR, actor=alice)
    app_create(organization=org, name="app-one", actor=alice)
    few = count()
    for n in range(8):
        secret_create(
            organization=org, name=f"s{n}", provider="github_registry", data=GHCR, actor=alice
        )
        app_create(organization=org, name=f"app{n}", actor=alice)
    assert count() == few
