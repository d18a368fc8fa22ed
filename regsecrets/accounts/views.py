from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from regsecrets.accounts.context import SESSION_KEY, OrgRequest, SignedInRequest
from regsecrets.accounts.forms import AddMemberForm, OrganizationForm, RoleForm, SignupForm
from regsecrets.accounts.models import Membership, Role
from regsecrets.accounts.scoping import organization_required, require_manager
from regsecrets.accounts.services import (
    MembershipError,
    MembershipNotAllowed,
    membership_add,
    membership_set_role,
    organization_create,
    user_signup,
)


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if not settings.REGSECRETS_SIGNUP_ENABLED:
        return render(request, "registration/signup_closed.html", status=403)
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_signup(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                request=request,
            )
        except ValidationError as exc:  # taken by a concurrent sign-up since the form checked
            form.add_error(None, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome! Your personal organization is ready.")
            return redirect("registry_secrets:list")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def organization_create_view(request: SignedInRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = organization_create(
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                owner=request.user,
                request=request,
            )
        except ValidationError as exc:  # e.g. a double submit: the slug was taken meanwhile
            form.add_error(None, exc)
        else:
            request.session[SESSION_KEY] = organization.pk
            messages.success(request, f"Organization “{organization.name}” created.")
            return redirect("organization_detail")
    return render(request, "accounts/organization_form.html", {"form": form})


@login_required
@require_POST
def organization_switch(request: SignedInRequest) -> HttpResponse:
    slug = request.POST.get("organization", "")
    if "\x00" in slug or len(slug) > 64:  # PostgreSQL refuses NUL in a query: not a slug
        raise Http404("No such organization.")
    membership = (
        Membership.objects.filter(user=request.user, organization__slug=slug)
        .select_related("organization")
        .first()
    )
    if membership is None:
        raise Http404("No such organization.")
    request.session[SESSION_KEY] = membership.organization_id
    messages.info(request, f"Now working in {membership.organization.name}.")
    return redirect("home")


def _allowed_roles(request: OrgRequest) -> list[str]:
    if request.membership.role == Role.OWNER:
        return list(Role.values)
    return [Role.ADMIN, Role.MEMBER]


@organization_required
def organization_detail(request: OrgRequest) -> HttpResponse:
    organization = request.organization
    memberships = organization.memberships.select_related("user").order_by("user__username")
    can_manage = request.membership.can_manage
    form = None
    if can_manage:
        form = AddMemberForm(
            request.POST or None, organization=organization, allowed_roles=_allowed_roles(request)
        )
        if request.method == "POST" and form.is_valid():
            try:
                membership_add(
                    organization=organization,
                    user=form.cleaned_data["username"],
                    role=form.cleaned_data["role"],
                    actor=request.user,
                    request=request,
                )
            except MembershipNotAllowed as exc:  # the actor's role changed meanwhile
                raise PermissionDenied(str(exc))
            except MembershipError as exc:
                form.add_error("username", str(exc))
            else:
                messages.success(request, f"Added {form.cleaned_data['username'].username}.")
                return redirect("organization_detail")
    elif request.method == "POST":
        raise PermissionDenied("Only owners and admins can add members.")
    return render(
        request,
        "accounts/organization_detail.html",
        {
            "organization": organization,
            "memberships": memberships,
            "form": form,
            "can_manage": can_manage,
            "role_choices": [c for c in Role.choices if c[0] in _allowed_roles(request)],
        },
    )


@organization_required
@require_POST
def membership_role(request: OrgRequest, membership_id: int) -> HttpResponse:
    # Scoped lookup first: another organization's membership is a 404 for everyone.
    membership = get_object_or_404(
        Membership.objects.select_related("user", "organization"),
        pk=membership_id,
        organization=request.organization,
    )
    require_manager(request)
    form = RoleForm(request.POST)
    allowed = _allowed_roles(request)
    if not form.is_valid() or form.cleaned_data["role"] not in allowed:
        messages.error(request, "Choose a role you are allowed to give.")
        return redirect("organization_detail")
    if membership.role == Role.OWNER and request.membership.role != Role.OWNER:
        raise PermissionDenied("Only owners can change an owner's role.")
    try:
        membership_set_role(
            membership=membership,
            role=form.cleaned_data["role"],
            actor=request.user,
            request=request,
        )
    except MembershipNotAllowed as exc:
        # The checks above read the actor's role when the request began; the service
        # reads it again under the organization lock, so a concurrent demotion counts.
        raise PermissionDenied(str(exc))
    except MembershipError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{membership.user.username} is now {form.cleaned_data['role']}.")
    return redirect("organization_detail")
