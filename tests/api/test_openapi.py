"""The OpenAPI document is built from the code: routes, methods, registry objects, enums.

What the running app answers is Schemathesis's part (test_schemathesis.py); here:
the document is valid OpenAPI 3.0, it cannot drift from the URL map or the
provider catalogue, and what it describes is what koyeb-sdk's models read.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest
from django.urls import path
from koyeb.api import models as koyeb_models
from openapi_spec_validator import validate

from regsecrets.api import schema
from regsecrets.api.auth import endpoint
from regsecrets.api.representations import shown_fields
from regsecrets.deploy import status
from regsecrets.registries import PROVIDERS
from regsecrets.registries.providers.docker_hub import DockerHub


@pytest.fixture
def document():
    return schema.build()


def test_the_document_is_valid_openapi_3(document):
    validate(document)


def test_every_api_route_and_method_has_an_operation_and_no_other(document):
    routes = schema.api_routes()
    documented = {
        (path_, method.upper())
        for path_, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {(path_, method) for path_, methods in routes.values() for method in methods}
    assert documented == served
    assert ("/v1/services/{id}", "PATCH") in served
    assert ("/v1/deployments/{id}", "GET") in served
    operation_ids = [
        op["operationId"] for item in document["paths"].values() for m, op in item.items() if m != "parameters"
    ]
    assert len(operation_ids) == len(set(operation_ids))


def _urlconf_with(extra_routes):
    """A URL map that is the project's plus ``extra_routes``, as a module for ROOT_URLCONF."""
    module = type(importlib)("drifted_urls")
    module.urlpatterns = [*extra_routes, *importlib.import_module("regsecrets.urls").urlpatterns]
    return module


def test_a_route_without_an_operation_stops_the_build(settings, monkeypatch):
    import sys

    def handler(request):  # never called
        raise AssertionError

    module = _urlconf_with([path("v1/instances", endpoint(GET=handler), name="api_instances")])
    monkeypatch.setitem(sys.modules, "drifted_urls", module)
    settings.ROOT_URLCONF = "drifted_urls"
    with pytest.raises(schema.SchemaDrift, match="api_instances"):
        schema.build()


def test_a_method_a_route_does_not_serve_stops_the_build(monkeypatch):
    operations = dict(schema.OPERATIONS)
    operations[("api_deployment", "DELETE")] = schema.Operation("DeleteDeployment", "x", "x", "Empty")
    monkeypatch.setattr(schema, "OPERATIONS", operations)
    with pytest.raises(schema.SchemaDrift, match="api_deployment"):
        schema.build()


def test_a_served_method_without_an_operation_stops_the_build(monkeypatch):
    operations = dict(schema.OPERATIONS)
    del operations[("api_service", "PATCH")]
    monkeypatch.setattr(schema, "OPERATIONS", operations)
    with pytest.raises(schema.SchemaDrift, match="PATCH on route 'api_service'"):
        schema.build()


def test_registry_objects_come_from_the_catalogue(document):
    schemas = document["components"]["schemas"]
    for provider in PROVIDERS:
        name = schema.provider_schema_name(provider)
        properties = schemas[name]["properties"]
        shown = shown_fields(provider.key)
        for spec in (*provider.fields, *provider.extra_fields):
            write_only = spec.secret or spec.name not in shown
            assert properties[spec.name].get("writeOnly", False) is write_only, (provider.key, spec.name)
            assert not (spec.secret and spec.name in shown)  # a secret is never shown
        for field in shown:
            assert field in properties
        for body in ("CreateSecret", "UpdateSecret", "Secret"):
            assert schemas[body]["properties"][provider.key]["$ref"] == f"#/components/schemas/{name}"


def test_a_provider_added_to_the_catalogue_is_documented_without_touching_the_api(monkeypatch):
    class Quay(DockerHub):
        key = "quay_registry"
        slug = "quay"
        label = "Quay.io"

    monkeypatch.setattr(schema, "PROVIDERS", (*PROVIDERS, Quay()))
    schemas = schema.build()["components"]["schemas"]
    assert schemas["CreateSecret"]["properties"]["quay_registry"]["$ref"] == "#/components/schemas/QuayRegistryConfiguration"
    quay = schemas["QuayRegistryConfiguration"]["properties"]
    assert quay["password"]["writeOnly"] is True
    assert quay["username"] == {"type": "string", "description": DockerHub.fields[0].help_text, "nullable": True}


def test_statuses_are_the_ones_the_code_produces(document):
    schemas = document["components"]["schemas"]
    assert schemas["Service"]["properties"]["status"]["enum"] == list(status.SEVERITY)
    assert schemas["App"]["properties"]["status"]["enum"] == list(status.SEVERITY)
    assert set(schemas["Deployment"]["properties"]["status"]["enum"]) == {*status.SEVERITY, status.STOPPED}
    services = next(p for p in document["paths"]["/v1/services"]["get"]["parameters"] if p["name"] == "statuses")
    assert services["schema"]["items"]["enum"] == list(status.SERVICE_STATUSES)


DOCS = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
DIFFERENCES = DOCS[DOCS.index("## Differences from Koyeb") :]


@pytest.mark.parametrize("name", ["Secret", "App", "Service", "Deployment", "VerifyDockerImageReply"])
def test_every_reply_field_is_one_koyeb_sdk_reads_or_a_documented_extension(document, name):
    sdk_fields = set(getattr(koyeb_models, name).model_fields)
    extensions = set(document["components"]["schemas"][name]["properties"]) - sdk_fields
    undocumented = {field for field in extensions if f"`{field}`" not in DIFFERENCES}
    assert not undocumented, f"{name}: say in docs/api.md's differences what these are"


def test_the_sdks_status_enums_hold_every_status_we_send():
    assert set(status.SEVERITY) <= {s.value for s in koyeb_models.ServiceStatus}
    assert set(status.SEVERITY) <= {s.value for s in koyeb_models.AppStatus}
    assert {*status.SEVERITY, status.STOPPED} <= {s.value for s in koyeb_models.DeploymentStatus}
    assert set(status.SERVICE_STATUSES) == {s.value for s in koyeb_models.ServiceStatus}
    assert set(status.DEPLOYMENT_STATUSES) == {s.value for s in koyeb_models.DeploymentStatus}


def test_operations_are_plain_data():
    # The table is data the build reads, not code paths: each entry names a component.
    components = schema.build()["components"]["schemas"]
    for operation in schema.OPERATIONS.values():
        assert dataclasses.is_dataclass(operation)
        assert operation.reply in components
        assert operation.body is None or operation.body in components


def test_the_command_prints_the_served_document():
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("openapi_schema", stdout=out)
    assert json.loads(out.getvalue()) == json.loads(json.dumps(schema.build()))
