"""App and Service: naming rule, uniqueness within scope, the protected secret."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from regsecrets.deploy.models import App, Service
from regsecrets.deploy.services import app_create

pytestmark = pytest.mark.django_db


def test_app_name_follows_the_secret_name_rule(org):
    with pytest.raises(ValidationError) as exc:
        App(organization=org, name="Bad_Name").full_clean()
    assert "name" in exc.value.message_dict


def test_app_names_are_unique_per_organization(org, other_org):
    App.objects.create(organization=org, name="shop")
    App.objects.create(organization=other_org, name="shop")
    with pytest.raises(IntegrityError), transaction.atomic():
        App.objects.create(organization=org, name="shop")


def test_service_names_are_unique_per_app(org):
    first, second = (
        app_create(organization=org, name="one"),
        app_create(organization=org, name="two"),
    )
    Service.objects.create(app=first, organization=org, name="web", image="nginx")
    Service.objects.create(app=second, organization=org, name="web", image="nginx")
    with pytest.raises(IntegrityError), transaction.atomic():
        Service.objects.create(app=first, organization=org, name="web", image="nginx")


def test_a_secret_in_use_is_protected_at_the_database_level(service, ghcr_secret):
    with pytest.raises(ProtectedError):
        ghcr_secret.delete()


def test_service_str_is_app_slash_service(service):
    assert str(service) == "shop/web"
