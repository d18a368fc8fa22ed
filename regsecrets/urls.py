from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from regsecrets.core import views as core_views

urlpatterns = [
    path("", core_views.home, name="home"),
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics, name="metrics"),
    path("", include("regsecrets.accounts.urls")),
    path("secrets/", include("regsecrets.registry_secrets.urls")),
    path("", include("regsecrets.deploy.urls")),
    path("", include("regsecrets.audit.urls")),
    path("", include("regsecrets.api.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "regsecrets.core.views.error_400"
handler403 = "regsecrets.core.views.error_403"
handler404 = "regsecrets.core.views.error_404"
handler500 = "regsecrets.core.views.error_500"

admin.site.site_header = "regsecrets administration"
admin.site.site_title = "regsecrets admin"
