from __future__ import annotations

from django.urls import path

from regsecrets.registry_secrets import views, views_webhook

app_name = "registry_secrets"

urlpatterns = [
    path("", views.secret_list, name="list"),
    path("new/", views.secret_new, name="new"),
    path("health/webhook/", views_webhook.webhook_settings, name="webhook"),
    path("new/<slug:slug>/", views.secret_create, name="create"),
    path("new/<slug:slug>/test/", views.secret_test_input, name="test_input"),
    path("preview-host/<slug:slug>/", views.preview_host, name="preview_host"),
    path("<uuid:pk>/", views.secret_detail, name="detail"),
    path("<uuid:pk>/test/", views.secret_test, name="test"),
    path("<uuid:pk>/edit/", views.secret_edit, name="edit"),
    path("<uuid:pk>/edit/test/", views.secret_edit_test, name="edit_test"),
    path("<uuid:pk>/delete/", views.secret_delete, name="delete"),
]
