"""Security headers and the Content-Security-Policy on every page."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PAGES_ANONYMOUS = ["home", "login", "signup"]
PAGES_SIGNED_IN = [
    "organization_detail",
    "organization_create",
    "password_change",
    "audit:activity",
]


def _assert_hardened(response):
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("name", PAGES_ANONYMOUS)
def test_anonymous_pages_carry_strict_headers(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    _assert_hardened(response)


@pytest.mark.parametrize("name", PAGES_SIGNED_IN)
def test_signed_in_pages_carry_strict_headers_and_no_inline_script_or_style(alice_client, name):
    response = alice_client.get(reverse(name))
    assert response.status_code == 200
    _assert_hardened(response)
    html = response.content.decode()
    assert "<script>" not in html
    assert "style=" not in html
    assert " onclick=" not in html


def test_not_found_page_is_friendly_and_hardened(alice_client):
    response = alice_client.get("/no/such/page/")
    assert response.status_code == 404
    _assert_hardened(response)
    assert b"There is nothing here" in response.content


def test_bootstrap_is_served_locally(client):
    html = client.get(reverse("login")).content.decode()
    assert "/static/bootstrap/css/bootstrap.min.css" in html
    assert "cdn" not in html.lower()
