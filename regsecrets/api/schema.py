"""The OpenAPI 3.0 document of /v1, built from the code it describes.

Nothing here is copied by hand from elsewhere:

* the paths and their methods come from the URL map (every ``/v1`` route and the
  methods its ``endpoint`` serves); a route or method without an operation below,
  or an operation without its route, stops the build (``SchemaDrift``), so the
  test suite fails before the document can drift;
* the registry objects come from the provider catalogue (each provider's fields,
  write-only when secret) and from what ``representations`` shows of them;
* the enums come from the modules that produce them (statuses from
  ``deploy.status``, verification codes from ``views_helper``, error codes from
  ``errors``);
* the status codes an operation documents follow from what it does (a body may
  be too large, an id may not exist, a name may be taken, …).

Schemathesis then checks the running app against this document
(``tests/api/test_schemathesis.py``): no 500, only documented status codes,
replies that match their schemas, which are closed (``additionalProperties:
false``) so that an undocumented field fails too.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from regsecrets.api import errors
from regsecrets.api.representations import REGISTRY, SERVICE_TYPE, shown_fields
from regsecrets.api.views_deploy import SERVICE_TYPES
from regsecrets.api.views_helper import KOYEB_CODES
from regsecrets.api.views_secrets import SECRET_TYPES
from regsecrets.deploy import status
from regsecrets.registries import PROVIDERS, Provider
from regsecrets.registry_secrets.models import HealthStatus

Schema = dict[str, Any]


class SchemaDrift(Exception):
    """The URL map and the operations below disagree."""


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def string(description: str = "", **extra: Any) -> Schema:
    schema: Schema = {"type": "string", **extra}
    if description:
        schema["description"] = description
    return schema


def nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def closed(properties: dict[str, Schema], required: Sequence[str] = (), **extra: Any) -> Schema:
    """An object that has these properties and no others (replies)."""
    schema: Schema = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    return {**schema, **extra}


def request_object(
    properties: dict[str, Schema], required: Sequence[str] = (), **extra: Any
) -> Schema:
    """A request body object: Koyeb's other fields are accepted (and ignored), and a
    null field is a field left out (as in protobuf's JSON, which Koyeb's API speaks)."""
    properties = {name: {**prop, "nullable": True} for name, prop in properties.items()}
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return {**schema, **extra}


TIMESTAMP = string(format="date-time")
UUID = string(format="uuid")
MESSAGES = array(string())


# --- parameters -------------------------------------------------------------------


def query(name: str, schema: Schema, description: str) -> Schema:
    param: Schema = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }
    if schema.get("type") == "array":
        param.update(style="form", explode=True)
    return param


def enum_list(values: Sequence[str]) -> Schema:
    return array(string(enum=list(values)))


NUMBER = string(pattern="^[0-9]*$")
LIMIT = query(
    "limit", NUMBER, "Page size, 0-100 (a string, as Koyeb's SDK sends it). Empty or absent: 10."
)
OFFSET = query("offset", NUMBER, "Rows to skip. Empty or absent: 0.")
NAME = query("name", string(), "Case-insensitive substring of the name.")


def ids(what: str) -> Schema:
    return query("ids", array(UUID), f"Repeatable {what} ids.")


PAGING = (LIMIT, OFFSET)
UPDATE_MASK = query("update_mask", string(), "Comma-separated paths to change (see docs/api.md).")
DRY_RUN = query(
    "dry_run", {"type": "boolean", "enum": [False]}, "Only false: dry runs are not supported."
)


# --- operations -------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    operation_id: str
    tag: str
    summary: str
    reply: str  # a component schema's name
    body: str | None = None  # a component schema's name
    parameters: tuple[Schema, ...] = ()
    # What can go wrong beyond every operation's 400, 401, 429 and 503.
    managers_only: bool = False  # 403 for members
    conflicts: str = ""  # when 409 is answered, "" for never
    not_found: bool = False  # an unknown id elsewhere than in the path
    public: bool = False  # no token needed
    example: dict[str, Any] | None = None  # a request body that can succeed


# (route name, method) → operation. The route names are those of regsecrets/api/urls.py.
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("api_secrets", "GET"): Operation(
        "ListSecrets", "Secrets", "List secrets (metadata only)", "ListSecretsReply",
        parameters=(
            NAME, *PAGING,
            query(
                "types", enum_list(SECRET_TYPES), "Repeatable; without REGISTRY the list is empty."
            ),
            ids("secret"),
        ),
    ),
    ("api_secrets", "POST"): Operation(
        "CreateSecret", "Secrets", "Create a registry secret", "CreateSecretReply",
        body="CreateSecret", conflicts="the name is taken (already_exists)",
        example={
            "name": "ghcr-deploy",
            "type": "REGISTRY",
            "github_registry": {"username": "octocat", "password": "ghp_0123456789abcdef"},
        },
    ),
    ("api_secret", "GET"): Operation("GetSecret", "Secrets", "Get a secret", "GetSecretReply"),
    ("api_secret", "PUT"): Operation(
        "UpdateSecret", "Secrets", "Replace a secret's registry object", "UpdateSecretReply",
        body="UpdateSecret", parameters=(UPDATE_MASK,),
        conflicts="DECRYPTION_FAILED or UNKNOWN_PROVIDER",
        example={"github_registry": {"username": "hubot", "password": "ghp_fedcba9876543210"}},
    ),
    ("api_secret", "PATCH"): Operation(
        "UpdateSecret2", "Secrets", "Change some of a secret's fields", "UpdateSecretReply",
        body="UpdateSecret", parameters=(UPDATE_MASK,),
        conflicts="DECRYPTION_FAILED or UNKNOWN_PROVIDER",
        example={"github_registry": {"password": "ghp_fedcba9876543210"}},
    ),
    ("api_secret", "DELETE"): Operation(
        "DeleteSecret", "Secrets", "Delete a secret", "Empty",
        managers_only=True, conflicts="services use it (failed_precondition)",
    ),
    ("api_secret_reveal", "POST"): Operation(
        "RevealSecret", "Secrets", "Reveal a secret's stored fields (audited)", "RevealSecretReply",
        body="RevealSecret", managers_only=True, conflicts="DECRYPTION_FAILED",
        example={},
    ),
    ("api_apps", "GET"): Operation(
        "ListApps", "Apps", "List apps", "ListAppsReply", parameters=(NAME, *PAGING, ids("app")),
    ),
    ("api_apps", "POST"): Operation(
        "CreateApp", "Apps", "Create an app", "CreateAppReply",
        body="CreateApp", conflicts="the name is taken (already_exists)",
        example={"name": "shop"},
    ),
    ("api_app", "GET"): Operation("GetApp", "Apps", "Get an app", "GetAppReply"),
    ("api_app", "DELETE"): Operation(
        "DeleteApp", "Apps", "Delete an app and its services", "Empty", managers_only=True,
    ),
    ("api_services", "GET"): Operation(
        "ListServices", "Services", "List services", "ListServicesReply",
        parameters=(
            query("app_id", UUID, "Only this app's services."),
            NAME, *PAGING,
            query("types", enum_list(SERVICE_TYPES), "Repeatable; every service is WEB."),
            query(
                "statuses", enum_list(status.SERVICE_STATUSES),
                "Repeatable; see docs/api.md for what each status means here.",
            ),
            query("regions", array(string()), "Repeatable; no service runs in a region, so "
                  "any region matches none."),
            ids("service"),
        ),
    ),
    ("api_services", "POST"): Operation(
        "CreateService", "Services", "Create a service", "CreateServiceReply",
        body="CreateService", parameters=(DRY_RUN,),
        conflicts="the name is taken in the app (already_exists)",
        example={
            "app_id": "00000000-0000-0000-0000-000000000000",
            "definition": {
                "name": "worker",
                "docker": {"image": "ghcr.io/octocat/app:1", "image_registry_secret": "ghcr"},
            },
        },
    ),
    ("api_service", "GET"): Operation("GetService", "Services", "Get a service", "GetServiceReply"),
    ("api_service", "PUT"): Operation(
        "UpdateService", "Services", "Replace a service's definition", "UpdateServiceReply",
        body="UpdateService", parameters=(UPDATE_MASK, DRY_RUN),
        conflicts="the name is taken in the app (already_exists)",
        example={"definition": {"name": "front", "docker": {"image": "nginx:1.27"}}},
    ),
    ("api_service", "PATCH"): Operation(
        "UpdateService2", "Services", "Change part of a service's definition",
        "UpdateServiceReply", body="UpdateService", parameters=(UPDATE_MASK, DRY_RUN),
        conflicts="the name is taken in the app (already_exists)",
        example={
            "definition": {
                "docker": {"image": "ghcr.io/octocat/app:2", "image_registry_secret": "ghcr"}
            }
        },
    ),
    ("api_service", "DELETE"): Operation(
        "DeleteService", "Services", "Delete a service", "Empty", managers_only=True,
    ),
    ("api_deployments", "GET"): Operation(
        "ListDeployments", "Deployments", "List deployments (newest first)",
        "ListDeploymentsReply",
        parameters=(
            query("app_id", UUID, "Only this app's deployments."),
            query("service_id", UUID, "Only this service's deployments."),
            *PAGING,
            query(
                "statuses", enum_list(status.DEPLOYMENT_STATUSES),
                "Repeatable; see docs/api.md for what each status means here.",
            ),
            ids("deployment"),
        ),
    ),
    ("api_deployment", "GET"): Operation(
        "GetDeployment", "Deployments", "Get a deployment", "GetDeploymentReply",
    ),
    ("api_verify", "GET"): Operation(
        "VerifyDockerImage", "DockerHelper", "Can this image be pulled (with this secret)?",
        "VerifyDockerImageReply",
        parameters=(
            query("image", string(), "The image reference."),
            query("secret_id", string(), "A registry secret's id (optional)."),
        ),
        not_found=True, conflicts="DECRYPTION_FAILED",
    ),
    ("api_openapi", "GET"): Operation(
        "GetOpenAPI", "Meta", "This document", "OpenAPIDocument", public=True,
    ),
}  # fmt: skip


def _error(description: str) -> Schema:
    return {
        "description": description,
        "content": {"application/json": {"schema": ref("ErrorWithFields")}},
    }


def _responses(op: Operation, *, has_id: bool) -> Schema:
    responses: Schema = {
        "200": {"description": "OK", "content": {"application/json": {"schema": ref(op.reply)}}}
    }
    if op.public:
        return responses
    responses["400"] = _error("Validation error, malformed JSON or a bad query parameter")
    responses["401"] = _error("Missing, invalid or revoked token")
    if op.managers_only:
        responses["403"] = _error("Owners and admins only")
    if has_id or op.not_found:
        responses["404"] = _error("No such object in this organization")
    if op.conflicts:
        responses["409"] = _error(f"Conflict: {op.conflicts}")
    if op.body:
        responses["413"] = _error("Request body too large")
    responses["429"] = _error("Too many invalid tokens from this address, or verifications")
    responses["503"] = _error("The database cannot be reached; retry after Retry-After seconds")
    return responses


# --- paths from the URL map -------------------------------------------------------

_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _routes(
    resolvers: Sequence[URLPattern | URLResolver], prefix: str = ""
) -> Iterator[tuple[str, URLPattern]]:
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def api_routes() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Route name → (OpenAPI path, methods) for every named /v1 route but the fallback."""
    found = {}
    for route, pattern in _routes(get_resolver().url_patterns):
        if not route.startswith("v1/") or pattern.name in (None, "api_unknown_path"):
            continue
        methods = getattr(pattern.callback, "methods", ("GET",))
        found[str(pattern.name)] = ("/" + _CONVERTER.sub("{id}", route), tuple(methods))
    return found


def _paths() -> Schema:
    paths: Schema = {}
    documented = set(OPERATIONS)
    for name, (path, methods) in sorted(api_routes().items(), key=lambda item: item[1][0]):
        item = paths.setdefault(path, {})
        has_id = "{id}" in path
        if has_id:
            item["parameters"] = [
                {"name": "id", "in": "path", "required": True, "schema": string()}
            ]
        for method in methods:
            op = OPERATIONS.get((name, method))
            if op is None:
                raise SchemaDrift(f"{method} on route {name!r} ({path}) has no operation.")
            documented.discard((name, method))
            spec: Schema = {
                "operationId": op.operation_id,
                "tags": [op.tag],
                "summary": op.summary,
                "responses": _responses(op, has_id=has_id),
            }
            if op.parameters:
                spec["parameters"] = list(op.parameters)
            if op.body:
                media: Schema = {"schema": ref(op.body)}
                if op.example is not None:
                    media["example"] = op.example
                spec["requestBody"] = {"required": True, "content": {"application/json": media}}
            if op.public:
                spec["security"] = []
            item[method.lower()] = spec
    if documented:
        raise SchemaDrift(f"Operations without a route or method: {sorted(documented)}.")
    return paths


# --- components ---------------------------------------------------------------------


def provider_schema_name(provider: Provider) -> str:
    return "".join(part.title() for part in provider.key.split("_")) + "Configuration"


def _provider_schema(provider: Provider) -> Schema:
    """A registry object: the provider's inputs (secret ones write-only) and what
    replies show of it (read-only where it is not an input)."""
    inputs = {spec.name: spec for spec in (*provider.fields, *provider.extra_fields)}
    shown = shown_fields(provider.key)
    properties: dict[str, Schema] = {}
    for name, spec in inputs.items():
        # Write-only: secret, or not kept in a clear column (reveal shows it). A null
        # input is one left out; replies never send null.
        write_only = {"writeOnly": True} if spec.secret or name not in shown else {}
        properties[name] = string(spec.help_text, nullable=True, **write_only)
    for name in shown:
        if name not in properties:
            value = array(string()) if name == "hosts" else string()
            properties[name] = {**value, "readOnly": True}
    return closed(properties, description=provider.label)


def _providers() -> dict[str, Schema]:
    return {provider.key: ref(provider_schema_name(provider)) for provider in PROVIDERS}


def _list_reply(key: str, item: str, *, has_next: bool = True) -> Schema:
    properties = {
        key: array(ref(item)),
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
        "count": {"type": "integer"},
    }
    if has_next:
        properties["has_next"] = {"type": "boolean"}
    return closed(properties, required=list(properties))


def _one(key: str, item: str) -> Schema:
    return closed({key: ref(item)}, required=[key])


def _components() -> Schema:
    service_status = string(enum=list(status.SEVERITY))
    definition_reply = closed(
        {
            "name": string(),
            "type": string(enum=[SERVICE_TYPE]),
            "docker": closed(
                {
                    "image": string(),
                    "image_registry_secret": string("The secret's name; empty for none."),
                },
                required=["image", "image_registry_secret"],
            ),
        },
        required=["name", "type", "docker"],
    )
    # What every secret shows besides its registry object.
    secret_fields: dict[str, Schema] = {
        "id": UUID,
        "name": string(),
        "organization_id": string(),
        "project_id": string("Always empty."),
        "type": string(enum=[REGISTRY]),
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "health": ref("SecretHealth"),
    }
    schemas: dict[str, Schema] = {
        "ErrorField": closed(
            {"field": string(), "description": string()}, required=["field", "description"]
        ),
        "ErrorWithFields": closed(
            {
                "status": {"type": "integer"},
                "code": string(enum=list(errors.CODES)),
                "message": string(),
                "fields": array(ref("ErrorField")),
            },
            required=["status", "code", "message", "fields"],
        ),
        **{provider_schema_name(p): _provider_schema(p) for p in PROVIDERS},
        "SecretType": string(
            "Koyeb's types. Only registry secrets exist here: SIMPLE is taken as REGISTRY "
            "when the body carries exactly one registry object (the SDK's default), and "
            "refused otherwise; MANAGED is refused.",
            enum=list(SECRET_TYPES),
        ),
        "SecretHealth": closed(
            {
                "status": string(enum=list(HealthStatus.values)),
                "code": string(),
                "reason": string(),
                "checked_at": nullable(TIMESTAMP),
                "expires_at": nullable(string(format="date")),
            },
            required=["status", "code", "reason", "checked_at", "expires_at"],
            description="Extension: the credential's health (scheduled checks).",
        ),
        "Secret": closed(
            {**secret_fields, **_providers()},
            required=list(secret_fields),
            description="Exactly one registry object is present, without its secret fields.",
            # Every field above, and one registry object: exactly one more property.
            minProperties=len(secret_fields) + 1,
            maxProperties=len(secret_fields) + 1,
        ),
        "CreateSecret": request_object(
            {
                "name": string("2-64 lowercase letters, digits, dashes; starts with a letter."),
                "type": ref("SecretType"),
                "value": string("A SIMPLE secret's value: refused (registry secrets only)."),
                "expires_at": nullable(
                    string("Extension: the credential's expiry date.", format="date")
                ),
                **_providers(),
            },
            required=["name"],
            description="Exactly one registry object.",
        ),
        "UpdateSecret": request_object(
            {
                "name": string("Must equal the current name (no renames)."),
                "type": string("Ignored unless named in update_mask (then must be REGISTRY)."),
                "expires_at": nullable(string(format="date")),
                **_providers(),
            },
            description="Only the secret's own registry object is accepted. Empty or absent "
            "credential fields keep the stored value.",
        ),
        "CreateSecretReply": _one("secret", "Secret"),
        "GetSecretReply": _one("secret", "Secret"),
        "UpdateSecretReply": _one("secret", "Secret"),
        "ListSecretsReply": _list_reply("secrets", "Secret", has_next=False),
        "RevealSecretReply": closed(
            {
                "value": {
                    "type": "object",
                    "additionalProperties": string(),
                    "description": "The registry object's fields as stored.",
                }
            },
            required=["value"],
        ),
        "Empty": closed({}),
        "RevealSecret": request_object({}, description="Any JSON object (Koyeb's is empty)."),
        "OpenAPIDocument": {"type": "object", "required": ["openapi", "paths"]},
        "App": closed(
            {
                "id": UUID,
                "name": string(),
                "organization_id": string(),
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
                "status": {**service_status, "description": "The worst of its services'."},
                "messages": MESSAGES,
                "domains": array({"type": "object"}, maxItems=0),
                "life_cycle": closed(
                    {"delete_when_empty": {"type": "boolean", "enum": [False]}},
                    required=["delete_when_empty"],
                ),
            },
            required=[
                "id", "name", "organization_id", "created_at", "updated_at", "status",
                "messages", "domains", "life_cycle",
            ],
        ),
        "CreateApp": request_object({"name": string()}, required=["name"]),
        "CreateAppReply": _one("app", "App"),
        "GetAppReply": _one("app", "App"),
        "ListAppsReply": _list_reply("apps", "App"),
        "DockerSource": request_object(
            {
                "image": string(),
                "image_registry_secret": string(
                    "The name of a registry secret of the organization; it must serve the "
                    "image's registry. Empty for none."
                ),
            },
        ),
        "DeploymentDefinition": request_object(
            {"name": string(), "type": string(), "docker": ref("DockerSource")},
            description="Only name and docker are used; Koyeb's other fields are accepted and "
            "ignored; git, database and archive sources are refused.",
        ),
        "ServiceLifeCycle": request_object(
            {
                "delete_after_sleep": {"type": "integer", "format": "int64"},
                "delete_after_create": {"type": "integer", "format": "int64"},
            },
            description="Only 0 (never) is accepted: regsecrets deletes nothing by itself.",
        ),
        "CreateService": request_object(
            {
                "app_id": string(),
                "name": string("Defaults to definition.name."),
                "definition": ref("DeploymentDefinition"),
                "life_cycle": ref("ServiceLifeCycle"),
            },
            required=["app_id", "definition"],
        ),
        "UpdateService": request_object(
            {
                "definition": ref("DeploymentDefinition"),
                "life_cycle": ref("ServiceLifeCycle"),
                "metadata": {"type": "object", "description": "Ignored."},
                "skip_build": {"type": "boolean", "description": "Ignored."},
                "save_only": {"type": "boolean", "description": "Ignored."},
            },
            description="PUT replaces the definition; PATCH changes what the body carries; "
            "update_mask limits either to the paths it names.",
        ),
        "DefinitionReply": definition_reply,
        "Service": closed(
            {
                "id": UUID,
                "name": string(),
                "type": string(enum=[SERVICE_TYPE]),
                "organization_id": string(),
                "app_id": string(),
                "project_id": string("Always empty."),
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
                "status": {**service_status, "description": "From its secret's health."},
                "messages": MESSAGES,
                "version": nullable(string("The latest deployment's version.")),
                "latest_deployment_id": nullable(UUID),
                "active_deployment_id": nullable(UUID),
                "life_cycle": closed(
                    {
                        "delete_after_sleep": {"type": "integer", "enum": [0]},
                        "delete_after_create": {"type": "integer", "enum": [0]},
                    },
                    required=["delete_after_sleep", "delete_after_create"],
                ),
                "definition": ref("DefinitionReply"),
            },
            required=[
                "id", "name", "type", "organization_id", "app_id", "project_id", "created_at",
                "updated_at", "status", "messages", "version", "latest_deployment_id",
                "active_deployment_id", "life_cycle", "definition",
            ],
        ),
        "CreateServiceReply": _one("service", "Service"),
        "GetServiceReply": _one("service", "Service"),
        "UpdateServiceReply": _one("service", "Service"),
        "ListServicesReply": _list_reply("services", "Service"),
        "Deployment": closed(
            {
                "id": UUID,
                "created_at": TIMESTAMP,
                "updated_at": TIMESTAMP,
                "organization_id": string(),
                "project_id": string("Always empty."),
                "app_id": string(),
                "service_id": string(),
                "status": string(enum=[*status.SEVERITY, status.STOPPED]),
                "messages": MESSAGES,
                "version": string(),
                "role": string("Only the latest deployment has one.", enum=["ACTIVE"]),
                "definition": ref("DefinitionReply"),
            },
            required=[
                "id", "created_at", "updated_at", "organization_id", "project_id", "app_id",
                "service_id", "status", "messages", "version", "definition",
            ],
        ),
        "GetDeploymentReply": _one("deployment", "Deployment"),
        "ListDeploymentsReply": _list_reply("deployments", "Deployment"),
        "VerifyDockerImageReply": closed(
            {
                "success": {"type": "boolean"},
                "reason": string(),
                "code": string("UNKNOWN on success.", enum=["UNKNOWN", *sorted(KOYEB_CODES)]),
                "detail_code": string("Extension: the precise code; empty on success."),
                "registry": string("Extension: the registry host that was contacted."),
            },
            required=["success", "reason", "code", "detail_code", "registry"],
        ),
    }  # fmt: skip
    return {
        "securitySchemes": {
            "Bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A personal API token (rst_…), issued under Account > API "
                "tokens or with manage.py issue_api_token.",
            }
        },
        "schemas": schemas,
    }


def build() -> Schema:
    """The document, built now (raises SchemaDrift when the routes and operations differ).

    A deep copy: its readers may change it without changing the module's parts.
    """
    return copy.deepcopy(
        {
            "openapi": "3.0.3",
            "info": {
                "title": "regsecrets API",
                "version": "1.0.0",
                "description": "A Koyeb-compatible subset of /v1 for registry secrets, apps, "
                "services and deployments. Authenticate with Authorization: Bearer rst_… (a "
                "personal API token acting for its user in one organization). Every error has "
                "the shape {status, code, message, fields}. See docs/api.md.",
            },
            "servers": [{"url": "/"}],
            "security": [{"Bearer": []}],
            "paths": _paths(),
            "components": _components(),
        }
    )


@cache
def document_bytes() -> bytes:
    """The document as served (built once per process)."""
    return json.dumps(build(), indent=1, ensure_ascii=False).encode()
