from __future__ import annotations

from django.urls import path

from regsecrets.deploy import views

app_name = "deploy"

urlpatterns = [
    path("apps/", views.app_list, name="app_list"),
    path("apps/new/", views.app_create, name="app_create"),
    path("apps/<uuid:app_id>/", views.app_detail, name="app_detail"),
    path("apps/<uuid:app_id>/delete/", views.app_delete, name="app_delete"),
    path("apps/<uuid:app_id>/services/new/", views.service_create, name="service_create"),
    path("services/<uuid:service_id>/", views.service_detail, name="service_detail"),
    path("services/<uuid:service_id>/edit/", views.service_edit, name="service_edit"),
    path("services/<uuid:service_id>/delete/", views.service_delete, name="service_delete"),
    path(
        "services/<uuid:service_id>/switch-secret/",
        views.service_switch_secret,
        name="service_switch_secret",
    ),
    path("services/secret-suggestion/", views.secret_suggestion, name="secret_suggestion"),
    path("services/secret-search/", views.secret_search, name="secret_search"),
    path("services/verify-image/", views.verify_image, name="verify_image"),
    path(
        "services/inline-secret/<slug:slug>/",
        views.inline_secret_fields,
        name="inline_secret_fields",
    ),
    path(
        "services/inline-secret/<slug:slug>/create/",
        views.inline_secret_create,
        name="inline_secret_create",
    ),
]
