from __future__ import annotations

import pytest
from django.urls import reverse

from regsecrets.accounts.models import Membership, Organization, Role
from regsecrets.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_user_creates_organization_and_it_becomes_current(alice_client, alice):
    response = alice_client.post(reverse("organization_create"), {"name": "Initech", "slug": ""})
    assert response.status_code == 302
    organization = Organization.objects.get(slug="initech")
    assert Membership.objects.get(organization=organization, user=alice).role == Role.OWNER
    assert alice_client.session["organization_id"] == organization.pk


def test_duplicate_slug_is_a_field_error(alice_client, org):
    response = alice_client.post(reverse("organization_create"), {"name": "Acme", "slug": "acme"})
    assert response.status_code == 200
    assert "slug" in response.context["form"].errors


def test_switching_to_an_organization_of_the_user(alice_client, alice, make_org):
    second = make_org(alice, "second")
    response = alice_client.post(reverse("organization_switch"), {"organization": "second"})
    assert response.status_code == 302
    assert alice_client.session["organization_id"] == second.pk
    page = alice_client.get(reverse("organization_detail"))
    assert page.context["organization"] == second


def test_switching_to_another_users_organization_is_404(alice_client, other_org):
    response = alice_client.post(reverse("organization_switch"), {"organization": other_org.slug})
    assert response.status_code == 404
    assert alice_client.session["organization_id"] != other_org.pk


def test_session_pointing_at_foreign_organization_falls_back_to_own(alice_client, org, other_org):
    session = alice_client.session
    session["organization_id"] = other_org.pk
    session.save()
    page = alice_client.get(reverse("organization_detail"))
    assert page.context["organization"] == org


def test_owner_adds_member_by_username(alice_client, org, bob):
    response = alice_client.post(
        reverse("organization_detail"), {"username": "bob", "role": "member"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(organization=org, user=bob).role == Role.MEMBER
    assert AuditEvent.objects.filter(
        organization=org, action="member.added", object_name="bob"
    ).exists()


def test_adding_unknown_user_is_a_field_error(alice_client, org):
    response = alice_client.post(
        reverse("organization_detail"), {"username": "nobody", "role": "member"}
    )
    assert response.status_code == 200
    assert "username" in response.context["form"].errors


@pytest.mark.parametrize(
    ("role", "can_add"), [(Role.OWNER, True), (Role.ADMIN, True), (Role.MEMBER, False)]
)
def test_only_owners_and_admins_add_members(client, make_user, make_org, alice, role, can_add):
    actor = make_user("actor")
    target = make_user("target")
    organization = make_org(alice, "team", members={actor: role})
    client.force_login(actor)
    response = client.post(reverse("organization_detail"), {"username": "target", "role": "member"})
    added = Membership.objects.filter(organization=organization, user=target).exists()
    assert added is can_add
    assert response.status_code == (302 if can_add else 403)


def test_admin_cannot_grant_owner(client, make_user, make_org, alice):
    admin_user = make_user("adm")
    target = make_user("target")
    organization = make_org(alice, "team", members={admin_user: Role.ADMIN, target: Role.MEMBER})
    client.force_login(admin_user)
    membership = Membership.objects.get(organization=organization, user=target)
    client.post(reverse("membership_role", args=[membership.pk]), {"role": "owner"})
    membership.refresh_from_db()
    assert membership.role == Role.MEMBER


def test_owner_changes_role_and_it_is_audited(alice_client, org, bob):
    membership = Membership.objects.create(organization=org, user=bob, role=Role.MEMBER)
    alice_client.post(reverse("membership_role", args=[membership.pk]), {"role": "admin"})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    event = AuditEvent.objects.get(action="member.role_changed")
    assert event.details == {"from": "member", "to": "admin"}


def test_last_owner_cannot_be_demoted(alice_client, org, alice):
    membership = Membership.objects.get(organization=org, user=alice)
    alice_client.post(reverse("membership_role", args=[membership.pk]), {"role": "member"})
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_changing_role_of_another_organizations_membership_is_404(alice_client, other_org, bob):
    foreign = Membership.objects.get(organization=other_org, user=bob)
    response = alice_client.post(reverse("membership_role", args=[foreign.pk]), {"role": "member"})
    assert response.status_code == 404


def test_member_without_organization_is_sent_to_create_one(client, make_user):
    loner = make_user("loner")
    client.force_login(loner)
    response = client.get(reverse("organization_detail"))
    assert response.status_code == 302
    assert response["Location"] == reverse("organization_create")


def test_a_name_longer_than_a_slug_gets_a_slug_that_fits(alice_client):
    name = "Very long organization name " * 3  # 84 characters, within the name's 100
    response = alice_client.post(reverse("organization_create"), {"name": name, "slug": ""})
    assert response.status_code == 302
    slug = Organization.objects.get(name=name.strip()).slug
    assert len(slug) <= 64
    assert not slug.endswith("-")


def test_the_role_service_checks_the_actors_role_as_it_is_now(make_user, make_org, alice):
    from regsecrets.accounts.services import MembershipNotAllowed, membership_set_role

    second = make_user("second")
    organization = make_org(alice, "team", members={second: Role.OWNER})
    # The second owner was demoted after their page loaded: the service reads the
    # role again, so they can no longer take the owner role away from anyone.
    Membership.objects.filter(organization=organization, user=second).update(role=Role.ADMIN)
    alice_membership = Membership.objects.get(organization=organization, user=alice)
    with pytest.raises(MembershipNotAllowed):
        membership_set_role(membership=alice_membership, role=Role.MEMBER, actor=second)
    alice_membership.refresh_from_db()
    assert alice_membership.role == Role.OWNER


def test_a_demoted_owner_posting_a_stale_role_form_is_refused(client, make_user, make_org, alice):
    second = make_user("second")
    organization = make_org(alice, "team", members={second: Role.OWNER})
    client.force_login(second)
    session = client.session
    session["organization_id"] = organization.pk
    session.save()
    Membership.objects.filter(organization=organization, user=second).update(role=Role.ADMIN)
    alice_membership = Membership.objects.get(organization=organization, user=alice)
    response = client.post(reverse("membership_role", args=[alice_membership.pk]), {"role": "member"})
    assert response.status_code == 403
    alice_membership.refresh_from_db()
    assert alice_membership.role == Role.OWNER


def test_adding_an_existing_member_through_the_service_is_a_clear_error(org, bob):
    from regsecrets.accounts.services import MembershipError, membership_add

    membership_add(organization=org, user=bob, role=Role.MEMBER)
    with pytest.raises(MembershipError, match="already a member"):
        membership_add(organization=org, user=bob, role=Role.ADMIN)
    assert Membership.objects.get(organization=org, user=bob).role == Role.MEMBER


def test_organization_service_refuses_a_taken_slug_with_a_slug_field_error(alice, org):
    from django.core.exceptions import ValidationError

    from regsecrets.accounts.services import SLUG_TAKEN, organization_create

    with pytest.raises(ValidationError) as refused:
        organization_create(name="Acme again", slug="acme", owner=alice)
    assert refused.value.message_dict == {"slug": [SLUG_TAKEN]}
    assert Organization.objects.filter(slug="acme").count() == 1
