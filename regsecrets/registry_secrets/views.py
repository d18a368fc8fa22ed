"""Registry secret pages: list, provider picker, create, detail, edit, delete.

Views are thin: forms check input shape, the service functions validate with the
provider catalogue, seal and audit. Only the edit page decrypts (to prefill the
non-secret fields and merge), and nothing decrypted that is secret reaches a
template. Every view that receives credentials hides its POST from error reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from regsecrets.accounts.context import OrgRequest
from regsecrets.accounts.scoping import (
    get_scoped_or_404,
    organization_required,
    require_manager,
    scoped,
)
from regsecrets.core.forms import ConfirmDeleteForm
from regsecrets.crypto import DecryptionError
from regsecrets.deploy import selectors as deploy_selectors
from regsecrets.registries import (
    PROVIDERS,
    Provider,
    display_host,
    get_provider,
    provider_by_slug,
)
from regsecrets.registry_secrets import health, selectors, services, verification
from regsecrets.registry_secrets.endpoints import json_endpoint
from regsecrets.registry_secrets.errors import InvalidInput, RateLimited, Undecryptable
from regsecrets.registry_secrets.forms import (
    SecretForm,
    create_secret_from_form,
    provider_cards,
    provider_form_class,
    upload_was_dropped,
)
from regsecrets.registry_secrets.models import Secret

PAGE_SIZE = 50
_FALLBACK_ICON = "server"


def _provider_for_slug(slug: str) -> Provider:
    try:
        return provider_by_slug(slug)
    except KeyError:
        raise Http404("No such provider.")


def _provider_info(key: str) -> dict[str, str]:
    """Label and icon for a stored provider key, even one the catalogue dropped."""
    try:
        provider = get_provider(key)
    except KeyError:
        return {"label": key, "icon": _FALLBACK_ICON, "slug": ""}
    return {"label": provider.label, "icon": provider.icon, "slug": provider.slug}


def _safe_next(request: OrgRequest) -> str:
    """A same-site path to return to after creating (e.g. the service form), or ""."""
    target = request.GET.get("next") or request.POST.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _with_query(path: str, **params: str) -> str:
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _display_hosts(secret: Secret) -> list[str]:
    return [display_host(host) for host in (secret.hosts or [])]


def _services_using(secret: Secret, request: OrgRequest) -> list[Any]:
    return list(
        scoped(secret.services.select_related("app"), request.organization).order_by(
            "app__name", "name"
        )
    )


def _switch_rows(secret: Secret, services_using: list[Any], request: OrgRequest) -> list[Any]:
    """Each service using ``secret`` with the other secrets it could switch to (no
    dead end: the page offers the way out). Two queries whatever the count."""
    choices = deploy_selectors.switch_choices(
        organization=request.organization, services=services_using, exclude=secret
    )
    return [{"service": s, "choices": choices.get(s.pk, [])} for s in services_using]


def _sort_links(request: OrgRequest, current: str) -> dict[str, dict[str, str]]:
    """For each sortable column: the URL that sorts by it (again: the other way),
    keeping the filters, and its aria-sort state."""
    links = {}
    for column in ("name", "provider", "updated"):
        ascending = current == column
        target = f"-{column}" if ascending else column
        query = {k: v for k, v in request.GET.items() if k not in ("sort", "page")}
        query["sort"] = target
        state = "none"
        if current in (column, f"-{column}"):
            # "updated" lists the newest first: that is descending.
            descending = (current == "-" + column) != (column == "updated")
            state = "descending" if descending else "ascending"
        links[column] = {"url": f"?{urlencode(query)}", "aria_sort": state}
    return links


@require_GET
@organization_required
def secret_list(request: OrgRequest) -> HttpResponse:
    """Metadata only (the document column is deferred): nothing here decrypts."""
    # A NUL in the query string never gets here (core.querystring answers 400).
    search = request.GET.get("q", "").strip()[:64]
    provider_slug = request.GET.get("provider", "")
    provider = None
    if provider_slug:
        try:
            provider = provider_by_slug(provider_slug)
        except KeyError:
            provider_slug = ""
    health_filter = request.GET.get("health", "")
    if health_filter not in selectors.HEALTH_FILTERS:
        health_filter = ""
    sort = request.GET.get("sort", "name")
    if sort not in selectors.SECRET_SORTS:
        sort = "name"
    page = selectors.secret_page(
        sort=sort,
        organization=request.organization,
        number=request.GET.get("page"),
        size=PAGE_SIZE,
        search=search,
        provider=provider.key if provider else "",
        health=health_filter,
    )
    rows = [
        {"secret": s, "provider": _provider_info(s.provider), "hosts": _display_hosts(s)}
        for s in page
    ]
    return render(
        request,
        "registry_secrets/secret_list.html",
        {
            "page": page,
            "rows": rows,
            "search": search,
            "provider_slug": provider_slug,
            "providers": PROVIDERS,
            "health_filter": health_filter,
            "sort": sort,
            "sort_links": _sort_links(request, sort),
            "attention_count": health.secrets_needing_attention(request.organization).count(),
            "filtered": bool(search or provider or health_filter),
        },
    )


@require_GET
@organization_required
def secret_new(request: OrgRequest) -> HttpResponse:
    """The provider picker: one card per provider, each a plain link.

    ``?next=`` (a same-site path, e.g. the service form) travels on to the
    provider form, which returns there with ``secret=<id>`` once saved.
    """
    next_url = _safe_next(request)
    providers = provider_cards("registry_secrets:create", next_url=next_url)
    return render(
        request,
        "registry_secrets/secret_new.html",
        {"providers": providers, "next": next_url},
    )


def _fields_context(form: SecretForm, provider: Provider, *, test_url: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if form.is_bound:
        data = {name: form.data.get(name, "") for name in form.preview_fields()}
    else:
        data = {name: form.initial.get(name, "") for name in form.preview_fields()}
    host = provider.preview_host(data)
    return {
        "form": form,
        "provider": provider,
        "preview_host": display_host(host) if host else "",
        "preview_fields": ",".join(form.preview_fields()),
        # Where secret-form.js posts the typed input for "Test credentials".
        "test_url": test_url,
    }


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@organization_required
def secret_create(request: OrgRequest, slug: str) -> HttpResponse:
    """The provider form; the form class comes from the URL, never from the POST."""
    provider = _provider_for_slug(slug)
    form_class = provider_form_class(provider)
    next_url = _safe_next(request)
    if request.method == "POST":
        form = form_class(request.POST, request.FILES)
        form.upload_dropped = upload_was_dropped(request)
        # Valid or not, the services judge it: every field's error in one round.
        secret = create_secret_from_form(
            form, organization=request.organization, actor=request.user, request=request
        )
        if secret is not None:
            messages.success(request, f"Secret “{secret.name}” saved.")
            if next_url:
                return redirect(_with_query(next_url, secret=str(secret.pk)))
            return redirect("registry_secrets:detail", pk=secret.pk)
    else:
        form = form_class()
    context = _fields_context(
        form, provider, test_url=reverse("registry_secrets:test_input", args=[provider.slug])
    )
    if request.method == "GET" and request.GET.get("fragment"):
        # The JavaScript provider switch swaps these fields in without a reload.
        return render(request, "registry_secrets/_provider_fields.html", context)
    suffix = f"?{urlencode({'next': next_url})}" if next_url else ""
    context["providers"] = provider_cards("registry_secrets:create", next_url=next_url)
    context["action"] = reverse("registry_secrets:create", args=[provider.slug]) + suffix
    context["next"] = next_url
    return render(request, "registry_secrets/secret_create.html", context)


@sensitive_post_parameters()
@require_POST
@organization_required
def preview_host(request: OrgRequest, slug: str) -> JsonResponse:
    """The registry host the typed input will use: the catalogue's own preview.

    POST, so a pasted config.json never lands in an access log; passwords are
    never read.
    """
    provider = _provider_for_slug(slug)
    form_class = provider_form_class(provider)
    data = {name: request.POST.get(name, "") for name in form_class.preview_fields()}
    host = provider.preview_host(data)
    return JsonResponse({"host": display_host(host) if host else None})


def _render_detail(request: OrgRequest, secret: Secret, *, status: int = 200) -> HttpResponse:
    services_using = _services_using(secret, request)
    return render(
        request,
        "registry_secrets/secret_detail.html",
        {
            "secret": secret,
            "provider": _provider_info(secret.provider),
            "hosts": _display_hosts(secret),
            "services_using": services_using,
            "switch_rows": _switch_rows(secret, services_using, request),
            "can_manage": request.membership.can_manage,
            "host_health": list(secret.host_health.all()),
        },
        status=status,
    )


@require_GET
@organization_required
def secret_detail(request: OrgRequest, pk: UUID) -> HttpResponse:
    secret = get_scoped_or_404(
        Secret.objects.defer("document").select_related("created_by", "updated_by"),
        request.organization,
        pk=pk,
    )
    return _render_detail(request, secret)


def _undecryptable(request: OrgRequest, secret: Secret, error: DecryptionError) -> HttpResponse:
    return render(
        request,
        "registry_secrets/secret_undecryptable.html",
        {
            "secret": secret,
            "provider": _provider_info(secret.provider),
            "message": Undecryptable(error).message,
        },
        status=409,
    )


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
@organization_required
def secret_edit(request: OrgRequest, pk: UUID) -> HttpResponse:
    """Credential fields start empty; an empty field keeps the stored value."""
    secret = get_scoped_or_404(Secret.objects.all(), request.organization, pk=pk)
    try:
        provider = services.stored_provider(secret)
    except services.UnknownProvider as exc:
        # The secret is there; it is the edit that cannot be served.
        messages.error(request, str(exc))
        return _render_detail(request, secret, status=409)
    form_class = provider_form_class(provider, editing=True)
    try:
        initial = {**services.secret_edit_initial(secret), "expires_at": secret.expires_at}
    except DecryptionError as exc:
        return _undecryptable(request, secret, exc)
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, initial=initial)
        form.upload_dropped = upload_was_dropped(request)
        if form.is_valid():
            try:
                services.secret_update(
                    secret=secret,
                    data=form.provider_data(),
                    actor=request.user,
                    request=request,
                    expires_at=form.cleaned_data.get("expires_at"),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
                form.ask_to_retype_credentials()
            except DecryptionError as exc:
                return _undecryptable(request, secret, exc)
            else:
                messages.success(
                    request,
                    f"Secret “{secret.name}” updated; every service using it pulls with the "
                    "new credentials from its next deployment.",
                )
                return redirect("registry_secrets:detail", pk=secret.pk)
        else:
            form.ask_to_retype_credentials()
    else:
        form = form_class(initial=initial)
    context = _fields_context(
        form, provider, test_url=reverse("registry_secrets:edit_test", args=[secret.pk])
    )
    context.update(
        {
            "secret": secret,
            "services_using": _services_using(secret, request),
            # Until something new is typed, the preview shows what is stored.
            "empty_preview": ", ".join(_display_hosts(secret)),
        }
    )
    return render(request, "registry_secrets/secret_edit.html", context)


@require_http_methods(["GET", "POST"])
@organization_required
def secret_delete(request: OrgRequest, pk: UUID) -> HttpResponse:
    """Owners and admins; refused while a service references the secret."""
    secret = get_scoped_or_404(Secret.objects.defer("document"), request.organization, pk=pk)
    require_manager(request)
    services_using = _services_using(secret, request)
    form = ConfirmDeleteForm(
        request.POST or None, expected=secret.name, label="Type the secret's name to confirm"
    )
    status = 200
    if request.method == "POST":
        if services_using:
            status = 409
        elif form.is_valid():
            try:
                services.secret_delete(secret=secret, actor=request.user, request=request)
            except services.SecretInUse as exc:
                # A service started using it between the page and the POST.
                services_using = list(exc.services)
                status = 409
            else:
                messages.success(request, f"Secret “{form.cleaned_data['confirm_name']}” deleted.")
                return redirect(reverse("registry_secrets:list"))
    return render(
        request,
        "registry_secrets/secret_delete.html",
        {
            "secret": secret,
            "form": form,
            "services_using": services_using,
            "switch_rows": _switch_rows(secret, services_using, request) if services_using else [],
        },
        status=status,
    )


# --- "Test credentials": faces of the verification use cases ----------------------


@require_POST
@organization_required
def secret_test(request: OrgRequest, pk: UUID) -> HttpResponse:
    """Log in to each registry of a stored secret; one message per host.

    Every member may do it (it reveals nothing but whether the login works). A
    damaged document is a clear message, never a 500. Post/redirect/get, so a
    reload does not test again.
    """
    secret = get_scoped_or_404(
        Secret.objects.select_related("created_by", "updated_by"), request.organization, pk=pk
    )
    try:
        # A manual check is a check: health records it too.
        checks = health.health_test_credentials(
            secret=secret, actor=request.user, request=request, rate_limit=True
        )
    except RateLimited as exc:
        messages.error(request, exc.message)
        return _render_detail(request, secret, status=429)
    except Undecryptable as exc:
        messages.error(request, exc.message)
        return redirect("registry_secrets:detail", pk=secret.pk)
    if not checks:
        messages.info(request, "This secret names no registry to test.")
    for check in checks:
        level = messages.SUCCESS if check.result.success else messages.WARNING
        messages.add_message(request, level, check.summary)
    return redirect("registry_secrets:detail", pk=secret.pk)


def _form_errors(form: SecretForm, *, ignore: tuple[str, ...] = ()) -> dict[str, list[str]]:
    return {
        name: [error["message"] for error in errors]
        for name, errors in form.errors.get_json_data().items()
        if name not in ignore
    }


@sensitive_variables("data")
def _typed_input(
    form: SecretForm, request: OrgRequest, *, ignore: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The provider input of a bound form; InvalidInput with its field errors otherwise."""
    form.upload_dropped = upload_was_dropped(request)
    form.is_valid()
    errors = _form_errors(form, ignore=ignore)
    if errors:
        raise InvalidInput(errors)
    return form.provider_data()


@contextmanager
def _errors_on_form(form: SecretForm, *, ignore: tuple[str, ...] = ()) -> Iterator[None]:
    """Put the use case's field errors where the form shows them (e.g. on the upload)."""
    try:
        yield
    except InvalidInput as exc:
        form.add_service_errors(exc)
        raise InvalidInput(_form_errors(form, ignore=ignore)) from None


def _results_json(checks: list[verification.HostCheck]) -> JsonResponse:
    return JsonResponse({"results": [check.as_json() for check in checks]})


@sensitive_post_parameters()
@require_POST
@organization_required
@json_endpoint
def secret_test_input(request: OrgRequest, slug: str) -> JsonResponse:
    """The create form's "Test credentials": check what is typed, before saving.

    Multipart in (the form's own fields), JSON out: {"results": [{host, success,
    code, reason}]} or 400 {"errors": {field: [...]}}. The name is not needed to
    test, so its errors are left to the save. No secret exists yet: nothing to audit.
    """
    provider = _provider_for_slug(slug)
    form = provider_form_class(provider)(request.POST, request.FILES)
    data = _typed_input(form, request, ignore=("name",))
    with _errors_on_form(form, ignore=("name",)):
        checks = verification.verify_new_input(
            provider=provider.key, data=data, actor=request.user, rate_limit=True
        )
    return _results_json(checks)


@sensitive_post_parameters()
@require_POST
@organization_required
@json_endpoint
def secret_edit_test(request: OrgRequest, pk: UUID) -> JsonResponse:
    """The edit form's "Test credentials": the typed input merged over what is stored.

    Judged by the same service as saving, so a registry change with the credentials
    left empty is the same field error, and nothing is sent anywhere.
    """
    secret = get_scoped_or_404(Secret.objects.all(), request.organization, pk=pk)
    provider = services.stored_provider(secret)  # UnknownProvider: 409 from json_endpoint
    form = provider_form_class(provider, editing=True)(request.POST, request.FILES)
    data = _typed_input(form, request)
    with _errors_on_form(form):
        checks = verification.verify_edit_input(
            secret=secret, data=data, actor=request.user, request=request, rate_limit=True
        )
    return _results_json(checks)
