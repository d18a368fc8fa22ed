"""App and service pages, plus the small JSON endpoints the service form's script uses.

Views are thin: forms check input shape, deploy.services applies the rules
(names, image parsing, secret-serves-image) and audits, deploy.selectors reads.
Every object is fetched through the scoping helper, so another organization's
app, service or secret is a 404.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import ProtectedError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from regsecrets.accounts.context import OrgRequest
from regsecrets.accounts.scoping import get_scoped_or_404, organization_required, require_manager
from regsecrets.core.forms import ConfirmDeleteForm
from regsecrets.deploy import selectors, services
from regsecrets.deploy.forms import NEW_SECRET, AppServiceForm, ServiceForm, secret_label
from regsecrets.deploy.models import App, Service
from regsecrets.registries import (
    MAX_IMAGE_LENGTH,
    InvalidImageReference,
    Provider,
    display_host,
    parse_image_reference,
    provider_by_slug,
    provider_for_host,
)
from regsecrets.registries.outcomes import outcome_for
from regsecrets.registry_secrets import verification
from regsecrets.registry_secrets.endpoints import json_endpoint
from regsecrets.registry_secrets.forms import (
    create_secret_from_form,
    provider_cards,
    provider_form_class,
)
from regsecrets.registry_secrets.models import Secret

# The inline secret form lives on the same page as the service form: its own ids
# keep the two forms' "name" inputs apart.
INLINE_AUTO_ID = "secret_%s"


# --- Apps --------------------------------------------------------------------


@require_GET
@organization_required
def app_list(request: OrgRequest) -> HttpResponse:
    apps = selectors.app_list(organization=request.organization)
    return render(request, "deploy/app_list.html", {"apps": apps})


@require_http_methods(["GET", "POST"])
@organization_required
def app_create(request: OrgRequest) -> HttpResponse:
    """A new app with its first service, on one page (as Koyeb does): app name,
    service name, image, registry secret (with the inline secret panel), Verify image."""
    return _service_form_page(
        request, app=None, service=None, form_url=reverse("deploy:app_create")
    )


@require_GET
@organization_required
def app_detail(request: OrgRequest, app_id: UUID) -> HttpResponse:
    app = selectors.app_get(organization=request.organization, app_id=app_id)
    rows = [
        {"service": s, "pull_key": selectors.pull_key_for(s.registry_secret, s.image)}
        for s in selectors.app_services(app=app)
    ]
    return render(request, "deploy/app_detail.html", {"app": app, "rows": rows})


@require_http_methods(["GET", "POST"])
@organization_required
def app_delete(request: OrgRequest, app_id: UUID) -> HttpResponse:
    app = selectors.app_get(organization=request.organization, app_id=app_id)
    require_manager(request)
    form = ConfirmDeleteForm(request.POST or None, expected=app.name)
    if request.method == "POST" and form.is_valid():
        services.app_delete(app=app, actor=request.user, request=request)
        messages.success(request, f"App “{app.name}” and its services deleted.")
        return redirect("deploy:app_list")
    return render(
        request,
        "deploy/app_confirm_delete.html",
        {"app": app, "form": form, "service_count": app.services.count()},
    )


# --- Services ----------------------------------------------------------------


def _new_secret_redirect(request: OrgRequest, form_url: str) -> HttpResponse:
    """Without JavaScript, "Create a new registry secret…" goes to the secret pages
    and comes back here; what was typed travels in the return URL (no credentials)."""
    keep = {
        k: request.POST.get(k, "").strip()[:MAX_IMAGE_LENGTH] for k in ("app_name", "name", "image")
    }
    back = (
        f"{form_url}?{urlencode({k: v for k, v in keep.items() if v})}"
        if any(keep.values())
        else form_url
    )
    return redirect(f"{reverse('registry_secrets:new')}?{urlencode({'next': back})}")


def _initial_from_query(request: OrgRequest) -> dict[str, Any]:
    """Prefill from the return trip of the secret pages (?name=&image=&secret=<id>).

    The secret id only preselects an option of the scoped select; an id that is
    not one of the organization's secrets selects nothing.
    """
    initial: dict[str, Any] = {}
    for key in ("app_name", "name", "image"):
        if request.GET.get(key):
            initial[key] = request.GET[key][:MAX_IMAGE_LENGTH]
    secret = request.GET.get("secret", "")
    with contextlib.suppress(ValueError):
        initial["registry_secret"] = str(UUID(secret))
    return initial


def _suggestions(form: ServiceForm, request: OrgRequest, service: Service | None) -> list[Any]:
    """Secrets that would serve a public-looking image, when the user has not yet
    said the image is public. Editing without touching the image or secret asks nothing."""
    data = form.cleaned_data
    if data.get("registry_secret") is not None or data.get("public_image"):
        return []
    if (
        service is not None
        and service.image == data["image"]
        and service.registry_secret_id is None
    ):
        return []
    return selectors.secrets_matching_image(organization=request.organization, image=data["image"])


def _judge(
    form: ServiceForm, request: OrgRequest, app: App | None, service: Service | None
) -> None:
    """One round of errors: when the form refuses something, the services still judge
    the rest (nothing is saved), and their errors land on the fields not yet flagged."""
    data = form.cleaned_data
    fields = {
        "name": data.get("name"),
        "image": data.get("image", form.data.get("image", "")),
        "registry_secret": data.get("registry_secret"),
    }
    try:
        if app is None:
            services.app_with_service_validate(
                organization=request.organization, app_name=data.get("app_name"), **fields
            )
        else:
            services.service_validate(app=app, service=service, **fields)
    except ValidationError as exc:
        for field, messages_ in exc.message_dict.items():
            if field in form.fields and field not in form.errors:
                form.add_error(field, messages_)


def _mismatch_matches(form: ServiceForm, request: OrgRequest) -> list[Any]:
    """When the chosen secret does not serve the image: the secrets that do."""
    image = form.cleaned_data.get("image") if hasattr(form, "cleaned_data") else None
    if "registry_secret" not in form.errors or not image:
        return []
    chosen = form.cleaned_data.get("registry_secret")
    return [
        m
        for m in selectors.secrets_matching_image(organization=request.organization, image=image)
        if chosen is None or m.secret.pk != chosen.pk
    ]


def _wants_search(post: Any) -> bool:
    """A POST that asks for other secrets in the select rather than a save: the
    "Find" button, or Enter in the search box (without JavaScript Enter submits the
    form; a search text the select does not reflect yet means "search")."""
    query = post.get("secret_search", "").strip()
    return "find_secret" in post or query != post.get("secret_searched", "").strip()


def _service_form_page(
    request: OrgRequest, *, app: App | None, service: Service | None, form_url: str
) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    query = source.get("secret_search", "").strip()[:64]
    initial: dict[str, Any] = {}
    if service is not None:
        initial = {
            "name": service.name,
            "image": service.image,
            "registry_secret": service.registry_secret_id,
        }
    if request.method == "GET":
        initial.update(_initial_from_query(request))
    data = None
    if request.method == "POST":
        if request.POST.get("registry_secret") == NEW_SECRET:
            return _new_secret_redirect(request, form_url)
        data = request.POST.copy()
        use_secret = data.get("use_secret")
        if use_secret:
            # "Use this secret" under a suggestion: a submit button, so it works without JS.
            data["registry_secret"] = use_secret
        elif _wants_search(request.POST):
            # Show the form again, as typed, with the search's secrets in the select.
            initial.update(
                {k: data.get(k, "") for k in ("app_name", "name", "image", "registry_secret")}
            )
            data = None
    selected = (data.get("registry_secret") if data is not None else None) or initial.get(
        "registry_secret"
    )
    form_class = AppServiceForm if app is None else ServiceForm
    form = form_class(
        data,
        initial=initial,
        organization=request.organization,
        secret_options=selectors.secret_options(
            organization=request.organization, query=query, selected=selected
        ),
    )
    suggestions: list[Any] = []
    if data is not None and not form.is_valid():
        _judge(form, request, app, service)
    if data is not None and form.is_valid():
        suggestions = _suggestions(form, request, service)
        if not suggestions:
            fields = {
                "name": form.cleaned_data["name"],
                "image": form.cleaned_data["image"],
                "registry_secret": form.cleaned_data["registry_secret"],
                "actor": request.user,
                "request": request,
            }
            try:
                if app is None:
                    saved = services.app_create_with_service(
                        organization=request.organization,
                        app_name=form.cleaned_data["app_name"],
                        **fields,
                    )
                elif service is None:
                    saved = services.service_create(app=app, **fields)
                else:
                    saved = services.service_update(service=service, **fields)
            except ValidationError as exc:
                form.add_error(None, exc)
            except ObjectDoesNotExist:
                # The app or service was deleted while this form was on its way: the
                # same answer as a request that arrives after the deletion.
                raise Http404("No such app or service.")
            else:
                if app is None:
                    messages.success(
                        request,
                        f"App “{saved.app.name}” created with its service “{saved.name}”.",
                    )
                    return redirect("deploy:app_detail", app_id=saved.app_id)
                verb = "created" if service is None else "saved"
                messages.success(request, f"Service “{saved.name}” {verb}.")
                return redirect("deploy:service_detail", service_id=saved.pk)
    return render(
        request,
        "deploy/service_form.html",
        {
            "app": app,
            "service": service,
            "form": form,
            "form_url": form_url,
            "suggestions": suggestions,
            "mismatch_matches": _mismatch_matches(form, request),
            "secret_search": query,
            "secret_search_limit": selectors.SEARCH_LIMIT,
            "providers": provider_cards("deploy:inline_secret_fields"),
        },
    )


@require_http_methods(["GET", "POST"])
@organization_required
def service_create(request: OrgRequest, app_id: UUID) -> HttpResponse:
    app = selectors.app_get(organization=request.organization, app_id=app_id)
    url = reverse("deploy:service_create", kwargs={"app_id": app.pk})
    return _service_form_page(request, app=app, service=None, form_url=url)


@require_http_methods(["GET", "POST"])
@organization_required
def service_edit(request: OrgRequest, service_id: UUID) -> HttpResponse:
    service = selectors.service_get(organization=request.organization, service_id=service_id)
    url = reverse("deploy:service_edit", kwargs={"service_id": service.pk})
    return _service_form_page(request, app=service.app, service=service, form_url=url)


@require_GET
@organization_required
def service_detail(request: OrgRequest, service_id: UUID) -> HttpResponse:
    service = selectors.service_get(organization=request.organization, service_id=service_id)
    pull_key = selectors.pull_key_for(service.registry_secret, service.image)
    try:
        registry = parse_image_reference(service.image).domain
    except InvalidImageReference:
        registry = ""
    return render(
        request,
        "deploy/service_detail.html",
        {
            "service": service,
            "app": service.app,
            "registry": registry,
            "pull_key": pull_key,
            "pull_host": display_host(pull_key) if pull_key else "",
        },
    )


@require_http_methods(["GET", "POST"])
@organization_required
def service_delete(request: OrgRequest, service_id: UUID) -> HttpResponse:
    service = selectors.service_get(organization=request.organization, service_id=service_id)
    require_manager(request)
    if request.method == "POST":
        app_id = service.app_id
        try:
            services.service_delete(service=service, actor=request.user, request=request)
        except ProtectedError:  # pragma: no cover - nothing protects a service today
            messages.error(request, "This service cannot be deleted.")
            return redirect("deploy:service_detail", service_id=service.pk)
        messages.success(request, f"Service “{service.name}” deleted.")
        return redirect("deploy:app_detail", app_id=app_id)
    return render(
        request, "deploy/service_confirm_delete.html", {"service": service, "app": service.app}
    )


@require_POST
@organization_required
def service_switch_secret(request: OrgRequest, service_id: UUID) -> HttpResponse:
    """The secret pages' one-click switch: point the service at another of the
    organization's secrets, keeping its name and image, then go back where the
    click came from (the secret's page, or its refused deletion)."""
    service = selectors.service_get(organization=request.organization, service_id=service_id)
    secret = get_scoped_or_404(
        Secret.objects.defer("document"), request.organization, pk=_uuid_or_404(request)
    )
    back = _safe_back(request) or reverse("deploy:service_detail", args=[service.pk])
    try:
        services.service_switch_secret(
            service=service, registry_secret=secret, actor=request.user, request=request
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except ObjectDoesNotExist:
        raise Http404("No such service.")
    else:
        messages.success(request, f"{service} now pulls with “{secret.name}”.")
    return redirect(back)


def _uuid_or_404(request: OrgRequest) -> UUID:
    try:
        return UUID(request.POST.get("registry_secret", ""))
    except ValueError:
        raise Http404("No such secret.")


def _safe_back(request: OrgRequest) -> str:
    """The same-site path to return to (``next``), or ""."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


# --- JSON and fragments for static/js/service-form.js -------------------------


def _provider(slug: str) -> Provider:
    try:
        return provider_by_slug(slug)
    except KeyError:
        raise Http404("No such provider.")


@require_GET
@organization_required
def inline_secret_fields(request: OrgRequest, slug: str) -> HttpResponse:
    """The provider's secret form fields (the secret pages' own form class), as HTML."""
    provider = _provider(slug)
    form = provider_form_class(provider)(auto_id=INLINE_AUTO_ID)
    return render(
        request,
        "deploy/_inline_secret_fields.html",
        {
            "form": form,
            "provider": provider,
            "preview_fields": ",".join(form.preview_fields()),
            "preview_host": display_host(host) if (host := provider.preview_host({})) else "",
            "test_url": reverse("registry_secrets:test_input", args=[provider.slug]),
        },
    )


def _errors_json(form: Any) -> dict[str, list[str]]:
    return {
        field: [e["message"] for e in errs] for field, errs in form.errors.get_json_data().items()
    }


@sensitive_post_parameters()
@require_POST
@organization_required
def inline_secret_create(request: OrgRequest, slug: str) -> JsonResponse:
    """Create a secret from the service form's inline panel; JSON in, JSON out.

    201 with {id, name, label} for the select, or 400 with {errors: {field: [..]}}.
    Credentials are never echoed back.
    """
    provider = _provider(slug)
    form = provider_form_class(provider)(request.POST, request.FILES, auto_id=INLINE_AUTO_ID)
    # Valid or not, the services judge it: every field's error in one round.
    secret = create_secret_from_form(
        form, organization=request.organization, actor=request.user, request=request
    )
    if secret is not None:
        return JsonResponse(
            {"id": str(secret.pk), "name": secret.name, "label": secret_label(secret)},
            status=201,
        )
    return JsonResponse({"errors": _errors_json(form)}, status=400)


@require_GET
@organization_required
def secret_search(request: OrgRequest) -> JsonResponse:
    """The service form's search-as-you-type: up to SEARCH_LIMIT secrets whose name
    contains ``q`` (metadata only)."""
    query = request.GET.get("q", "").strip()[:64]
    found = selectors.secret_search(organization=request.organization, query=query)
    return JsonResponse(
        {
            "limit": selectors.SEARCH_LIMIT,
            "secrets": [{"id": str(s.pk), "label": secret_label(s)} for s in found],
        }
    )


@require_GET
@organization_required
def secret_suggestion(request: OrgRequest) -> JsonResponse:
    """Which of the organization's secrets serve the typed image (metadata only)."""
    image = request.GET.get("image", "").strip()[:MAX_IMAGE_LENGTH]
    try:
        registry = parse_image_reference(image).domain
    except InvalidImageReference as exc:
        return JsonResponse({"registry": None, "matches": [], "error": str(exc)})
    matches = selectors.secrets_matching_image(organization=request.organization, image=image)
    return JsonResponse(
        {
            "registry": registry,
            # The provider the inline panel offers first for this registry.
            "provider": provider_for_host(registry).slug,
            "matches": [
                {
                    "id": str(m.secret.pk),
                    "name": m.secret.name,
                    "label": secret_label(m.secret),
                    "registry": m.registry,
                }
                for m in matches
            ],
        }
    )


@require_POST
@organization_required
@json_endpoint
def verify_image(request: OrgRequest) -> JsonResponse:
    """Can the typed image be pulled with the chosen secret? A warning, never a gate.

    POST (image, secret id or empty) rather than GET: it contacts a registry,
    decrypts a secret and writes an audit event, so it wants the CSRF check and
    stays out of access logs. Answers {success, code, reason, registry}; 400 with
    field errors, 404 for a secret outside the organization, 409 for one that
    cannot be decrypted, 429 beyond the per-user budget. Saving the service never
    depends on it: registries go down, and images are pushed after services are made.
    """
    secret_id = request.POST.get("secret", "").strip()
    result = verification.verify_image(
        organization=request.organization,
        image=request.POST.get("image", ""),
        # The select's "Create a new registry secret…" option is no secret yet.
        secret=None if secret_id == NEW_SECRET else secret_id,
        actor=request.user,
        request=request,
        rate_limit=True,
    )
    return JsonResponse(
        {
            "success": result.success,
            "code": result.code,
            "reason": result.reason,
            "registry": result.registry,
            # What to do about a failure; the code stays a secondary detail.
            "next_step": "" if result.success else outcome_for(result.code).next_step,
        }
    )
