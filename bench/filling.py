"""Filling a benchmark database fast: N sealed secrets and audit events in one org.

The first secrets go through the services (so every side row a real write makes
exists); the rest are built the same way (sealed with the crypto layer, hosts and
their index rows written) and inserted in batches, since 100,000 service calls with
an audit event each would take longer than the benchmark itself. Used by
bench/api.py and bench/pages.py; call after django.setup() and migrate.
"""

from __future__ import annotations

import base64
import os
import uuid

from django.db import connection, transaction

HOSTS = ["ghcr.io", "registry.gitlab.com", "quay.io", "registry.example.com", "cr.example.org"]


def ensure_owner(slug: str = "bench"):
    """The bench user, organization and an API token (raw); created once per slug."""
    from django.contrib.auth import get_user_model

    from regsecrets.accounts.models import Organization
    from regsecrets.accounts.services import organization_create
    from regsecrets.accounts.tokens import token_create

    user_model = get_user_model()
    user = user_model.objects.filter(username=slug).first()
    if user is None:
        user = user_model.objects.create_user(slug, password="bench-password-x")
        organization_create(name=slug.title(), slug=slug, owner=user)
    org = Organization.objects.get(slug=slug)
    _, raw = token_create(user=user, organization=org, name=f"bench-{uuid.uuid4().hex[:6]}")
    return user, org, raw


def grow_secrets(org, user, total: int, batch: int = 2000) -> None:
    """Add secrets named secret-NNNNNN until the organization holds ``total``."""
    from django.db.models import F

    from regsecrets.crypto.fields import seal_document
    from regsecrets.registries import get_provider, index_host
    from regsecrets.registry_secrets import services
    from regsecrets.registry_secrets.models import Secret, SecretCount, SecretHost

    have = Secret.objects.filter(organization=org).count()
    if have < 10:
        for n in range(have, min(10, total)):
            services.secret_create(
                organization=org,
                name=f"secret-{n:06d}",
                provider="github_registry",
                data={"username": f"user{n}", "password": f"ghp_{os.urandom(18).hex()}"},
                actor=user,
            )
        have = Secret.objects.filter(organization=org).count()
    provider = get_provider("private_registry")
    while have < total:
        rows = []
        for n in range(have, min(total, have + batch)):
            host = HOSTS[n % len(HOSTS)] if n % 7 else f"r{n % 997}.registry.example.net"
            username, password = f"user{n}", base64.b64encode(os.urandom(12)).decode()
            cleaned = provider.validate(
                {"url": host, "username": username, "password": password}
            )
            secret = Secret(
                id=uuid.uuid4(),
                organization=org,
                name=f"secret-{n:06d}",
                provider=provider.key,
                hosts=list(cleaned.hosts),
                username=username,
                created_by=user,
                updated_by=user,
            )
            seal_document(
                secret,
                "document",
                {"provider": provider.key, "fields": cleaned.fields, "config": cleaned.config},
            )
            rows.append(secret)
        with transaction.atomic():
            # What secret_create writes beside each row: its host index and the count.
            Secret.objects.bulk_create(rows)
            SecretHost.objects.bulk_create(
                [
                    SecretHost(organization=org, secret=secret, host=index_host(key))
                    for secret in rows
                    for key in secret.hosts
                    if index_host(key)
                ]
            )
            SecretCount.objects.filter(organization=org).update(secrets=F("secrets") + len(rows))
        have += len(rows)


def grow_events(org, user, total: int, batch: int = 5000) -> None:
    """Add audit events until the organization holds ``total``."""
    from regsecrets.audit.models import AuditEvent

    have = AuditEvent.objects.filter(organization=org).count()
    while have < total:
        rows = [
            AuditEvent(
                organization=org,
                actor=user,
                actor_name=user.username,
                action=("secret.created", "secret.revealed", "secret.verified")[n % 3],
                object_type="secret",
                object_id=str(uuid.uuid4()),
                object_name=f"secret-{n:06d}",
                details={},
            )
            for n in range(have, min(total, have + batch))
        ]
        AuditEvent.objects.bulk_create(rows)
        have += len(rows)


def vacuum() -> None:
    """VACUUM ANALYZE, as autovacuum would after a bulk load (index-only scans need the
    visibility map)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
