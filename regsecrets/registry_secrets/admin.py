"""The registry secret admin: metadata lists, catalogue forms, write-only credentials.

Built on the admin's own hooks, the way django.contrib.auth's UserAdmin is: adding
takes two steps (organization and provider, then that provider's form), and
``get_form`` returns the provider catalogue's own form class (``admin_form_class``),
so there is no second implementation of any provider. The form's validation asks
the services to judge the input (``secret_create_prepare`` / ``secret_update_prepare``),
so their errors land on the fields through the normal change form flow; ``save_model``
then writes what they prepared and ``delete_model`` deletes through ``secret_delete``.
Lists read clear metadata only (the ciphertext column is deferred); the change page
decrypts once per request, and never renders a credential or a ciphertext.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_post_parameters

from regsecrets.accounts.context import signed_in_user
from regsecrets.accounts.models import Organization
from regsecrets.crypto import DecryptionError, get_keyring
from regsecrets.registries import PROVIDERS, Provider, display_host, get_provider, provider_by_slug
from regsecrets.registries.client import FORBIDDEN_ADDRESS
from regsecrets.registry_secrets import health, selectors
from regsecrets.registry_secrets.errors import InvalidInput, undecryptable_operator_message
from regsecrets.registry_secrets.forms import SecretForm, provider_form_class, upload_was_dropped
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import (
    PreparedCreate,
    PreparedUpdate,
    SecretInUse,
    UnknownProvider,
    secret_create_apply,
    secret_create_prepare,
    secret_delete,
    secret_edit_initial,
    secret_reencrypt,
    secret_update_apply,
    secret_update_prepare,
    stored_provider,
)
from regsecrets.registry_secrets.verification import MAX_SECRETS_PER_BATCH, verify_stored_secrets

# The only caller whose autocomplete results are narrowed to one organization.
_SERVICE_SECRET_FIELD = ("deploy", "service", "registry_secret")
_CHANGE_HELP = (
    "Credential inputs start empty and are never shown again; "
    "leave one empty to keep the stored value."
)

sensitive_post = method_decorator(sensitive_post_parameters())


def _undecryptable(secret: Secret, error: DecryptionError) -> str:
    """The operators' words (key id, setting), named for the secret (the admin lists many)."""
    return f"Secret “{secret.name}”: {undecryptable_operator_message(error.kid)}"


class _ServiceJudgedForm:
    """Mixed into a provider's form by ``admin_form_class``.

    Where a ModelForm would build and validate a model instance, the services judge
    the input: their ValidationErrors land on the fields, and what they prepared (a
    sealed, unsaved row; on an edit the row is locked until the admin's transaction
    ends) becomes the form's instance, which ``SecretAdmin.save_model`` writes. So
    the input is validated, and the stored document decrypted, once per request.
    """

    # Set on the class by SecretAdmin.get_form: the change form's non-secret inputs.
    prefill: dict[str, Any] | None = None
    prepared: PreparedCreate | PreparedUpdate | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.prefill and not self.is_bound:  # type: ignore[attr-defined]
            self.initial.update(self.prefill)  # type: ignore[attr-defined]

    def _post_clean(self) -> None:
        form: Any = self
        if form.errors:
            return
        try:
            if form.editing:
                # No repair from the admin: a document it cannot read is an error here.
                self.prepared = secret_update_prepare(
                    secret=form.instance,
                    data=form.provider_data(),
                    allow_repair=False,
                    expires_at=form.cleaned_data.get("expires_at"),
                )
            else:
                self.prepared = secret_create_prepare(
                    organization=form.cleaned_data["organization"],
                    name=form.cleaned_data["name"],
                    provider=form.provider.key,
                    data=form.provider_data(),
                    expires_at=form.cleaned_data.get("expires_at"),
                )
        except ValidationError as exc:
            form.add_service_errors(exc)
        except DecryptionError as exc:
            form.add_error(None, _undecryptable(form.instance, exc))
        else:
            form.instance = self.prepared.secret


class _NoInputsForm(forms.ModelForm):
    """The change form of a secret the page offers no inputs for (view only, or a
    document it could not read). Saving it is refused when the provider left the
    catalogue, which leaves no form or rule to validate an edit with."""

    def clean(self) -> dict[str, Any]:
        try:
            stored_provider(self.instance)
        except UnknownProvider as exc:
            raise ValidationError(str(exc)) from None
        super().clean()
        return self.cleaned_data


def admin_form_class(provider: Provider, *, editing: bool) -> type[SecretForm]:
    """The site's form for ``provider``, made a ModelForm so the admin can render it.

    The add form gains the organization choice; the edit form has the provider's
    inputs only (name and provider are fixed once created). No model field is
    saved from them: the services judge and save (see ``_ServiceJudgedForm``).
    """
    base = provider_form_class(provider, editing=editing)
    meta = type("Meta", (), {"model": Secret, "fields": [] if editing else ["organization"]})
    bases = (_ServiceJudgedForm, base, forms.ModelForm)
    return type(f"Admin{base.__name__}", bases, {"Meta": meta, "__module__": __name__})


def provider_help_html(provider: Provider) -> str:
    """The site's provider help and console link, for the admin's add form."""
    if not provider.console_url:
        return format_html("{}", provider.help)
    return format_html(
        '{} <a href="{}" target="_blank" rel="noopener noreferrer">{} ↗</a>',
        provider.help,
        provider.console_url,
        provider.console_label,
    )


def _provider_inputs(provider: Provider, *, editing: bool) -> list[str]:
    return [
        name
        for name in provider_form_class(provider, editing=editing).base_fields
        if name != "name"
    ]


def _services_count() -> Subquery:
    """Count of services per secret, as a correlated subquery rather than a JOIN: a
    JOIN + GROUP BY would group by every column, the ciphertext included, in each
    query built on the admin's queryset (the key id filter's DISTINCT, the
    autocomplete)."""
    return selectors.services_count()


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
        "health",
        "checked_at",
        "expires_at",
        "key_id",
        "updated_at",
    ]
    list_filter = ["health_status", "provider", "organization", "key_id"]
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
        "health_status",
        "health_reason",
        "checked_at",
        "last_healthy_at",
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
        try:
            return get_provider(obj.provider).label
        except KeyError:  # a provider the catalogue dropped: the stored key says what it was
            return obj.provider

    @admin.display(description="registry hosts")
    def registry_hosts(self, obj: Secret) -> str:
        return ", ".join(display_host(host) for host in obj.hosts or [])

    @admin.display(description="username")
    def registry_username(self, obj: Secret) -> str:
        # Not "username": that is also a provider input on the same change page.
        return obj.username

    @admin.display(description="health", ordering="health_status")
    def health(self, obj: Secret) -> Any:
        """The status in words, with the last check's reason on hover."""
        return format_html(
            '<span class="health-{}" title="{}">{}</span>',
            obj.health_status.lower(),
            obj.health_reason or "",
            obj.get_health_status_display(),
        )

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
        service rules still refuse another organization's secret, so this is a
        convenience, not the rule.
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
        choice = ChooseProviderForm(
            request.GET if "provider" in request.GET else None,
            initial={"organization": request.GET.get("organization")},
        )
        if not choice.is_valid():
            return self.choose_provider_view(request, choice)
        provider = provider_by_slug(choice.cleaned_data["provider"])
        extra_context = {"title": f"Add {provider.label} secret", **(extra_context or {})}
        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationError:
            # Another request took the name between this form's validation and its
            # save (the unique constraint decided, and the transaction was rolled
            # back). Validating again puts the clash on the name field.
            return super().add_view(request, form_url, extra_context)

    def choose_provider_view(
        self, request: HttpRequest, choice: ChooseProviderForm
    ) -> TemplateResponse:
        """Step one: a GET form whose answer (?organization=&provider=) opens step two.

        Every other query parameter (the admin's popup and to-field markers) is
        carried through unchanged, so step two is the admin's own add view.
        """
        if not self.has_add_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Add secret: organization and provider",
            "opts": self.opts,
            "form": choice,
            "carry": [(k, v) for k, v in request.GET.items() if k not in choice.fields],
            "has_view_permission": self.has_view_permission(request),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.add_choose_template, context)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        choice = ChooseProviderForm(request.GET)
        if choice.is_valid():
            initial["organization"] = choice.cleaned_data["organization"]
        return initial

    # --- Change: credentials write-only, provider and name fixed ------------------------
    @sensitive_post
    def change_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return super().change_view(request, *args, **kwargs)

    def _editing(
        self, request: HttpRequest, obj: Secret
    ) -> tuple[Provider, dict[str, Any] | None] | None:
        """The provider whose inputs the change page offers, with their prefill; None
        when it offers none. Decided once per request and row (get_fieldsets and
        get_form both ask): a GET decrypts to prefill the non-secret inputs, and a
        document that cannot be opened or a provider the catalogue dropped leaves the
        page its metadata and a message; a POST does not decrypt here, the form's
        validation does, under the row lock.
        """
        if not hasattr(obj, "_admin_editing"):
            editing: tuple[Provider, dict[str, Any] | None] | None = None
            if self.has_change_permission(request, obj):
                try:
                    provider = stored_provider(obj)
                    editing = (provider, None)
                    if request.method != "POST":
                        prefill = {**secret_edit_initial(obj), "expires_at": obj.expires_at}
                        editing = (provider, prefill)
                except UnknownProvider as exc:
                    if request.method != "POST":  # a POST gets it as the form's error
                        messages.warning(request, str(exc))
                except DecryptionError as exc:
                    editing = None
                    self._decryption_message(request, obj, exc)
            obj._admin_editing = editing  # type: ignore[attr-defined]
        return obj._admin_editing  # type: ignore[attr-defined]

    def get_fieldsets(self, request: HttpRequest, obj: Secret | None = None) -> list[Any]:
        if obj is None:
            provider = self._chosen_provider(request)
            query = urlencode([(k, v) for k, v in request.GET.items() if k != "provider"])
            choose_url = f"{reverse('admin:registry_secrets_secret_add')}?{query}"
            description = format_html(
                '{} — <a href="{}">choose another provider</a>.<br>{}',
                provider.label,
                choose_url,
                provider_help_html(provider),
            )
            inputs = _provider_inputs(provider, editing=False)
            return [
                (None, {"fields": ["organization", "name"]}),
                (provider.label, {"fields": inputs, "description": description}),
            ]
        fieldsets: list[Any] = [(None, {"fields": self.readonly_change_fields})]
        if editing := self._editing(request, obj):
            inputs = _provider_inputs(editing[0], editing=True)
            fieldsets.append((editing[0].label, {"fields": inputs, "description": _CHANGE_HELP}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Secret | None = None) -> list[str]:
        return list(self.readonly_change_fields) if obj is not None else []

    def get_form(
        self, request: HttpRequest, obj: Secret | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        """The provider's own form: chosen in step one when adding, the stored one when changing."""
        prefill = None
        if obj is None:
            kwargs["form"] = admin_form_class(self._chosen_provider(request), editing=False)
        elif editing := self._editing(request, obj):
            kwargs["form"] = admin_form_class(editing[0], editing=True)
            prefill = editing[1]
        else:
            kwargs["form"] = _NoInputsForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if issubclass(form, SecretForm):  # a class of its own per request
            form.upload_dropped = upload_was_dropped(request)
            form.prefill = prefill  # type: ignore[attr-defined]
        return form

    @staticmethod
    def _chosen_provider(request: HttpRequest) -> Provider:
        # add_view opens step two only with a valid choice.
        return provider_by_slug(request.GET.get("provider", ""))

    def save_model(self, request: HttpRequest, obj: Secret, form: Any, change: bool) -> None:
        """Write what the form's validation had the services prepare (``obj`` is its row)."""
        if change:
            secret_update_apply(
                prepared=form.prepared, actor=signed_in_user(request), request=request
            )
        else:
            secret_create_apply(
                prepared=form.prepared, actor=signed_in_user(request), request=request
            )

    def construct_change_message(
        self, request: HttpRequest, form: forms.Form, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        """Names of the inputs that changed, never their values.

        The service decides what changed: a credential input counts when it was
        given at all (its stored value is never compared or shown).
        """
        if add:
            return [{"added": {}}]
        prepared = getattr(form, "prepared", None)
        changed = prepared.changed if isinstance(prepared, PreparedUpdate) else []
        labels = [
            str(form.fields[name].label or name) if name in form.fields else name
            for name in changed
        ]
        return [{"changed": {"fields": labels}}] if labels else []

    def _decryption_message(
        self, request: HttpRequest, secret: Secret, error: DecryptionError
    ) -> None:
        self.message_user(
            request,
            f"{_undecryptable(secret, error)} Its metadata is shown below.",
            messages.ERROR,
        )

    # --- Delete: refused while services use the secret ----------------------------------
    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """Name every service that blocks the deletion, and the secret it uses."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if protected:
            protected = [
                format_html(
                    'Secret “{}” is used by service <a href="{}">{}</a>',
                    secret.name,
                    reverse("admin:deploy_service_change", args=[service.pk]),
                    str(service),
                )
                for secret in sorted(objs, key=lambda s: s.name)
                for service in secret.services.select_related("app").order_by("app__name", "name")
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
        secret_delete(secret=obj, actor=signed_in_user(request), request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Secret]) -> None:
        with transaction.atomic():
            for secret in queryset.select_related("organization"):
                secret_delete(secret=secret, actor=signed_in_user(request), request=request)

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
        secrets = list(self._with_documents(queryset)[: MAX_SECRETS_PER_BATCH + 1])
        try:
            outcomes = verify_stored_secrets(
                secrets=secrets, actor=signed_in_user(request), request=request
            )
        except InvalidInput as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        for outcome in outcomes:
            name = outcome.secret.name
            if outcome.error is not None:
                message = _undecryptable(outcome.secret, outcome.error.error)
                self.message_user(request, message, messages.ERROR)
                continue
            # A manual check is a check: the secret's health records it too.
            health.health_record_checks(secret=outcome.secret, checks=outcome.checks)
            ok = bool(outcome.checks) and all(c.result.success for c in outcome.checks)
            summary = "; ".join(c.summary for c in outcome.checks)
            if any(c.result.code == FORBIDDEN_ADDRESS for c in outcome.checks):
                summary += (
                    " Operators: REGSECRETS_ALLOW_PRIVATE_REGISTRIES=true lets verification "
                    "reach registries on private networks."
                )
            self.message_user(
                request,
                f"Secret “{name}”: {summary or 'no registry to test'}",
                messages.SUCCESS if ok else messages.WARNING,
            )

    @admin.action(permissions=["change"], description="Re-encrypt with the active key")
    def reencrypt(self, request: HttpRequest, queryset: QuerySet[Secret]) -> None:
        """Reseal each selected secret under the active key (``secret_reencrypt``)."""
        active = get_keyring().active_kid
        rotated = current = failed = 0
        for secret in queryset.order_by("name"):
            try:
                changed = secret_reencrypt(
                    secret=secret, actor=signed_in_user(request), request=request
                )
            except Secret.DoesNotExist:  # deleted meanwhile
                continue
            except DecryptionError as exc:
                failed += 1
                self._decryption_message(request, secret, exc)
                continue
            if changed:
                rotated += 1
            else:
                current += 1
        self.message_user(
            request,
            f"Re-encrypted {rotated} secret(s) with key “{active}”; {current} already used it"
            + (f"; {failed} could not be decrypted." if failed else "."),
            messages.WARNING if failed else messages.SUCCESS,
        )
