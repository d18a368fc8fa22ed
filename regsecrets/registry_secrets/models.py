"""The registry secret: clear metadata beside one sealed credential document."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from regsecrets.crypto.fields import EncryptedTextField
from regsecrets.registries import PROVIDERS


def provider_choices() -> list[tuple[str, str]]:
    """The catalogue's providers (a callable, so migrations do not copy the list)."""
    return [(p.key, p.label) for p in PROVIDERS]


class HealthStatus(models.TextChoices):
    UNKNOWN = "UNKNOWN", "Not checked yet"
    HEALTHY = "HEALTHY", "Healthy"
    FAILING = "FAILING", "Failing"
    EXPIRING = "EXPIRING", "Expiring"


class Secret(models.Model):
    # The UUID is assigned before the first save so that the ciphertext can be
    # bound to its row (associated data) when it is sealed.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="secrets"
    )
    name = models.CharField(max_length=64)
    provider = models.CharField(max_length=32, choices=provider_choices)
    # Non-secret metadata, in clear, so that lists and matching never decrypt.
    hosts = models.JSONField(default=list, blank=True)
    username = models.CharField(max_length=255, blank=True)
    # The sealed provider input and Docker config document.
    document = EncryptedTextField()
    key_id = models.CharField(max_length=64, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    # Health: kept fresh by scheduled checks (registry_secrets.health); every field
    # is non-secret (codes and reasons are the verification client's own words).
    expires_at = models.DateField(
        "expires on",
        null=True,
        blank=True,
        help_text="When the token or password stops working; alerts start 14 days before.",
    )
    health_status = models.CharField(
        max_length=16, choices=HealthStatus.choices, default=HealthStatus.UNKNOWN
    )
    health_code = models.CharField(max_length=32, blank=True)
    health_reason = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    last_healthy_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # New secrets are due at once; the beat query reads this index.
    next_check_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The expiry date and the smallest day threshold (14, 3, 1) already announced,
    # so that each "expires in N days" alert is sent once per date.
    expiry_alerted_for = models.DateField(null=True, blank=True, editable=False)
    expiry_alerted_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="unique_secret_name")
        ]
        indexes = [
            # The secrets page's "needs attention" count and health filter: the few
            # failing or expiring rows, not a pass over the organization's secrets.
            models.Index(fields=["organization", "health_status"], name="secret_org_health"),
            # The secrets page's other sort orders, read as keyset pages like by name.
            models.Index(fields=["organization", "provider", "name"], name="secret_org_provider"),
            models.Index(fields=["organization", "updated_at", "name"], name="secret_org_updated"),
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Secret {self.pk} {self.name!r} provider={self.provider}>"

    @property
    def needs_attention(self) -> bool:
        return self.health_status in (HealthStatus.FAILING, HealthStatus.EXPIRING)


class SecretHostHealth(models.Model):
    """The last check of one registry host (an auths key) of a secret."""

    secret = models.ForeignKey(Secret, on_delete=models.CASCADE, related_name="host_health")
    host = models.CharField(max_length=255)
    status = models.CharField(
        max_length=16, choices=HealthStatus.choices, default=HealthStatus.UNKNOWN
    )
    code = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    last_healthy_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["host"]
        constraints = [
            models.UniqueConstraint(fields=["secret", "host"], name="unique_secret_host_health")
        ]

    def __str__(self) -> str:
        return f"{self.host}: {self.status}"


class HealthAlert(models.Model):
    """One alert about one transition of a secret: sent once, delivered by tasks.

    The row is written in the transaction that records the transition, so a
    transition seen by two racing checks yields one row; emails and the webhook
    read it by id (task arguments are ids, never credentials).
    """

    class Kind(models.TextChoices):
        FAILING = "failing", "Failing"
        EXPIRING = "expiring", "Expiring"
        RECOVERED = "recovered", "Recovered"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="health_alerts"
    )
    secret = models.ForeignKey(Secret, on_delete=models.CASCADE, related_name="health_alerts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Non-secret facts for the message: host, code, reason, days left, services.
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(null=True, blank=True)
    webhook_delivered_at = models.DateTimeField(null=True, blank=True)
    webhook_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} alert for {self.secret_id}"


class HealthWebhook(models.Model):
    """An organization's HTTPS endpoint for health events, signed with HMAC-SHA256."""

    # UUID assigned before the first save: the sealed signing secret is bound to it.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="health_webhook"
    )
    url = models.URLField(max_length=500)
    # {"secret": "..."}: shown once when created, then only used to sign.
    signing_secret = EncryptedTextField()
    key_id = models.CharField(max_length=64, db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.url


class SecretCount(models.Model):
    """How many secrets an organization holds, kept in the transaction of each create
    and delete (``services``), so list replies give Koyeb's exact ``count`` without
    counting N rows: one row read at any N.

    Two creates in one organization serialise on this row for the rest of their
    transactions; creating secrets is rare next to listing them.
    """

    organization = models.OneToOneField(
        "accounts.Organization",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    # Not a PositiveIntegerField: a count gone wrong (rows written around the
    # services) must not make deleting a secret fail on a CHECK constraint.
    secrets = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.secrets} secrets"


class SecretHost(models.Model):
    """A secret's stored registry key by the ``host[:port]`` it can serve.

    Image matching narrows the organization's secrets to those with a row for the
    image's host (or for a glob key, stored as ``*``) through the index, then applies
    the kubelet rule in Python to those few. A side table rather than a GIN index on
    ``hosts``: it works the same on SQLite and PostgreSQL, and the host is stored in
    the form matching compares (lower case, canonical port, Docker Hub as docker.io).
    Written by the services with ``Secret.hosts``, in the same transaction.
    """

    GLOB = "*"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+"
    )
    secret = models.ForeignKey(Secret, on_delete=models.CASCADE, related_name="host_index")
    host = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["secret", "host"], name="unique_secret_host_index")
        ]
        indexes = [models.Index(fields=["organization", "host"], name="secret_host_lookup")]

    def __str__(self) -> str:
        return self.host
