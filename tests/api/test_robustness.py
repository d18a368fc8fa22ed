"""No input answers 500: malformed JSON, wrong JSON types, huge bodies, NUL bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.api.conftest import create_body

BODY_PATHS = ["/v1/secrets", "/v1/apps", "/v1/services"]


@pytest.mark.parametrize("path", BODY_PATHS)
@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"[]", b"null", b"42", b'"x"', b"\xff\xfe\x00", b'{"name": "\\ud800"}', b"[" * 100_000, b"\x00"],
)
def test_malformed_bodies_are_400(api, path, raw):
    response = api.post(path, raw=raw)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_argument"


def test_huge_body_is_413(api, settings):
    response = api.post("/v1/secrets", raw=b'{"name": "' + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + b'"}')
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a\x00b", "type": "REGISTRY", "github_registry": {"username": "x", "password": "y"}},
        create_body("nul", "github_registry", username="octo\x00cat"),
        create_body("nul", "github_registry", password="ghp_\x00"),
        create_body("nul", "private_registry", url="registry.example.com\x00"),
        create_body("nul", "gcp_container_registry", keyfile_content="\x00"),
        create_body("nul", "azure_container_registry", registry_name="acme\x00registry"),
        {"name": ["list"], "type": {"dict": 1}, "github_registry": None},
        {"name": "x" * 10_000, "type": "REGISTRY", "docker_hub_registry": {"username": "u" * 10_000, "password": "p" * 100_000}},
    ],
)
def test_strange_secret_input_is_400(api, body):
    response = api.post("/v1/secrets", body)
    assert response.status_code == 400, response.content


def test_nul_bytes_in_app_and_service_input_are_400(api):
    assert api.post("/v1/apps", {"name": "we\x00b"}).status_code == 400
    app = api.post("/v1/apps", {"name": "web"}).json()["app"]
    body = {"app_id": app["id"], "definition": {"name": "a\x00", "docker": {"image": "ngi\x00nx", "image_registry_secret": "s\x00"}}}
    assert api.post("/v1/services", body).status_code == 400
    # A NUL in the query string is refused before the view, in the API's error shape.
    response = api.get("/v1/docker-helper/verify", {"image": "ngi\x00nx"})
    assert response.status_code == 400
    assert response.json()["fields"][0]["field"] == "image"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/secrets?name=%00", "/v1/secrets?limit=%00", "/v1/apps?name=%00", "/v1/services?name=%00",
        "/v1/services?app_id=%00", "/v1/secrets/%00", "/v1/apps/%00", "/v1/services/%00",
        "/v1/secrets?ids=%00", "/v1/docker-helper/verify?image=x&secret_id=%00",
    ],
)
def test_nul_bytes_in_the_url_never_answer_500(api, path):
    assert api.get(path).status_code in (400, 404)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=10,
)
secret_keys = st.sampled_from(["name", "type", "github_registry", "gcp_container_registry", "private_registry", "value"])


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(secret_keys, json_values | st.dictionaries(st.sampled_from(["username", "password", "url", "keyfile_content"]), json_values)))
def test_fuzzed_secret_bodies_never_answer_500(api, body):
    for method, path in (("POST", "/v1/secrets"), ("POST", "/v1/services"), ("POST", "/v1/apps")):
        response = api.call(method, path, body)
        assert response.status_code < 500, (path, json.dumps(body))
