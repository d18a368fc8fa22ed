"""The secret admin on the admin's own hooks: service errors on fields, one decrypt, no half-writes."""

from __future__ import annotations

import ast
import inspect
import threading

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse

from regsecrets.audit.models import AuditEvent
from regsecrets.crypto import fields as crypto_fields
from regsecrets.registry_secrets import admin as secret_admin
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_create, secret_fields
from tests.admin.conftest import PRIVATE_DATA, assert_no_secret
from tests.conftest import CANARY

pytestmark = pytest.mark.django_db


def _change_url(secret) -> str:
    return reverse("admin:registry_secrets_secret_change", args=[secret.pk])


def _add_url(org, slug: str = "private") -> str:
    return reverse("admin:registry_secrets_secret_add") + f"?organization={org.pk}&provider={slug}"


@pytest.fixture
def decrypts(monkeypatch) -> list[str]:
    """Every decryption of a stored document during the test (the real one still runs)."""
    calls: list[str] = []
    real = crypto_fields.unseal

    def counting(token, *, aad):
        calls.append(token[:10])
        return real(token, aad=aad)

    monkeypatch.setattr(crypto_fields, "unseal", counting)
    return calls


def test_a_registry_change_without_the_password_is_a_field_error_and_writes_nothing(admin, secret):
    before = Secret.objects.get(pk=secret.pk).document
    response = admin.post(
        _change_url(secret),
        {"url": "elsewhere.example.com", "username": "deploy", "password": ""},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "The registry changed" in " ".join(errors["password"])
    assert 'value="elsewhere.example.com"' in response.content.decode()  # input kept
    assert_no_secret(response.content)
    assert Secret.objects.get(pk=secret.pk).document == before
    assert not AuditEvent.objects.filter(action="secret.updated").exists()
    assert not LogEntry.objects.filter(action_flag=CHANGE).exists()


def test_the_change_page_decrypts_once_per_request(admin, secret, decrypts):
    assert admin.get(_change_url(secret)).status_code == 200
    assert len(decrypts) == 1  # the prefill
    decrypts.clear()
    response = admin.post(
        _change_url(secret),
        {"url": "registry.example.com", "username": "robot", "password": ""},
    )
    assert response.status_code == 302
    assert len(decrypts) == 1  # the merge, under the row lock
    decrypts.clear()
    response = admin.post(
        _change_url(secret), {"url": "elsewhere.example.com", "username": "x", "password": ""}
    )
    assert response.status_code == 200  # refused: judged once, not again to save
    assert len(decrypts) == 1


def test_the_add_page_decrypts_nothing(admin, org, decrypts):
    response = admin.post(_add_url(org), {"organization": org.pk, "name": "fresh", **PRIVATE_DATA})
    assert response.status_code == 302
    assert decrypts == []
    assert LogEntry.objects.get().action_flag == ADDITION


@pytest.mark.django_db(transaction=True)
def test_a_name_taken_between_validation_and_save_is_a_field_error(admin, org, alice, monkeypatch):
    """Another request commits the name after this form was judged: no 500, a name error."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs a second connection committing inside this request's transaction; "
            "SQLite serialises writers"
        )
    real = secret_admin.secret_create_prepare
    raced: list[object] = []

    def competitor() -> None:
        from django.db import connection as thread_connection

        try:
            secret_create(organization=org, name="contested", provider="private", data=PRIVATE_DATA)
            raced.append("committed")
        except Exception as exc:  # reported by the assertion below
            raced.append(exc)
        finally:
            thread_connection.close()

    def prepare_then_lose_the_race(**kwargs):
        prepared = real(**kwargs)
        if not raced:
            thread = threading.Thread(target=competitor)
            thread.start()
            thread.join()
        return prepared

    monkeypatch.setattr(secret_admin, "secret_create_prepare", prepare_then_lose_the_race)
    response = admin.post(
        _add_url(org), {"organization": org.pk, "name": "contested", **PRIVATE_DATA}
    )
    assert raced == ["committed"]
    assert response.status_code == 200
    assert "already exists" in " ".join(response.context["adminform"].form.errors["name"])
    assert 'value="registry.example.com"' in response.content.decode()
    assert_no_secret(response.content)
    assert Secret.objects.filter(name="contested").count() == 1
    assert not LogEntry.objects.exists()


def test_an_undecryptable_secret_says_so_once_and_offers_no_inputs(admin, secret):
    from tests.registry_secrets.conftest import corrupt_ciphertext

    corrupt_ciphertext(secret)
    response = admin.get(_change_url(secret))
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert len([m for m in messages if "cannot be decrypted" in m]) == 1
    assert 'name="url"' not in response.content.decode()
    response = admin.post(
        _change_url(secret), {"url": "registry.example.com", "username": "u", "password": "p"}
    )
    assert response.status_code == 200
    assert "cannot be decrypted" in " ".join(response.context["adminform"].form.non_field_errors())
    assert not AuditEvent.objects.filter(action="secret.updated").exists()


def test_a_secret_whose_provider_left_the_catalogue_offers_no_inputs_and_refuses_a_save(
    admin, secret
):
    Secret.objects.filter(pk=secret.pk).update(provider="quay_registry")
    page = admin.get(_change_url(secret))
    warnings = [str(m) for m in get_messages(page.wsgi_request)]
    assert len([m for m in warnings if "no longer supported" in m]) == 1
    assert 'name="url"' not in page.content.decode()
    response = admin.post(_change_url(secret), {"url": "x.example.com", "password": "p"})
    assert response.status_code == 200
    assert "no longer supported" in " ".join(response.context["adminform"].form.non_field_errors())
    assert secret_fields(Secret.objects.get(pk=secret.pk))["password"] == CANARY
    assert not LogEntry.objects.filter(action_flag=CHANGE).exists()


def test_the_secret_admin_imports_nothing_from_deploy():
    tree = ast.parse(inspect.getsource(secret_admin))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert imported
    assert not [name for name in imported if name and name.startswith("regsecrets.deploy")]


def test_the_admin_keeps_no_copies_of_admin_internals():
    source = inspect.getsource(secret_admin)
    for internal in (
        "IS_POPUP_VAR",
        "TO_FIELD_VAR",
        "_get_obj_does_not_exist_redirect",
        "AdminErrorList",
        "render_change_form",
    ):
        assert internal not in source, internal
