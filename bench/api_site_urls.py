"""The app's URLs plus bare JSON views doing the API's work, for bench/api.py.

The bare views do what the API does minus authentication, scoping helpers, input
parsing and error mapping: the list runs the same queries (the count row, the
page's first key, the keyset page) and the reveal reads the row, decrypts it and
writes the audit row durably, as the API does. They exist only for the benchmark.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from regsecrets.audit.models import AuditEvent
from regsecrets.core.paging import keyset_page
from regsecrets.crypto.fields import open_document
from regsecrets.registry_secrets.models import Secret, SecretCount


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
    count = SecretCount.objects.filter(organization_id=org_id).values_list("secrets", flat=True)[0]
    rows = Secret.objects.filter(organization_id=org_id).defer("document")
    page = keyset_page(rows, ("name",), offset=offset, limit=limit, count=count)
    return JsonResponse({"secrets": [_row(s) for s in page], "limit": limit, "offset": offset, "count": count})


@csrf_exempt
def bare_reveal(request: HttpRequest, org_id: int, secret_id: str) -> JsonResponse:
    secret = Secret.objects.get(organization_id=org_id, pk=secret_id)
    fields = open_document(secret, "document").get("fields") or {}
    with transaction.atomic():
        AuditEvent.objects.create(
            organization_id=org_id,
            action="secret.revealed",
            object_type="secret",
            object_id=str(secret.pk),
            object_name=secret.name,
        )
    return JsonResponse({"value": dict(fields)})


urlpatterns = [
    path("bare/<int:org_id>/secrets", bare_list),
    path("bare/<int:org_id>/secrets/<str:secret_id>/reveal", bare_reveal),
    path("", include("regsecrets.urls")),
]
