"""The OpenAPI document, proven against the running app by Schemathesis.

Schemathesis reads /v1/openapi.json from a live server (real HTTP on loopback) and
generates requests for every operation, schema-valid and schema-invalid, sent
with a valid token of an organization owner. Each reply must not be a 500, must
carry a documented status code and content type, and must match its documented
schema (closed objects: an undocumented field fails too); a schema-invalid request
must be refused with a 4xx. Half of the path ids and id parameters are swapped
for ids of real objects, so the successful replies are checked too, not only the
404s.

Bounded and deterministic: MAX_EXAMPLES per operation, derandomized, no example
database, so CI sees the same requests every run.
"""

from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
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

MAX_EXAMPLES = 30
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
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


class RealObjects:
    """An app, a secret, a service and its deployment in the organization, for real ids.

    Their ids are kept; an operation that deletes calls ``forget_deleted`` after each
    request, and the next id asked for makes them again.
    """

    def __init__(self, org, alice) -> None:
        self.org, self.alice = org, alice
        self.ids: dict[str, str] = {}

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


def _run(strategy, *, max_examples: int, prepare) -> None:
    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, data=st.data())
    def run(case, data) -> None:
        prepare(case, data)

    run()


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_every_operation_keeps_its_documented_contract(operation, live_url, owner_token, real, settings):
    settings.REGSECRETS_VERIFY_TIMEOUT = 2  # bound a verification that reaches for the network
    headers = {"Authorization": f"Bearer {owner_token}"}

    def call(case, data, *, always_real: bool) -> None:
        real.id_of("service")  # the examples name the secret "ghcr": make it if need be

        def use_real() -> bool:
            return always_real or data.draw(st.booleans())

        if "id" in (case.path_parameters or {}) and use_real():
            case.path_parameters["id"] = real.id_for(case.path)
        for name, kind in ID_PARAMETERS.items():
            for where in (case.query, case.body):
                if isinstance(where, dict) and name in where and use_real():
                    where[name] = real.id_of(kind)
        case.call_and_validate(base_url=live_url, headers=headers, checks=CHECKS)
        if case.method == "DELETE":
            real.forget_deleted()

    # The documented examples first, on real objects: the successful replies are checked.
    examples = SCHEMA.get_strategies_from_examples(operation)
    if examples:
        _run(
            st.one_of(examples),
            max_examples=2,
            prepare=lambda case, data: call(case, data, always_real=True),
        )
    # Then generated requests, valid and invalid, half of them on real objects.
    fuzz = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    _run(fuzz, max_examples=MAX_EXAMPLES, prepare=lambda case, data: call(case, data, always_real=False))


def test_the_schema_is_the_one_the_app_serves(live_url):
    served = requests.get(f"{live_url}/v1/openapi.json", timeout=10)
    assert served.headers["Content-Type"] == "application/json"
    assert served.json() == json.loads(json.dumps(build()))
