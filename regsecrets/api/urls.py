from __future__ import annotations

from django.urls import path, re_path

from regsecrets.api import fallback, views_deploy, views_helper, views_secrets, web

urlpatterns = [
    path("v1/openapi.json", web.openapi, name="api_openapi"),
    path("v1/secrets", views_secrets.secrets_collection, name="api_secrets"),
    path("v1/secrets/<str:secret_id>", views_secrets.secret_detail, name="api_secret"),
    path(
        "v1/secrets/<str:secret_id>/reveal",
        views_secrets.secret_reveal_view,
        name="api_secret_reveal",
    ),
    path("v1/apps", views_deploy.apps_collection, name="api_apps"),
    path("v1/apps/<str:app_id>", views_deploy.app_detail, name="api_app"),
    path("v1/services", views_deploy.services_collection, name="api_services"),
    path("v1/services/<str:service_id>", views_deploy.service_detail, name="api_service"),
    path("v1/deployments", views_deploy.deployments_collection, name="api_deployments"),
    path(
        "v1/deployments/<str:deployment_id>",
        views_deploy.deployment_detail,
        name="api_deployment",
    ),
    path("v1/docker-helper/verify", views_helper.verify_view, name="api_verify"),
    # Last of the /v1 routes: an unknown API path answers JSON, never the HTML 404.
    re_path(r"^v1(?:/.*)?$", fallback.unknown_path, name="api_unknown_path"),
    path("account/api-tokens/", web.token_list, name="api_tokens"),
    path(
        "account/api-tokens/<int:token_id>/revoke/", web.token_revoke_view, name="api_token_revoke"
    ),
]
