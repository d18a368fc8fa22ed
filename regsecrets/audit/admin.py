from __future__ import annotations

from django.contrib import admin

from regsecrets.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is written by the application, never edited."""

    list_display = ["created_at", "organization", "actor_name", "action", "object_type", "object_name", "ip_address"]
    list_filter = ["action", "object_type", "organization"]
    search_fields = ["object_name", "actor_name", "action", "object_id"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
