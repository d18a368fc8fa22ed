"""Every /v1 reply is JSON in the error shape: unknown paths, wrong methods, crashes,
and a database that does not answer (503); /readyz says whether the process can serve."""

from __future__ import annotations

import copy
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connections
from django.test import Client

from tests.api.conftest import Api

pytestmark = pytest.mark.django_db

SHAPE = {"status", "code", "message", "fields"}


def assert_api_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    text = response.content.decode()
    assert "<html" not in text.lower()
    assert "<!doctype" not in text.lower()
    body = response.json()
    assert set(body) == SHAPE
    assert body["status"] == status
    assert body["code"] == code
    assert body["fields"] == []
    assert "no-store" in response["Cache-Control"]
    return body


@pytest.fixture
def quiet_client() -> Client:
    """A client that, like a real server, answers 500s instead of raising them."""
    return Client(raise_request_exception=False)


# --- paths and methods -----------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/v1", "/v1/", "/v1/nothing", "/v1/secrets/", "/v1/secrets/x/y/z", "/v1/apps/1/reveal"]
)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_unknown_api_paths_answer_json_404(client, path, method):
    # POST without a CSRF token too: the API never speaks CSRF.
    response = Client(enforce_csrf_checks=True).generic(method, path)
    assert_api_error(response, 404, "not_found")


METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]


def _concrete(path: str) -> str:
    return path.replace("{id}", "00000000-0000-0000-0000-000000000000")


def test_every_api_route_answers_every_method_in_json():
    """Walks the URL map (the routes api.schema documents): a method a route does not
    serve is a JSON 405 naming the ones it does; a served one without a token is a 401."""
    from regsecrets.api.schema import api_routes

    routes = api_routes()
    assert len(routes) >= 11
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    for path, served in routes.values():
        for method in METHODS:
            response = client.generic(method, _concrete(path))
            if method == "HEAD":  # the same reply without its body, as HTTP wants
                assert response.status_code == (405 if method not in served else 401)
                assert response["Content-Type"] == "application/json"
                assert response.content == b""
            elif method not in served:
                assert_api_error(response, 405, "method_not_allowed")
            elif path == "/v1/openapi.json":
                assert response.status_code == 200
            else:
                assert_api_error(response, 401, "unauthenticated")
            if method not in served:
                assert response["Allow"] == ", ".join(sorted(served)), path


@pytest.mark.parametrize(
    "path",
    ["/v1/deployments/", "/v1/deployments/x/y", "/v1/services/x/pause", "/v1/apps/x/resume", "/v1/instances", "/v1/%ff"],
)
def test_paths_koyeb_has_and_we_do_not_answer_json_404(api, path):
    for method in ("GET", "POST", "PUT"):
        assert_api_error(api.call(method, path), 404, "not_found")


def test_a_wrong_method_on_the_openapi_document_answers_json_405(client):
    response = client.post("/v1/openapi.json")
    assert_api_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


def test_the_openapi_document_is_still_served(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    assert "openapi" in response.json()


def test_site_pages_keep_their_html_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- server errors ---------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_a_crash_in_an_api_view_answers_json_500(
    quiet_client, alice, org, issue_token, settings, monkeypatch, debug
):
    from regsecrets.api import auth

    settings.DEBUG = debug

    def crash(token):
        raise RuntimeError("forced crash")

    monkeypatch.setattr(auth, "_touch", crash)
    api = Api(quiet_client, issue_token(alice, org))
    body = assert_api_error(api.get("/v1/secrets"), 500, "internal")
    assert "forced crash" not in body["message"]


# --- the database is down ------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
    # Closed on leaving the block: nothing listens there now.


@contextmanager
def database_unreachable(tmp_path) -> Iterator[None]:
    """Point the default connection at a database that cannot be reached, for real.

    PostgreSQL: a loopback port nothing listens on (connection refused). SQLite: a
    file in a directory that does not exist (unable to open database file). The
    connection the test transaction holds is set aside and put back afterwards.
    """
    real = connections["default"]
    broken_settings = copy.deepcopy(real.settings_dict)
    if real.vendor == "postgresql":
        broken_settings.update(HOST="127.0.0.1", PORT=str(_closed_port()))
        broken_settings["OPTIONS"] = {**broken_settings.get("OPTIONS", {}), "connect_timeout": 3}
    elif real.vendor == "sqlite":
        broken_settings["NAME"] = str(tmp_path / "no-such-directory" / "db.sqlite3")
    else:  # pragma: no cover - the suite runs on these two
        pytest.skip(f"no outage recipe for {real.vendor}")
    broken = real.__class__(broken_settings, alias="default")
    connections["default"] = broken
    try:
        yield
    finally:
        connections["default"] = real
        broken.close()


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_during_a_database_outage_the_api_answers_json_503(
    quiet_client, alice, org, issue_token, settings, tmp_path, debug
):
    settings.DEBUG = debug
    api = Api(quiet_client, issue_token(alice, org))
    assert api.get("/v1/secrets").status_code == 200
    with database_unreachable(tmp_path):
        for response in (
            api.get("/v1/secrets"),
            api.post("/v1/apps", {"name": "web"}),
            Api(quiet_client, None).get("/v1/secrets", headers={"Authorization": "Bearer rst_x"}),
        ):
            body = assert_api_error(response, 503, "unavailable")
            assert "database" in body["message"]
            assert response["Retry-After"]
        # Liveness does not need the database; readiness does.
        assert quiet_client.get("/healthz").status_code == 200
        ready = quiet_client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "reasons": ["database unreachable"]}
        assert "no-store" in ready["Cache-Control"]
    # Back again once the database is.
    assert api.get("/v1/secrets").status_code == 200
    assert quiet_client.get("/readyz").json() == {"status": "ok"}


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_probes_sent_with_a_session_cookie_answer_during_a_database_outage(
    quiet_client, alice, org, settings, tmp_path, debug
):
    # A probe that shares a browser's cookie jar (or a load balancer replaying one)
    # must not read the session: during an outage that read fails, and /readyz
    # owes the orchestrator its 503, not a 500.
    settings.DEBUG = debug
    quiet_client.force_login(alice)
    assert quiet_client.get("/readyz").status_code == 200
    with database_unreachable(tmp_path):
        assert quiet_client.get("/healthz").status_code == 200
        ready = quiet_client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "reasons": ["database unreachable"]}
    assert quiet_client.get("/readyz").json() == {"status": "ok"}


def test_readiness_is_ok_with_a_database_and_a_key_ring(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("keys", ["", "not-a-key-entry", "k1:c2hvcnQ="], ids=["missing", "malformed", "short"])
def test_readiness_is_503_without_a_usable_key_ring(client, settings, keys):
    settings.DEBUG = False
    settings.REGSECRETS_ENCRYPTION_KEYS = keys
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reasons": ["encryption key ring missing or invalid"],
    }
