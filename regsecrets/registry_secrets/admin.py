"""The registry secret admin: metadata lists, catalogue forms, write-only credentials.

The admin is one more face over the service functions: adding and changing go
through ``secret_create`` / ``secret_update`` with the provider catalogue's own
form classes (``provider_form_class``), so there is no second implementation of
any provider. Lists read clear metadata only (the ciphertext column is deferred);
the change page decrypts once to prefill the non-secret inputs, as the site's
edit page does, and never renders a credential or a ciphertext.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.exceptions import DisallowedModelAdminToField
from django.contrib.admin.options import IS_POPUP_VAR, TO_FIELD_VAR
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_post_parameters

from regsecrets.accounts.models import Organization
from regsecrets.audit.services import audit_record
from regsecrets.crypto import DecryptionError, get_keyring
from regsecrets.crypto.fields import reseal
from regsecrets.registries import PROVIDERS, Provider, display_host, get_provider
from regsecrets.registry_secrets.client_options import client_options
from regsecrets.registry_secrets.forms import (
    SecretForm,
    create_secret_from_form,
    provider_form_class,
    upload_was_dropped,
)
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import (
    SecretInUse,
    UnknownProvider,
    secret_delete,
    secret_edit_initial,
    secret_update,
    stored_provider,
)
from regsecrets.registry_secrets.verification import secret_host_checks

# One REGSECRETS_VERIFY_TIMEOUT bounds the whole action; this keeps the list it covers short.
MAX_SECRETS_PER_TEST = 10
# The only caller whose autocomplete results are narrowed to one organization.
_SERVICE_SECRET_FIELD = ("deploy", "service", "registry_secret")

sensitive_post = method_decorator(sensitive_post_parameters())


def _provider_label(key: str) -> str:
    try:
        return get_provider(key).label
    except KeyError:  # a provider the catalogue dropped: the stored key still says what it was
        return key


def admin_form_class(provider: Provider, *, editing: bool) -> type[SecretForm]:
    """The site's form for ``provider``, made a ModelForm so the admin can render it.

    The add form gains the organization choice; the edit form has the provider's
    inputs only (name and provider are fixed once created). Neither has a model
    field the admin would save: saving is secret_create / secret_update's job.
    """
    base = provider_form_class(provider, editing=editing)
    meta = type("Meta", (), {"model": Secret, "fields": [] if editing else ["organization"]})
    attrs = {"Meta": meta, "__module__": __name__, "_post_clean": _skip_model_validation}
    return type(f"Admin{base.__name__}", (base, forms.ModelForm), attrs)


def _skip_model_validation(form: forms.ModelForm) -> None:
    """No model instance is built from these forms: the service functions validate
    and save. (Model validation would otherwise check whichever provider inputs
    share a model field's name, such as ``username``, against the stored row.)"""


def _services_count() -> Coalesce:
    """Count of services per secret, as a correlated subquery rather than a JOIN.

    A JOIN + GROUP BY would group by every column, the ciphertext included, in
    each query built on the admin's queryset (the key id filter's DISTINCT, the
    autocomplete); the subquery leaves the row alone.
    """
    from regsecrets.deploy.models import Service

    counts = (
        Service.objects.filter(registry_secret=OuterRef("pk"))
        .order_by()
        .values("registry_secret")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


class ChooseProviderForm(forms.Form):
    """Step one of adding: which organization and which provider's form."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.order_by("name"))
    provider = forms.ChoiceField(choices=[(p.slug, p.label) for p in PROVIDERS])


@admin.register(Secret)
class SecretAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "organization",
        "provider_label",
        "registry_hosts",
        "username",
        "services_count",
        "key_id",
        "updated_at",
    ]
    list_filter = ["provider", "organization", "key_id"]
    # "hosts" is a JSON list searched as its JSON text (icontains), which both
    # SQLite and PostgreSQL support; tests/admin covers both.
    search_fields = ["name", "organization__name", "organization__slug", "hosts", "username"]
    list_select_related = ["organization"]
    exclude = ["document"]
    actions = ["test_credentials", "reencrypt", "delete_selected"]
    add_choose_template = "admin/registry_secrets/secret/add_choose.html"
    # Names distinct from every provider input, which share the change page.
    readonly_change_fields = [
        "organization",
        "name",
        "provider_label",
        "registry_hosts",
        "registry_username",
        "key_id",
        "services_using",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    ]

    # --- Lists ------------------------------------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet[Secret]:
        """Metadata only: the ciphertext is never selected for lists, searches, pickers."""
        return (
            super()
            .get_queryset(request)
            .defer("document")
            .annotate(services_count=_services_count())
        )

    @admin.display(description="provider", ordering="provider")
    def provider_label(self, obj: Secret) -> str:
        return _provider_label(obj.provider)

    @admin.display(description="registry hosts")
    def registry_hosts(self, obj: Secret) -> str:
        return ", ".join(display_host(host) for host in obj.hosts or [])

    @admin.display(description="username")
    def registry_username(self, obj: Secret) -> str:
        # Not "username": that is also a provider input on the same change page.
        return obj.username

    @admin.display(description="services", ordering="services_count")
    def services_count(self, obj: Secret) -> Any:
        count = getattr(obj, "services_count", 0)
        if not count:
            return 0
        url = reverse("admin:deploy_service_changelist")
        return format_html('<a href="{}?registry_secret={}">{}</a>', url, obj.pk, count)

    @admin.display(description="used by services")
    def services_using(self, obj: Secret) -> Any:
        services = obj.services.select_related("app").order_by("app__name", "name")
        links = [(reverse("admin:deploy_service_change", args=[s.pk]), str(s)) for s in services]
        if not links:
            return "—"
        return format_html_join(", ", '<a href="{}">{}</a>', links)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Secret], search_term: str
    ) -> tuple[QuerySet[Secret], bool]:
        """Narrow the service form's autocomplete to the service's organization.

        The Service admin forwards ``organization`` in the autocomplete URL; the
        Service form's clean still refuses another organization's secret, so
        this is a convenience, not the rule.
        """
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        source = tuple(request.GET.get(k, "") for k in ("app_label", "model_name", "field_name"))
        organization = request.GET.get("organization", "")
        # A plain id: str.isdigit() alone also takes digits int() refuses ("²"), and
        # more than 18 digits overflow the driver's 64-bit integer (SQLite).
        plain_id = organization.isascii() and organization.isdigit() and len(organization) <= 18
        if source == _SERVICE_SECRET_FIELD and plain_id:
            queryset = queryset.filter(organization_id=int(organization))
        return queryset, may_have_duplicates

    # --- Add: organization + provider, then the provider's own form --------------------
    @sensitive_post
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        self._check_to_field(request)
        choice = ChooseProviderForm(
            request.GET if "provider" in request.GET else None,
            initial={"organization": request.GET.get("organization")},
        )
        if not choice.is_valid():
            return self._render_choose(request, choice)
        provider = get_provider(choice.cleaned_data["provider"])
        form_class = admin_form_class(provider, editing=False)
        if request.method == "POST":
            form = form_class(request.POST, request.FILES)
            form.upload_dropped = upload_was_dropped(request)
            if form.is_valid():
                secret = create_secret_from_form(
                    form,
                    organization=form.cleaned_data["organization"],
                    actor=request.user,
                    request=request,
                )
                if secret is not None:
                    self.log_addition(request, secret, [{"added": {}}])
                    return self.response_add(request, secret)
        else:
            form = form_class(initial={"organization": choice.cleaned_data["organization"]})
        return self._render_form(request, form, provider, obj=None, form_url=form_url)

    def _render_choose(self, request: HttpRequest, choice: ChooseProviderForm) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "Add secret: organization and provider",
            "opts": self.opts,
            "form": choice,
            "providers": PROVIDERS,
            "is_popup": IS_POPUP_VAR in request.GET,
            "is_popup_var": IS_POPUP_VAR,
            "to_field": request.GET.get(TO_FIELD_VAR),
            "to_field_var": TO_FIELD_VAR,
            "has_view_permission": self.has_view_permission(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.add_choose_template, context)

    # --- Change: credentials write-only, provider and name fixed ------------------------
    @sensitive_post
    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        to_field = self._check_to_field(request)
        obj = self.get_object(request, unquote(object_id), to_field)
        if request.method == "POST":
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
        elif not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        try:
            provider = stored_provider(obj)
        except UnknownProvider as exc:
            messages.warning(request, str(exc))
            return self._render_read_only(request, obj, form_url)
        if not self.has_change_permission(request, obj):
            return self._render_read_only(request, obj, form_url)
        try:
            # Non-secret inputs only; credentials start empty (empty keeps).
            initial = secret_edit_initial(obj)
        except DecryptionError as exc:
            self._decryption_message(request, obj, exc)
            return self._render_read_only(request, obj, form_url)
        form_class = admin_form_class(provider, editing=True)
        if request.method == "POST":
            form = form_class(request.POST, request.FILES, instance=obj, initial=initial)
            form.upload_dropped = upload_was_dropped(request)
            if form.is_valid():
                try:
                    updated = secret_update(
                        secret=obj, data=form.provider_data(), actor=request.user, request=request
                    )
                except ValidationError as exc:
                    form.add_service_errors(exc)
                except DecryptionError as exc:
                    self._decryption_message(request, obj, exc)
                    return self._render_read_only(request, obj, form_url)
                else:
                    message = self.construct_change_message(request, form, [], False)
                    self.log_change(request, updated, message)
                    return self.response_change(request, updated)
        else:
            form = form_class(instance=obj, initial=initial)
        return self._render_form(request, form, provider, obj=obj, form_url=form_url)

    def construct_change_message(
        self, request: HttpRequest, form: forms.Form, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        """Names of the inputs that were filled in, never their values.

        A credential input counts as changed when it was given at all (its
        stored value is never compared or shown).
        """
        if add:
            return [{"added": {}}]
        labels = [str(form.fields[name].label or name) for name in form.changed_data]
        return [{"changed": {"fields": labels}}] if labels else []

    def _render_read_only(self, request: HttpRequest, obj: Secret, form_url: str) -> HttpResponse:
        """The metadata alone, without inputs (view permission, or an unreadable secret)."""
        form_class = forms.modelform_factory(Secret, fields=[])
        extra = {"show_save": False, "show_save_and_continue": False}
        return self._render_form(
            request, form_class(instance=obj), None, obj=obj, form_url=form_url, extra=extra
        )

    def _render_form(
        self,
        request: HttpRequest,
        form: forms.ModelForm,
        provider: Provider | None,
        *,
        obj: Secret | None,
        form_url: str,
        extra: dict[str, Any] | None = None,
    ) -> HttpResponse:
        add = obj is None
        title = "Change secret" if provider is not None else "View secret"
        inputs = [name for name in form.fields if name not in ("organization", "name")]
        if add:
            choose_url = reverse("admin:registry_secrets_secret_add")
            description = format_html(
                '{} — <a href="{}">choose another provider</a>', provider.label, choose_url
            )
            fieldsets = [(None, {"fields": ["organization", "name"]})]
            readonly: list[str] = []
        else:
            description = (
                "Credential inputs start empty and are never shown again; "
                "leave one empty to keep the stored value."
            )
            fieldsets = [(None, {"fields": self.readonly_change_fields})]
            readonly = list(self.readonly_change_fields)
        if provider is not None and inputs:
            fieldsets.append((provider.label, {"fields": inputs, "description": description}))
        admin_form = helpers.AdminForm(form, fieldsets, {}, readonly, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Add {provider.label} secret" if add else title,
            "subtitle": None if add else str(obj),
            "adminform": admin_form,
            "object_id": None if add else obj.pk,
            "original": obj,
            "is_popup": IS_POPUP_VAR in request.POST or IS_POPUP_VAR in request.GET,
            "to_field": request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR)),
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra or {}),
        }
        if add and not form_url:
            form_url = request.get_full_path()
        return self.render_change_form(
            request, context, add=add, change=not add, obj=obj, form_url=form_url
        )

    def _check_to_field(self, request: HttpRequest) -> str | None:
        to_field = request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR))
        if to_field and not self.to_field_allowed(request, to_field):
            raise DisallowedModelAdminToField(f"The field {to_field} cannot be referenced.")
        return to_field

    def _decryption_message(
        self, request: HttpRequest, secret: Secret, error: DecryptionError
    ) -> None:
        self.message_user(
            request,
            f"Secret “{secret.name}” cannot be decrypted (key id {error.kid or 'unknown'}): "
            "is that key still in REGSECRETS_ENCRYPTION_KEYS? Its metadata is shown below.",
            messages.ERROR,
        )

    # --- Delete: refused while services use the secret ----------------------------------
    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """Name every service that blocks the deletion, and the secret it uses."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:
            from regsecrets.deploy.models import Service

            pks = [obj.pk for obj in objs]
            services = (
                Service.objects.filter(registry_secret__in=pks)
                .select_related("app", "registry_secret")
                .defer("registry_secret__document")
                .order_by("registry_secret__name", "app__name", "name")
            )
            protected = [
                format_html(
                    'Secret “{}” is used by service <a href="{}">{}</a>',
                    s.registry_secret.name,
                    reverse("admin:deploy_service_change", args=[s.pk]),
                    str(s),
                )
                for s in services
            ]
        return deleted, counts, perms_needed, protected

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except SecretInUse as exc:
            # A service started using it between the confirmation page and the POST.
            self._in_use_message(request, exc)
            return HttpResponseRedirect(
                reverse("admin:registry_secrets_secret_change", args=[exc.secret.pk])
            )

    def delete_model(self, request: HttpRequest, obj: Secret) -> None:
        secret_delete(secret=obj, actor=request.user, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Secret]) -> None:
        with transaction.atomic():
            for secret in queryset.select_related("organization"):
                secret_delete(secret=secret, actor=request.user, request=request)

    @admin.action(permissions=["delete"], description="Delete selected secrets")
    def delete_selected(
        self, request: HttpRequest, queryset: QuerySet[Secret]
    ) -> HttpResponse | None:
        """Django's bulk delete, which refuses when services use any selected secret."""
        try:
            # Atomic, so the LogEntry rows Django writes first go if a delete is refused.
            with transaction.atomic():
                return django_delete_selected(self, request, queryset)
        except SecretInUse as exc:
            self._in_use_message(request, exc)
            return None

    def _in_use_message(self, request: HttpRequest, exc: SecretInUse) -> None:
        names = ", ".join(str(s) for s in exc.services)
        self.message_user(
            request,
            f"Secret “{exc.secret.name}” is used by {names}; nothing was deleted.",
            messages.ERROR,
        )

    # --- Actions ---------------------------------------------------------------------
    def _with_documents(self, queryset: QuerySet[Secret]) -> QuerySet[Secret]:
        """The selected rows again, this time with their ciphertext (actions decrypt)."""
        pks = list(queryset.values_list("pk", flat=True))
        return Secret.objects.filter(pk__in=pks).select_related("organization").order_by("name")

    @admin.action(permissions=["change"], description="Test credentials against their registries")
    def test_credentials(self, request: HttpRequest, queryset: QuerySet[Secret]) -> None:
        """Log in to every registry of each secret (in memory; nothing is stored)."""
        secrets = list(self._with_documents(queryset)[: MAX_SECRETS_PER_TEST + 1])
        if len(secrets) > MAX_SECRETS_PER_TEST:
            self.message_user(
                request,
                f"Select at most {MAX_SECRETS_PER_TEST} secrets to test at once.",
                messages.ERROR,
            )
            return
        options = client_options()
        deadline = options.deadline()  # one bound for every secret of the action
        for secret in secrets:
            try:
                checks = secret_host_checks(secret, options=options, deadline=deadline)
                results = [(c.host, c.result) for c in checks]
            except DecryptionError as exc:
                self._decryption_message(request, secret, exc)
                continue
            audit_record(
                action="secret.verified",
                organization=secret.organization,
                actor=request.user,
                obj=secret,
                request=request,
                details={
                    "results": [
                        {"registry": host, "success": r.success, "code": r.code}
                        for host, r in results
                    ]
                },
            )
            ok = bool(results) and all(r.success for _, r in results)
            summary = "; ".join(
                f"{display_host(host)}: {'OK' if r.success else r.code} — {r.reason}"
                for host, r in results
            )
            self.message_user(
                request,
                f"Secret “{secret.name}”: {summary or 'no registry to test'}",
                messages.SUCCESS if ok else messages.WARNING,
            )

    @admin.action(permissions=["change"], description="Re-encrypt with the active key")
    def reencrypt(self, request: HttpRequest, queryset: QuerySet[Secret]) -> None:
        """Reseal each selected secret under the active key, one locked row at a time."""
        active = get_keyring().active_kid
        rotated = current = failed = 0
        for pk in list(queryset.values_list("pk", flat=True)):
            with transaction.atomic():
                secret = (
                    Secret.objects.select_for_update(of=("self",))
                    .select_related("organization")
                    .filter(pk=pk)
                    .first()
                )
                if secret is None:  # deleted meanwhile
                    continue
                old_kid = secret.key_id
                try:
                    changed = reseal(secret, "document")
                except DecryptionError as exc:
                    failed += 1
                    self._decryption_message(request, secret, exc)
                    continue
                if not changed:
                    current += 1
                    continue
                # Rotation is not an edit: updated_at and updated_by stay as they were.
                secret.save(update_fields=["document", "key_id"])
                rotated += 1
                audit_record(
                    action="secret.reencrypted",
                    organization=secret.organization,
                    actor=request.user,
                    obj=secret,
                    request=request,
                    details={"from_kid": old_kid, "to_kid": secret.key_id},
                )
        self.message_user(
            request,
            f"Re-encrypted {rotated} secret(s) with key “{active}”; {current} already used it"
            + (f"; {failed} could not be decrypted." if failed else "."),
            messages.WARNING if failed else messages.SUCCESS,
        )
