"""Browser pages for personal API tokens, and the OpenAPI document."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from regsecrets.accounts.context import SignedInRequest
from regsecrets.accounts.models import ApiToken
from regsecrets.accounts.tokens import TokenError, token_create, token_revoke
from regsecrets.api.forms import TokenForm
from regsecrets.api.schema import document_bytes


@csrf_exempt  # like every /v1 path: a POST is a 405, not a CSRF failure
@require_GET
def openapi(request: HttpRequest) -> HttpResponse:
    """The OpenAPI document, generated from the code (``api.schema``)."""
    return HttpResponse(document_bytes(), content_type="application/json")


@never_cache
@login_required
@sensitive_variables("raw")
def token_list(request: SignedInRequest) -> HttpResponse:
    """The user's tokens in every organization, and a form to issue one.

    A new token is rendered in the POST response itself (never stored in the
    session or a message) and cannot be shown again.
    """
    form = TokenForm(
        request.POST or None,
        user=request.user,
        initial={"organization": request.organization},
    )
    raw = None
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            new_token, raw = token_create(
                user=request.user,
                organization=form.cleaned_data["organization"],
                name=form.cleaned_data["name"],
                actor=request.user,
                request=request,
            )
        except TokenError as exc:
            form.add_error("name", str(exc))
        else:
            form = TokenForm(user=request.user, initial={"organization": new_token.organization})
    tokens = ApiToken.objects.filter(user=request.user).select_related("organization")
    response = render(
        request,
        "api/tokens.html",
        {"form": form, "tokens": tokens, "new_token": new_token, "raw_token": raw},
        status=400 if request.method == "POST" and form.errors else 200,
    )
    return response


@login_required
@require_POST
def token_revoke_view(request: SignedInRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    token_revoke(token=token, actor=request.user, request=request)
    messages.success(request, f"The token “{token.name}” is revoked.")
    return redirect("api_tokens")
