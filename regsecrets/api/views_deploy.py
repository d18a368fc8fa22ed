"""/v1/apps and /v1/services: just enough of Koyeb's to pick a registry secret."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import JsonResponse

from regsecrets.accounts.context import OrgRequest
from regsecrets.accounts.scoping import get_scoped_or_404, scoped
from regsecrets.api import errors, parsing
from regsecrets.api.auth import endpoint, require_manager
from regsecrets.api.paging import list_reply
from regsecrets.api.representations import app_json, service_json
from regsecrets.deploy import services
from regsecrets.deploy.models import App, Service
from regsecrets.registry_secrets.models import Secret

# --- apps -----------------------------------------------------------------------------


def app_list(request: OrgRequest) -> JsonResponse:
    apps = scoped(App.objects.all(), request.organization)
    return list_reply(
        request, apps, key="apps", serialize=app_json, order_by=("name", "pk"), has_next=True
    )


def app_create(request: OrgRequest) -> JsonResponse:
    body = parsing.read_json(request)
    name = parsing.text(body.get("name"), "name", required=True)
    try:
        app = services.app_create(
            organization=request.organization,
            name=name,
            actor=request.user,
            request=request,
        )
    except ValidationError as exc:
        fields = errors.fields_from(exc.message_dict, {})
        if scoped(App.objects.all(), request.organization).filter(name=name).exists():
            raise errors.ApiError(
                409, errors.ALREADY_EXISTS, "An app with this name already exists.", fields
            )
        raise errors.validation_error(fields)
    return JsonResponse({"app": app_json(app)})


def _app(request: OrgRequest, app_id: str) -> App:
    return get_scoped_or_404(App.objects.all(), request.organization, pk=app_id)


def app_get(request: OrgRequest, app_id: str) -> JsonResponse:
    return JsonResponse({"app": app_json(_app(request, app_id))})


def app_delete(request: OrgRequest, app_id: str) -> JsonResponse:
    app = _app(request, app_id)
    require_manager(request)  # as on the web: owners and admins delete
    services.app_delete(app=app, actor=request.user, request=request)
    return JsonResponse({})


# --- services -------------------------------------------------------------------------

_SERVICE_FIELDS = {
    "image": "definition.docker.image",
    "registry_secret": "definition.docker.image_registry_secret",
}


def service_list(request: OrgRequest) -> JsonResponse:
    app_ids = parsing.query_uuids(request, "app_id")
    rows = scoped(Service.objects.select_related("registry_secret"), request.organization)
    if app_ids:
        rows = rows.filter(app_id__in=app_ids)
    return list_reply(
        request,
        rows,
        key="services",
        serialize=service_json,
        order_by=("app__name", "name", "pk"),
        has_next=True,
    )


def _definition(body: dict[str, Any]) -> tuple[str | None, str, str, str | None]:
    """(service name, where the name came from, image, secret name) from a CreateService."""
    definition = parsing.obj(body.get("definition"), "definition")
    if definition is None:
        raise errors.field_error("definition", "This field is required.")
    for source in ("git", "database", "archive"):
        if definition.get(source) is not None:
            raise errors.field_error(
                f"definition.{source}", "Only Docker image sources are supported."
            )
    docker = parsing.obj(definition.get("docker"), "definition.docker")
    if docker is None:
        raise errors.field_error("definition.docker.image", "This field is required.")
    image = parsing.text(docker.get("image"), "definition.docker.image", required=True)
    secret_name = parsing.text(
        docker.get("image_registry_secret"), "definition.docker.image_registry_secret"
    )
    name = parsing.text(body.get("name"), "name")
    name_path = "name"
    if not name:
        name = parsing.text(definition.get("name"), "definition.name")
        name_path = "definition.name"
    return name, name_path, image or "", secret_name or None


def service_create(request: OrgRequest) -> JsonResponse:
    if request.GET.get("dry_run", "").lower() in ("1", "true"):
        raise errors.field_error("dry_run", "Dry runs are not supported.")
    body = parsing.read_json(request)
    app_id = parsing.text(body.get("app_id"), "app_id", required=True)
    name, name_path, image, secret_name = _definition(body)
    organization = request.organization
    app_pk = parsing.parse_uuid(app_id or "")
    app = scoped(App.objects.all(), organization).filter(pk=app_pk).first() if app_pk else None
    if app is None:
        raise errors.field_error("app_id", "No such app in this organization.")
    secret = None
    if secret_name:
        secret = (
            scoped(Secret.objects.defer("document"), organization)
            .filter(name=secret_name)
            .first()
        )
        if secret is None:
            raise errors.field_error(
                "definition.docker.image_registry_secret",
                "No registry secret with this name in this organization.",
            )
    try:
        service = services.service_create(
            app=app,
            name=name or "",
            image=image,
            registry_secret=secret,
            actor=request.user,
            request=request,
        )
    except App.DoesNotExist:  # deleted since the lookup above: answer as if it came later
        raise errors.field_error("app_id", "No such app in this organization.")
    except ValidationError as exc:
        fields = errors.fields_from(exc.message_dict, {**_SERVICE_FIELDS, "name": name_path})
        if (
            set(exc.message_dict) == {"name"}
            and Service.objects.filter(app=app, name=name).exists()
        ):
            raise errors.ApiError(
                409,
                errors.ALREADY_EXISTS,
                "A service with this name already exists in this app.",
                fields,
            )
        raise errors.validation_error(fields)
    return JsonResponse(
        {"service": service_json(service, secret_name=secret.name if secret else "")}
    )


def _service(request: OrgRequest, service_id: str) -> Service:
    rows = Service.objects.select_related("registry_secret", "app", "organization")
    return get_scoped_or_404(rows, request.organization, pk=service_id)


def service_get(request: OrgRequest, service_id: str) -> JsonResponse:
    return JsonResponse({"service": service_json(_service(request, service_id))})


def service_delete(request: OrgRequest, service_id: str) -> JsonResponse:
    service = _service(request, service_id)
    require_manager(request)  # as on the web: owners and admins delete
    services.service_delete(service=service, actor=request.user, request=request)
    return JsonResponse({})


apps_collection = endpoint(GET=app_list, POST=app_create)
app_detail = endpoint(GET=app_get, DELETE=app_delete)
services_collection = endpoint(GET=service_list, POST=service_create)
service_detail = endpoint(GET=service_get, DELETE=service_delete)
