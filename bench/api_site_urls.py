"""The app's URLs plus two bare JSON views reading the same rows, for bench/api.py.

The bare views do what the API does minus authentication, scoping, encryption and
auditing: one indexed read and JSON out. They exist only for the benchmark.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from regsecrets.registry_secrets.models import Secret


def _row(secret: Secret) -> dict:
    return {
        "id": str(secret.pk),
        "name": secret.name,
        "organization_id": str(secret.organization_id),
        "type": "REGISTRY",
        "created_at": secret.created_at.isoformat(),
        "updated_at": secret.updated_at.isoformat(),
        secret.provider: {"username": secret.username},
    }


def bare_list(request: HttpRequest, org_id: int) -> JsonResponse:
    limit = int(request.GET.get("limit", "10"))
    offset = int(request.GET.get("offset", "0"))
    rows = Secret.objects.filter(organization_id=org_id).defer("document")
    count = rows.count()
    page = rows.order_by("name", "pk")[offset : offset + limit]
    return JsonResponse({"secrets": [_row(s) for s in page], "limit": limit, "offset": offset, "count": count})


@csrf_exempt
def bare_reveal(request: HttpRequest, org_id: int, secret_id: str) -> JsonResponse:
    secret = Secret.objects.get(organization_id=org_id, pk=secret_id)
    # The stored (sealed) document is read but not opened.
    return JsonResponse({"value": {"username": secret.username, "document": len(secret.document)}})


urlpatterns = [
    path("bare/<int:org_id>/secrets", bare_list),
    path("bare/<int:org_id>/secrets/<str:secret_id>/reveal", bare_reveal),
    path("", include("regsecrets.urls")),
]
