from __future__ import annotations

from django.urls import path

from regsecrets.audit import views

app_name = "audit"

urlpatterns = [
    path("activity/", views.activity, name="activity"),
]
