"""Writes from a page loaded before its objects were deleted: refused, never resurrected."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from regsecrets.deploy.models import App, Service
from regsecrets.deploy.services import (
    SECRET_GONE,
    app_delete,
    service_create,
    service_delete,
    service_update,
)
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import secret_delete

pytestmark = pytest.mark.django_db

IMAGE = "ghcr.io/acme/web:1.0"


def test_creating_a_service_with_a_deleted_secret_is_a_field_error_on_the_secret(app, ghcr_secret):
    stale = Secret.objects.get(pk=ghcr_secret.pk)
    secret_delete(secret=ghcr_secret)
    with pytest.raises(ValidationError) as refused:
        service_create(app=app, name="web", image=IMAGE, registry_secret=stale)
    assert refused.value.message_dict == {"registry_secret": [SECRET_GONE]}
    assert not Service.objects.exists()


def test_saving_a_deleted_service_does_not_bring_it_back(service):
    stale = Service.objects.select_related("app").get(pk=service.pk)
    service_delete(service=service)
    with pytest.raises(Service.DoesNotExist):
        service_update(service=stale, name="web2", image=IMAGE, registry_secret=None)
    assert not Service.objects.exists()


def test_creating_a_service_in_a_deleted_app_is_refused(app):
    stale = App.objects.get(pk=app.pk)
    app_delete(app=app)
    with pytest.raises(App.DoesNotExist):
        service_create(app=stale, name="web", image=IMAGE, registry_secret=None)
    assert not Service.objects.exists()


def test_deleting_what_is_already_deleted_is_a_no_op(app, ghcr_secret):
    stale_secret, stale_app = Secret.objects.get(pk=ghcr_secret.pk), App.objects.get(pk=app.pk)
    secret_delete(secret=ghcr_secret)
    app_delete(app=app)
    secret_delete(secret=stale_secret)
    app_delete(app=stale_app)
    assert not Secret.objects.filter(pk=stale_secret.pk).exists()
    assert not App.objects.filter(pk=stale_app.pk).exists()


def test_the_service_edit_form_of_a_deleted_service_is_404(alice_client, service, monkeypatch):
    from regsecrets.deploy import selectors

    # The page found the service; it was deleted before the save: the same 404 as later.
    stale = Service.objects.select_related("app", "organization").get(pk=service.pk)
    monkeypatch.setattr(selectors, "service_get", lambda **kwargs: stale)
    service_delete(service=service)
    response = alice_client.post(
        reverse("deploy:service_edit", kwargs={"service_id": stale.pk}),
        {"name": "web", "image": "nginx:1.27", "registry_secret": ""},
    )
    assert response.status_code == 404
    assert not Service.objects.exists()
