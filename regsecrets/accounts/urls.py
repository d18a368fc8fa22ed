from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from regsecrets.accounts import views
from regsecrets.accounts.forms import LoginForm

urlpatterns = [
    path("accounts/signup/", views.signup, name="signup"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("organizations/new/", views.organization_create_view, name="organization_create"),
    path("organizations/switch/", views.organization_switch, name="organization_switch"),
    path("organization/", views.organization_detail, name="organization_detail"),
    path(
        "organization/members/<int:membership_id>/role/",
        views.membership_role,
        name="membership_role",
    ),
]
