"""The audit trail: who did what to which object, never with secret values."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        related_name="audit_events",
        null=True,
        blank=True,
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept as text so that the trail survives the user's deletion.
    actor_name = models.CharField(max_length=150, blank=True)
    api_token = models.ForeignKey(
        "accounts.ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_name = models.CharField(max_length=200, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            # The Activity page's filter values: a loose index scan each (selectors).
            models.Index(fields=["organization", "action"], name="audit_org_action"),
            models.Index(fields=["organization", "object_type"], name="audit_org_object_type"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_name}".strip()
