"""The OpenAPI document, proven against the running app by Schemathesis.

Schemathesis reads /v1/openapi.json from a live server (real HTTP on loopback) and
generates requests for every operation, schema-valid and schema-invalid, sent
with a valid token of an organization owner (no security parameter is generated). Each reply must not be a 500, must
carry a documented status code and content type, and must match its documented
schema (closed objects: an undocumented field fails too); a schema-invalid request
must be refused with a 4xx. The examples run on real objects and every other
generated id is swapped for a real object's, so the successful replies are
checked too, not only the 404s.

Three of Schemathesis's phases run per operation: the documented examples, the
coverage phase (boundary and schema-violating values for each parameter and body
field, a fixed set) and MAX_EXAMPLES generated requests. Bounded and deterministic:
derandomized, no example database, so CI sees the same requests every run.
"""

from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from regsecrets.api.schema import build
from regsecrets.deploy.models import App, Deployment, Service
from regsecrets.deploy.services import app_create, service_create
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_create
from tests.api.conftest import PROVIDER_PAYLOADS

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def owner_token(alice, org, issue_token) -> str:
    return issue_token(alice, org)


# The document the app serves is built by this function (the last test proves it),
# so the operations can be collected before any server runs.
SCHEMA = schemathesis.openapi.from_dict(build())
# Every request carries the owner's valid token: no generated (or left out) Authorization.
SCHEMA.config.generation.update(with_security_parameters=False)


class RealObjects:
    """An app, a secret, a service and its deployment in the organization, for real ids.

    Their ids are kept; an operation that deletes calls ``forget_deleted`` after each
    request, and the next id asked for makes them again.
    """

    def __init__(self, org, alice) -> None:
        self.org, self.alice = org, alice
        self.ids: dict[str, str] = {}
        self.turns = 0

    def take_turn(self, always: bool = False) -> bool:
        """True every other time (or always): which ids are swapped for real ones."""
        self.turns += 1
        return always or self.turns % 2 == 0

    def _make(self) -> dict[str, str]:
        secret = Secret.objects.filter(organization=self.org, name="ghcr").first() or secret_create(
            organization=self.org,
            name="ghcr",
            provider="github_registry",
            data=PROVIDER_PAYLOADS["github_registry"],
            actor=self.alice,
        )
        app = App.objects.filter(organization=self.org).first() or app_create(
            organization=self.org, name="web", actor=self.alice
        )
        service = Service.objects.filter(app=app).first() or service_create(
            app=app, name="front", image="ghcr.io/octocat/app:1", registry_secret=secret,
            actor=self.alice,
        )  # fmt: skip
        return {
            "secret": str(secret.pk),
            "app": str(app.pk),
            "service": str(service.pk),
            "deployment": str(service.latest_deployment_id),
        }

    def id_of(self, kind: str) -> str:
        if not self.ids:
            self.ids = self._make()
        return self.ids[kind]

    def id_for(self, path: str) -> str:
        return self.id_of(path.split("/")[2].removesuffix("s"))  # /v1/<kind>s/{id}…

    def forget_deleted(self) -> None:
        models = {"secret": Secret, "app": App, "service": Service, "deployment": Deployment}
        if any(not models[kind].objects.filter(pk=pk).exists() for kind, pk in self.ids.items()):
            self.ids = {}


@pytest.fixture
def real(org, alice) -> RealObjects:
    return RealObjects(org, alice)


# Query parameters and body fields that name an object of some kind.
ID_PARAMETERS = {"app_id": "app", "service_id": "service", "secret_id": "secret"}


@SCHEMA.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_documented_contract(case, live_url, owner_token, real, settings):
    settings.REGSECRETS_VERIFY_TIMEOUT = 2  # bound a verification that reaches for the network
    real.id_of("service")  # the examples name the secret "ghcr": make it if need be
    # The documented examples run on real objects, so successful replies are checked;
    # of the generated cases, every other id is swapped for a real object's.
    always = case.meta is not None and case.meta.phase.name.value == "examples"
    if "id" in (case.path_parameters or {}) and real.take_turn(always):
        case.path_parameters["id"] = real.id_for(case.path)
    for name, kind in ID_PARAMETERS.items():
        for where in (case.query, case.body):
            # Only strings: a value of the wrong type is the case's point, kept as it is.
            if isinstance(where, dict) and isinstance(where.get(name), str) and real.take_turn(always):
                where[name] = real.id_of(kind)
    case.call_and_validate(
        base_url=live_url, headers={"Authorization": f"Bearer {owner_token}"}, checks=CHECKS
    )
    if case.method == "DELETE":
        real.forget_deleted()


def test_the_schema_is_the_one_the_app_serves(live_url):
    served = requests.get(f"{live_url}/v1/openapi.json", timeout=10)
    assert served.headers["Content-Type"] == "application/json"
    assert served.json() == json.loads(json.dumps(build()))
