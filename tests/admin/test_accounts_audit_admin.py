"""Organizations, memberships, API tokens (prefixes only) and the read-only audit trail."""

from __future__ import annotations

import pytest
from django.contrib.admin import site
from django.core.exceptions import ValidationError
from django.urls import reverse

from regsecrets.accounts.models import ApiToken
from regsecrets.accounts.tokens import token_create
from regsecrets.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_audit_events_can_be_viewed_but_not_added_changed_or_deleted(admin, secret):
    event = AuditEvent.objects.get(action="secret.created")
    change = reverse("admin:audit_auditevent_change", args=[event.pk])
    assert admin.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    assert admin.get(change).status_code == 200  # the view-only page
    assert admin.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert admin.post(reverse("admin:audit_auditevent_add"), {"action": "x"}).status_code == 403
    assert admin.post(change, {"action": "forged"}).status_code == 403
    assert admin.get(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    assert (
        admin.post(
            reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    bulk = admin.post(
        reverse("admin:audit_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    event.refresh_from_db()
    assert event.action == "secret.created"


def test_api_tokens_show_prefixes_never_tokens_or_digests(admin, alice, org):
    token, raw = token_create(user=alice, organization=org, name="ci")
    pages = [
        admin.get(reverse("admin:accounts_apitoken_changelist")),
        admin.get(reverse("admin:accounts_apitoken_change", args=[token.pk])),
    ]
    for page in pages:
        assert page.status_code == 200
        text = page.content.decode()
        assert token.prefix in text
        assert raw not in text
        assert token.digest not in text
    assert admin.get(reverse("admin:accounts_apitoken_add")).status_code == 403


def test_revoke_action_revokes_through_the_token_service(admin, superuser, alice, org):
    token, _ = token_create(user=alice, organization=org, name="ci")
    admin.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoked", actor=superuser).exists()


def test_organization_and_membership_pages(admin, org, alice):
    for url in [
        reverse("admin:accounts_organization_changelist"),
        reverse("admin:accounts_organization_change", args=[org.pk]),
        reverse("admin:accounts_membership_changelist"),
        reverse("admin:accounts_membership_change", args=[org.memberships.get().pk]),
    ]:
        assert admin.get(url).status_code == 200, url


def test_a_changelist_lookup_the_column_cannot_hold_is_refused_never_a_500(admin, secret):
    """The admin accepts a lookup on any field from the query string; a value the
    column's type cannot hold is a bad lookup (Django's ?e=1 redirect), not an error
    the database raises while the page renders (an inet column on PostgreSQL)."""
    admin.raise_request_exception = False
    failures = []
    for model in site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for field in model._meta.concrete_fields:
            lookups = ("", "__in", "__gt", "__startswith")
            for lookup in (f"{field.name}{suffix}" for suffix in lookups):
                reply = admin.get(url, {lookup: "xx"})
                if reply.status_code >= 500:
                    failures.append((model.__name__, lookup, reply.status_code))
    assert failures == [], failures


def test_an_address_lookup_fails_when_the_filter_is_built(secret):
    with pytest.raises(ValidationError):
        AuditEvent.objects.filter(ip_address="xx")
    with pytest.raises(ValidationError):
        AuditEvent.objects.filter(ip_address__in=["10.0.0.1", "nope"])
    event = AuditEvent.objects.get(action="secret.created")
    AuditEvent.objects.filter(pk=event.pk).update(ip_address="10.0.0.7")
    assert list(AuditEvent.objects.filter(ip_address="10.0.0.7")) == [event]
    assert list(AuditEvent.objects.filter(ip_address__in=["10.0.0.7", "::1"])) == [event]


def test_the_admin_answers_a_bad_address_lookup_with_its_bad_lookup_redirect(admin, secret):
    reply = admin.get(reverse("admin:audit_auditevent_changelist"), {"ip_address": "xx"})
    assert reply.status_code == 302
    assert reply["Location"].endswith("?e=1")
