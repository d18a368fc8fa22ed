"""Apps and services in the admin, written through the deploy service functions.

A service's secret is picked with an autocomplete narrowed to the service's
organization (a convenience); the form asks deploy.services to judge the input
(``service_validate``: name free in the app, image parses, secret of the same
organization that serves the image), so the rules are the site's and the API's.
Lists never select a secret's ciphertext.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from regsecrets.accounts.context import signed_in_user
from regsecrets.deploy.models import App, Service
from regsecrets.deploy.services import (
    app_create,
    app_delete,
    service_create,
    service_delete,
    service_update,
    service_validate,
)
from regsecrets.registry_secrets.models import Secret


class OrganizationAutocompleteSelect(AutocompleteSelect):
    """Forwards an organization id, which SecretAdmin.get_search_results filters on."""

    def __init__(self, *args: Any, organization_id: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization_id = organization_id

    def get_url(self) -> str:
        url = super().get_url()
        # select2 appends its own parameters with "&" when the URL has a query.
        return f"{url}?organization={self.organization_id}" if self.organization_id else url


class ServiceAdminForm(forms.ModelForm):
    """The service's fields, judged by ``service_validate`` (the site's and the API's rules)."""

    class Meta:
        model = Service
        fields = ["app", "name", "image", "registry_secret"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        # The app is read-only once the service exists.
        app = cleaned.get("app") or (self.instance.app if self.instance.app_id else None)
        if app is None:
            return cleaned
        try:
            cleaned["image"] = service_validate(
                app=app,
                name=cleaned.get("name"),
                image=cleaned.get("image"),
                registry_secret=cleaned.get("registry_secret"),
                service=None if self.instance._state.adding else self.instance,
            )
        except ValidationError as exc:
            # Keyed by field. A field the form already refused keeps its own message;
            # a name clash here also stands in for the model's unique check, which
            # skips fields that have errors.
            for field, messages in exc.message_dict.items():
                target = field if field in self.fields else None
                if target is None or not self.has_error(target):
                    self.add_error(target, messages)
        return cleaned


class ServiceInline(admin.TabularInline):
    """The app's services, read-only here: each is edited on its own page."""

    model = Service
    fields = readonly_fields = ("name", "image", "registry_secret")
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return (
            super()
            .get_queryset(request)
            .select_related("app", "registry_secret")
            .defer("registry_secret__document")
        )


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "services_count", "created_at"]
    list_filter = ["organization"]
    search_fields = ["name", "organization__name", "organization__slug"]
    list_select_related = ["organization"]
    inlines = [ServiceInline]

    def get_inlines(self, request: HttpRequest, obj: App | None) -> list[type]:
        return list(self.inlines) if obj is not None else []  # a new app has no services

    def get_queryset(self, request: HttpRequest) -> QuerySet[App]:
        # GROUP BY drops Meta.ordering; restate it so autocomplete pages are stable.
        return (
            super()
            .get_queryset(request)
            .annotate(services_count=Count("services"))
            .order_by("name")
        )

    def get_readonly_fields(self, request: HttpRequest, obj: App | None = None) -> list[str]:
        # No app_update service exists: an app keeps its organization and name
        # (moving it would strand its services' secrets; services refer to the name).
        return ["organization", "name", "created_at", "updated_at"] if obj else []

    @admin.display(description="services", ordering="services_count")
    def services_count(self, obj: App) -> Any:
        count = getattr(obj, "services_count", 0)
        if not count:
            return 0
        url = reverse("admin:deploy_service_changelist")
        return format_html('<a href="{}?app={}">{}</a>', url, obj.pk, count)

    def save_model(self, request: HttpRequest, obj: App, form: Any, change: bool) -> None:
        if change:
            return  # nothing on the change form is editable
        created = app_create(
            organization=obj.organization,
            name=obj.name,
            actor=signed_in_user(request),
            request=request,
        )
        _adopt(obj, created)

    def delete_model(self, request: HttpRequest, obj: App) -> None:
        app_delete(app=obj, actor=signed_in_user(request), request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[App]) -> None:
        with transaction.atomic():
            for app in queryset.select_related("organization"):
                app_delete(app=app, actor=signed_in_user(request), request=request)


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    form = ServiceAdminForm
    list_display = [
        "name",
        "app",
        "organization",
        "image",
        "registry_secret",
        "secret_health",
        "updated_at",
    ]
    list_filter = ["organization"]
    search_fields = ["name", "image", "app__name", "organization__slug", "registry_secret__name"]
    list_select_related = ["app", "organization", "registry_secret"]
    autocomplete_fields = ["app", "registry_secret"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Service]:
        return super().get_queryset(request).defer("registry_secret__document")

    @admin.display(description="secret health", ordering="registry_secret__health_status")
    def secret_health(self, obj: Service) -> str:
        """Whether the pull will work: the secret's health (a public image needs none)."""
        if obj.registry_secret is None:
            return "— (public image)"
        return obj.registry_secret.get_health_status_display()

    def get_readonly_fields(self, request: HttpRequest, obj: Service | None = None) -> list[str]:
        # A service stays in its app (and so its organization).
        return ["app", "organization", "created_at", "updated_at"] if obj else []

    def get_fields(self, request: HttpRequest, obj: Service | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("app", "name", "image", "registry_secret")
        return (
            "app",
            "organization",
            "name",
            "image",
            "registry_secret",
            "created_at",
            "updated_at",
        )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "registry_secret":
            # Never load a ciphertext to render a picker.
            kwargs["queryset"] = Secret.objects.defer("document")
            kwargs["widget"] = OrganizationAutocompleteSelect(
                db_field,
                self.admin_site,
                using=kwargs.get("using"),
                organization_id=self._organization_id(request),
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(
        self, request: HttpRequest, obj: Service | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        request._service_admin_obj = obj  # type: ignore[attr-defined]  # for the widget above
        return super().get_form(request, obj, change=change, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        # A malformed ?app= would make the app autocomplete fail to render (a 500).
        if "app" in initial and self._organization_id(request) is None:
            del initial["app"]
        return initial

    @staticmethod
    def _organization_id(request: HttpRequest) -> int | None:
        """The organization of the service being edited, or of the app chosen for a new one."""
        obj = getattr(request, "_service_admin_obj", None)
        if obj is not None and obj.organization_id:
            return obj.organization_id
        app_id = request.POST.get("app") or request.GET.get("app")
        if not app_id:
            return None
        try:
            return App.objects.filter(pk=app_id).values_list("organization_id", flat=True).first()
        except ValidationError:  # not a UUID
            return None

    def save_model(self, request: HttpRequest, obj: Service, form: Any, change: bool) -> None:
        """Through service_create / service_update, so the audit trail has the change."""
        data = form.cleaned_data
        if change:
            current = Service.objects.select_related("app", "organization").get(pk=obj.pk)
            service_update(
                service=current,
                name=data["name"],
                image=data["image"],
                registry_secret=data.get("registry_secret"),
                actor=signed_in_user(request),
                request=request,
            )
            return
        created = service_create(
            app=data["app"],
            name=data["name"],
            image=data["image"],
            registry_secret=data.get("registry_secret"),
            actor=signed_in_user(request),
            request=request,
        )
        _adopt(obj, created)

    def delete_model(self, request: HttpRequest, obj: Service) -> None:
        service_delete(service=obj, actor=signed_in_user(request), request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Service]) -> None:
        with transaction.atomic():
            for service in queryset.select_related("app", "organization"):
                service_delete(service=service, actor=signed_in_user(request), request=request)


def _adopt(obj: Any, created: Any) -> None:
    """Make the admin's unsaved instance the row a service function created,
    so the admin's log entry and redirect point at it."""
    for field in type(created)._meta.concrete_fields:
        setattr(obj, field.attname, getattr(created, field.attname))
    obj._state.adding = False
    obj._state.db = created._state.db
