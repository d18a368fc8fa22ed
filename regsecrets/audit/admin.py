"""The audit trail in the admin: read-only, since it is evidence."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from regsecrets.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """No add, change or delete: the trail is written by the application only."""

    list_display = [
        "created_at",
        "organization",
        "actor_name",
        "action",
        "object_type",
        "object_name",
        "ip_address",
    ]
    list_filter = ["action", "object_type", "organization"]
    search_fields = ["object_name", "actor_name", "action", "object_id"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
