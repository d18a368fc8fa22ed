"""/v1/docker-helper/verify: can this image be pulled, with this secret?"""

from __future__ import annotations

from django.http import JsonResponse

from regsecrets.accounts.context import OrgRequest
from regsecrets.api.auth import endpoint
from regsecrets.registries import client
from regsecrets.registry_secrets import verification

# Koyeb's VerifyDockerImageReplyErrCode has no TLS or FORBIDDEN_ADDRESS; the SDK
# refuses unknown enum values, so those are reported as REGISTRY_ERROR in "code"
# and precisely in "detail_code".
KOYEB_CODES = frozenset(
    {
        client.AUTH_ACCESS_DENIED,
        client.ANON_ACCESS_DENIED,
        client.AUTH_NOT_FOUND,
        client.ANON_NOT_FOUND,
        client.REGISTRY_ERROR,
        client.TIMEOUT,
        client.DNS,
        client.MALFORMED,
        client.INVALID_SCHEME,
    }
)


def verify(request: OrgRequest) -> JsonResponse:
    # Validation, scoping, the per-user budget shared with the site's buttons,
    # decryption and the audit event are the use case's; typed errors become
    # Koyeb-shaped errors in the endpoint wrapper.
    result = verification.verify_image(
        organization=request.organization,
        image=request.GET.get("image", ""),
        secret=request.GET.get("secret_id", "") or None,
        actor=request.user,
        request=request,
        rate_limit=True,
        # Koyeb answers a malformed reference as a result (MALFORMED), not a 400.
        malformed_is_result=True,
    )
    if result.success:
        code = "UNKNOWN"  # Koyeb's enum default: no error
    else:
        code = result.code if result.code in KOYEB_CODES else client.REGISTRY_ERROR
    return JsonResponse(
        {
            "success": result.success,
            "reason": result.reason,
            "code": code,
            "detail_code": result.code,
            "registry": result.registry,
        }
    )


verify_view = endpoint(GET=verify)
