"""/v1/apps, /v1/services and /v1/deployments: Koyeb's, for services pulling with a secret.

Parsing is here (``definitions`` reads service bodies); the rules, the locks, the
audit and the deployments are ``deploy.services``'; what statuses mean is
``deploy.status``'.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import QuerySet
from django.http import JsonResponse

from regsecrets.accounts.context import OrgRequest
from regsecrets.accounts.scoping import get_scoped_or_404, scoped
from regsecrets.api import definitions, errors, parsing
from regsecrets.api.auth import endpoint, require_manager
from regsecrets.api.paging import list_reply
from regsecrets.api.representations import SERVICE_TYPE, app_json, deployment_json, service_json
from regsecrets.deploy import selectors, services, status
from regsecrets.deploy.models import App, Service

# Koyeb's ServiceType values: a filter on another type than WEB matches nothing.
SERVICE_TYPES = ("INVALID_TYPE", "WEB", "WORKER", "DATABASE", "SANDBOX")

# --- apps -----------------------------------------------------------------------------


def _apps(request: OrgRequest) -> QuerySet[App]:
    return selectors.apps_with_status(organization=request.organization)


def app_list(request: OrgRequest) -> JsonResponse:
    rows = _apps(request)
    return list_reply(
        request, rows, key="apps", serialize=app_json, order_by=("name", "pk"), has_next=True
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
    return JsonResponse({"app": app_json(_apps(request).get(pk=app.pk))})


def _app(request: OrgRequest, app_id: str) -> App:
    return get_scoped_or_404(_apps(request), request.organization, pk=app_id)


def app_get(request: OrgRequest, app_id: str) -> JsonResponse:
    return JsonResponse({"app": app_json(_app(request, app_id))})


def app_delete(request: OrgRequest, app_id: str) -> JsonResponse:
    app = get_scoped_or_404(App.objects.all(), request.organization, pk=app_id)
    require_manager(request)  # as on the web: owners and admins delete
    services.app_delete(app=app, actor=request.user, request=request)
    return JsonResponse({})


# --- services -------------------------------------------------------------------------

_SERVICE_FIELDS = {
    "image": definitions.IMAGE,
    "registry_secret": definitions.SECRET,
}
NO_SUCH_SECRET = "No registry secret with this name in this organization."


def service_list(request: OrgRequest) -> JsonResponse:
    app_ids = parsing.query_uuids(request, "app_id")
    types = parsing.query_choices(request, "types", SERVICE_TYPES)
    wanted = parsing.query_choices(request, "statuses", status.SERVICE_STATUSES)
    regions = parsing.query_list(request, "regions")
    rows = selectors.services_with_status(organization=request.organization)
    if app_ids:
        rows = rows.filter(app_id__in=app_ids)
    if (types and SERVICE_TYPE not in types) or regions:
        # Every service here is a web service, and none runs in a region.
        rows = rows.none()
    if wanted:
        rows = rows.filter(status.service_status_q(wanted))
    return list_reply(
        request,
        rows,
        key="services",
        serialize=service_json,
        order_by=("app__name", "name", "pk"),
        has_next=True,
    )


def _secret(request: OrgRequest, name: Any) -> Any:
    """The secret a definition names: KEEP, None for "" (a public image), or the secret."""
    if name is services.KEEP:
        return services.KEEP
    if not name:
        return None
    secret = selectors.registry_secret_named(organization=request.organization, name=name)
    if secret is None:
        raise errors.field_error(definitions.SECRET, NO_SUCH_SECRET)
    return secret


def _refused(exc: ValidationError, *, app_id: Any, name: Any, name_path: str) -> errors.ApiError:
    fields = errors.fields_from(exc.message_dict, {**_SERVICE_FIELDS, "name": name_path})
    taken = set(exc.message_dict) == {"name"} and isinstance(name, str)
    if taken and Service.objects.filter(app_id=app_id, name=name).exists():
        return errors.ApiError(
            409,
            errors.ALREADY_EXISTS,
            "A service with this name already exists in this app.",
            fields,
        )
    return errors.validation_error(fields)


def service_create(request: OrgRequest) -> JsonResponse:
    definitions.refuse_dry_run(request)
    body = parsing.read_json(request)
    app_id = parsing.text(body.get("app_id"), "app_id", required=True)
    definition, name_path = definitions.create_definition(body)
    organization = request.organization
    app_pk = parsing.parse_uuid(app_id or "")
    app = scoped(App.objects.all(), organization).filter(pk=app_pk).first() if app_pk else None
    if app is None:
        raise errors.field_error("app_id", "No such app in this organization.")
    secret = _secret(request, definition.secret_name)
    try:
        service = services.service_create(
            app=app,
            name=definition.name,
            image=definition.image,
            registry_secret=secret,
            actor=request.user,
            request=request,
        )
    except App.DoesNotExist:  # deleted since the lookup above: answer as if it came later
        raise errors.field_error("app_id", "No such app in this organization.")
    except ValidationError as exc:
        raise _refused(exc, app_id=app.pk, name=definition.name, name_path=name_path)
    return JsonResponse({"service": service_json(service)})


def _service(request: OrgRequest, service_id: str) -> Service:
    rows = selectors.services_with_status(organization=request.organization)
    return get_scoped_or_404(rows, request.organization, pk=service_id)


def service_get(request: OrgRequest, service_id: str) -> JsonResponse:
    return JsonResponse({"service": service_json(_service(request, service_id))})


def _service_update(request: OrgRequest, service_id: str, *, partial: bool) -> JsonResponse:
    service = _service(request, service_id)
    definitions.refuse_dry_run(request)
    mask = parsing.update_mask(request)
    change = definitions.update_definition(parsing.read_json(request), mask, partial=partial)
    secret = _secret(request, change.secret_name)
    try:
        service = services.service_update(
            service=service,
            name=change.name,
            image=change.image,
            registry_secret=secret,
            actor=request.user,
            request=request,
        )
    except ObjectDoesNotExist:  # deleted meanwhile: as if this request came later
        raise errors.not_found()
    except ValidationError as exc:
        raise _refused(exc, app_id=service.app_id, name=change.name, name_path=definitions.NAME)
    return JsonResponse({"service": service_json(service)})


def service_put(request: OrgRequest, service_id: str) -> JsonResponse:
    return _service_update(request, service_id, partial=False)


def service_patch(request: OrgRequest, service_id: str) -> JsonResponse:
    return _service_update(request, service_id, partial=True)


def service_delete(request: OrgRequest, service_id: str) -> JsonResponse:
    service = _service(request, service_id)
    require_manager(request)  # as on the web: owners and admins delete
    services.service_delete(service=service, actor=request.user, request=request)
    return JsonResponse({})


# --- deployments ----------------------------------------------------------------------


def deployment_list(request: OrgRequest) -> JsonResponse:
    app_ids = parsing.query_uuids(request, "app_id")
    service_ids = parsing.query_uuids(request, "service_id")
    wanted = parsing.query_choices(request, "statuses", status.DEPLOYMENT_STATUSES)
    rows = selectors.deployments_with_status(organization=request.organization)
    if app_ids:
        rows = rows.filter(app_id__in=app_ids)
    if service_ids:
        rows = rows.filter(service_id__in=service_ids)
    if wanted:
        rows = rows.filter(status.deployment_status_q(wanted))
    return list_reply(
        request,
        rows,
        key="deployments",
        serialize=deployment_json,
        order_by=("-created_at", "-version", "pk"),
        has_next=True,
    )


def deployment_get(request: OrgRequest, deployment_id: str) -> JsonResponse:
    rows = selectors.deployments_with_status(organization=request.organization)
    deployment = get_scoped_or_404(rows, request.organization, pk=deployment_id)
    return JsonResponse({"deployment": deployment_json(deployment)})


apps_collection = endpoint(GET=app_list, POST=app_create)
app_detail = endpoint(GET=app_get, DELETE=app_delete)
services_collection = endpoint(GET=service_list, POST=service_create)
service_detail = endpoint(
    GET=service_get, PUT=service_put, PATCH=service_patch, DELETE=service_delete
)
deployments_collection = endpoint(GET=deployment_list)
deployment_detail = endpoint(GET=deployment_get)
