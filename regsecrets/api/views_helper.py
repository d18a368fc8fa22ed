"""/v1/docker-helper/verify: can this image be pulled, with this secret?"""

from __future__ import annotations

from django.http import JsonResponse

from regsecrets.accounts.context import OrgRequest
from regsecrets.accounts.scoping import get_scoped_or_404
from regsecrets.api import errors
from regsecrets.api.auth import endpoint
from regsecrets.core.ratelimit import verify_rate_limited
from regsecrets.registries import MAX_IMAGE_LENGTH, client
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.verification import secret_verify_image

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
    image = request.GET.get("image", "")
    if not image.strip():
        raise errors.field_error("image", "This field is required.")
    if len(image) > MAX_IMAGE_LENGTH:
        raise errors.field_error("image", f"Use at most {MAX_IMAGE_LENGTH} characters.")
    # The same per-user budget as the site's buttons: each check reaches out.
    if verify_rate_limited(request.user):
        raise errors.ApiError(
            429, errors.RESOURCE_EXHAUSTED, "Too many verifications; try again in a minute."
        )
    secret_id = request.GET.get("secret_id", "")
    secret = None
    if secret_id:
        secret = get_scoped_or_404(Secret.objects.all(), request.organization, pk=secret_id)
    # Decrypts in memory and audits secret.verified when a secret is used;
    # DecryptionError -> 409 in the endpoint wrapper.
    result = secret_verify_image(image=image, secret=secret, actor=request.user, request=request)
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
