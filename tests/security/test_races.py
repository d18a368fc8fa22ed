"""Races between two requests get what the later of two sequential requests gets.

Each race is tried ATTEMPTS times on PostgreSQL with real threads, both "at once"
(two clicks released together) and with the second request forced into the first
one's open transaction (see tests/security/racing.py). Every outcome must be one
a sequential order could give: never a 500, never a lost rule (an organization
without an owner, a service pointing at a deleted secret, two accounts with one
email address).
"""

from __future__ import annotations

import html
import itertools
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from regsecrets.accounts.context import SESSION_KEY
from regsecrets.accounts.models import Membership, Organization, Role
from regsecrets.accounts.services import (
    EMAIL_TAKEN,
    SLUG_TAKEN,
    USERNAME_TAKEN,
    MembershipError,
    membership_add,
    membership_set_role,
    organization_create,
    user_signup,
)
from regsecrets.accounts.tokens import token_create
from regsecrets.deploy.forms import ServiceForm
from regsecrets.deploy.models import Service
from regsecrets.deploy.services import SECRET_GONE, app_create, service_create, service_update
from regsecrets.registry_secrets.models import Secret
from regsecrets.registry_secrets.services import SecretInUse, secret_create, secret_delete
from tests.security.racing import ATTEMPTS, at_once, postgresql_only, while_first_holds

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple 42"
IMAGE = "ghcr.io/acme/web:1.0"
_numbers = itertools.count(1)


def _user(prefix: str):
    n = next(_numbers)
    return get_user_model().objects.create_user(
        username=f"{prefix}{n}", email=f"{prefix}{n}@example.com", password=PASSWORD
    )


def _client(user, organization) -> Client:
    # Outcomes are read from status codes: a 500 must show as a 500, not as an
    # exception re-raised in whichever thread's client caught the signal.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = organization.pk
    session.save()
    return client


def _two_owners():
    a, b = _user("owner-a"), _user("owner-b")
    organization = organization_create(name=f"Team {a.pk}", slug=f"team-{a.pk}", owner=a)
    Membership.objects.create(organization=organization, user=b, role=Role.OWNER)
    return organization, a, b


def _membership(organization, user) -> Membership:
    return Membership.objects.select_related("user", "organization").get(
        organization=organization, user=user
    )


def _owners(organization) -> int:
    return Membership.objects.filter(organization=organization, role=Role.OWNER).count()


# --- item 3: two owners demoting each other ---------------------------------------------


def _demote(organization, *, target, actor, by_actor: bool):
    membership = _membership(organization, target)
    return lambda: membership_set_role(
        membership=membership, role=Role.ADMIN, actor=actor if by_actor else None
    )


def _sequential_refusal(by_actor: bool) -> str:
    organization, a, b = _two_owners()
    _demote(organization, target=b, actor=a, by_actor=by_actor)()
    with pytest.raises(MembershipError) as refused:
        _demote(organization, target=a, actor=b, by_actor=by_actor)()
    return str(refused.value)


@pytest.mark.parametrize("by_actor", [True, False], ids=["by-owners", "by-operator-command"])
def test_two_owners_demoting_each_other_at_once_leave_one_owner(by_actor):
    expected = _sequential_refusal(by_actor)
    for _ in range(ATTEMPTS):
        organization, a, b = _two_owners()
        outcomes = at_once(
            _demote(organization, target=b, actor=a, by_actor=by_actor),
            _demote(organization, target=a, actor=b, by_actor=by_actor),
        )
        assert _owners(organization) == 1
        assert sorted(o.ok for o in outcomes) == [False, True]
        (refused,) = [o.error for o in outcomes if not o.ok]
        assert isinstance(refused, MembershipError)
        assert str(refused) == expected


@pytest.mark.parametrize("by_actor", [True, False], ids=["by-owners", "by-operator-command"])
def test_a_demotion_waits_for_a_concurrent_one_and_then_refuses(by_actor):
    expected = _sequential_refusal(by_actor)
    for _ in range(ATTEMPTS):
        organization, a, b = _two_owners()
        first, second, waited = while_first_holds(
            _demote(organization, target=b, actor=a, by_actor=by_actor),
            _demote(organization, target=a, actor=b, by_actor=by_actor),
        )
        assert first.ok
        assert waited, "the second demotion must wait for the first one's lock"
        assert isinstance(second.error, MembershipError)
        assert str(second.error) == expected
        assert _owners(organization) == 1


def test_two_owners_demoting_each_other_on_the_site_never_leave_none():
    def demote_on_site(client, target_membership):
        url = reverse("membership_role", args=[target_membership.pk])
        return lambda: client.post(url, {"role": Role.ADMIN}).status_code

    organization, a, b = _two_owners()
    ma, mb = _membership(organization, a), _membership(organization, b)
    sequential = [
        demote_on_site(_client(a, organization), mb)(),
        demote_on_site(_client(b, organization), ma)(),
    ]
    assert sequential == [302, 403]  # b is no longer an owner: a's role is not b's to change
    for attempt in range(ATTEMPTS):
        organization, a, b = _two_owners()
        ma, mb = _membership(organization, a), _membership(organization, b)
        calls = (
            demote_on_site(_client(a, organization), mb),
            demote_on_site(_client(b, organization), ma),
        )
        if attempt % 2:
            first, second, waited = while_first_holds(*calls)
            assert waited
            statuses = [first.value, second.value]
        else:
            statuses = sorted(o.value for o in at_once(*calls))
        assert statuses == sequential
        assert _owners(organization) == 1


def test_adding_one_member_twice_at_once_is_one_membership_and_one_clear_error():
    for attempt in range(ATTEMPTS):
        organization, a, _ = _two_owners()
        newcomer = _user("newcomer")

        def add(role, organization=organization, newcomer=newcomer, a=a):
            return lambda: membership_add(
                organization=organization, user=newcomer, role=role, actor=a
            )

        if attempt % 2:
            outcomes = at_once(add(Role.MEMBER), add(Role.ADMIN))
        else:
            first, second, waited = while_first_holds(add(Role.MEMBER), add(Role.ADMIN))
            assert waited
            outcomes = [first, second]
        assert sorted(o.ok for o in outcomes) == [False, True]
        (refused,) = [o.error for o in outcomes if not o.ok]
        assert isinstance(refused, MembershipError)
        assert "already a member" in str(refused)
        assert Membership.objects.filter(organization=organization, user=newcomer).count() == 1


# --- item 4a: deleting a secret while a service is being created with it ------------------


def _app_and_secret():
    owner = _user("deployer")
    organization = organization_create(name=f"Org {owner.pk}", slug=f"org-{owner.pk}", owner=owner)
    secret = secret_create(
        organization=organization,
        name="ghcr-bot",
        provider="github_registry",
        data={"username": "octocat", "password": "ghp_x"},
    )
    app = app_create(organization=organization, name="shop")
    return owner, organization, app, secret


def _assert_one_order(*, created: bool, deleted: bool, secret_pk) -> None:
    """Exactly one sequential order happened, and nothing points at nothing."""
    assert created != deleted
    assert Secret.objects.filter(pk=secret_pk).exists() is not deleted
    services = Service.objects.filter(app__name="shop", registry_secret_id=secret_pk)
    assert services.exists() is created
    # No service anywhere references a secret that is gone.
    orphans = Service.objects.exclude(registry_secret=None).exclude(
        registry_secret_id__in=Secret.objects.values("pk")
    )
    assert not orphans.exists()


def _check_service_outcomes(create, delete, secret_pk) -> None:
    if create.ok:
        assert isinstance(delete.error, SecretInUse), delete.error
    else:
        assert delete.ok, delete.error
        assert isinstance(create.error, ValidationError), create.error
        assert create.error.message_dict == {"registry_secret": [SECRET_GONE]}
    _assert_one_order(created=create.ok, deleted=delete.ok, secret_pk=secret_pk)


def _create_service(app, secret):
    return lambda: service_create(app=app, name="web", image=IMAGE, registry_secret=secret)


def _delete_secret(pk):
    # Its own instance, as a request would have: delete() clears the pk of the
    # instance it deletes, which must not leak into the other thread's call.
    return lambda: secret_delete(secret=Secret.objects.get(pk=pk))


def test_service_create_and_secret_delete_at_once_take_turns():
    seen = set()
    for _ in range(ATTEMPTS):
        _, _, app, secret = _app_and_secret()
        create, delete = at_once(_create_service(app, secret), _delete_secret(secret.pk))
        _check_service_outcomes(create, delete, secret.pk)
        seen.add("created" if create.ok else "deleted")
    assert seen  # which order wins is the scheduler's choice; both are correct


@pytest.mark.parametrize("delete_first", [True, False], ids=["delete-first", "create-first"])
def test_service_create_inside_a_secret_delete_gets_a_field_error_or_blocks_it(delete_first):
    for _ in range(ATTEMPTS):
        _, _, app, secret = _app_and_secret()
        create_call, delete_call = (
            _create_service(app, secret),
            _delete_secret(secret.pk),
        )
        if delete_first:
            delete, create, waited = while_first_holds(delete_call, create_call)
            assert delete.ok
            assert not create.ok
        else:
            create, delete, waited = while_first_holds(create_call, delete_call)
            assert create.ok
            assert not delete.ok
        assert waited, "the second writer must wait for the secret's row lock"
        _check_service_outcomes(create, delete, secret.pk)


@pytest.mark.parametrize("delete_first", [True, False], ids=["delete-first", "update-first"])
def test_pointing_a_service_at_a_secret_being_deleted(delete_first):
    for _ in range(ATTEMPTS):
        _, _, app, secret = _app_and_secret()
        service = service_create(app=app, name="web", image=IMAGE, registry_secret=None)

        def update_call(service=service, secret=secret):
            return service_update(service=service, name="web", image=IMAGE, registry_secret=secret)

        delete_call = _delete_secret(secret.pk)

        if delete_first:
            delete, update, waited = while_first_holds(delete_call, update_call)
        else:
            update, delete, waited = while_first_holds(update_call, delete_call)
        assert waited
        _check_service_outcomes(update, delete, secret.pk)


def test_service_form_and_secret_delete_page_at_once_never_500():
    outcomes = set()
    for attempt in range(ATTEMPTS):
        owner, organization, app, secret = _app_and_secret()
        creator, deleter = _client(owner, organization), _client(owner, organization)
        create_url = reverse("deploy:service_create", kwargs={"app_id": app.pk})
        delete_url = reverse("registry_secrets:delete", kwargs={"pk": secret.pk})

        def create_call(creator=creator, create_url=create_url, secret=secret):
            data = {"name": "web", "image": IMAGE, "registry_secret": str(secret.pk)}
            return creator.post(create_url, data)

        def delete_call(deleter=deleter, delete_url=delete_url):
            return deleter.post(delete_url, {"confirm_name": "ghcr-bot"})

        if attempt % 2:
            create, delete = at_once(create_call, delete_call)
        else:
            delete, create, _ = while_first_holds(delete_call, create_call)
        created = create.value.status_code == 302
        deleted = delete.value.status_code == 302
        if created:
            assert delete.value.status_code == 409  # the delete page lists the service
        else:
            assert create.value.status_code == 200
            page = html.unescape(create.value.content.decode())
            # The field error of the sequential case (the form's choice is gone) or,
            # when the delete won after the form's check, the service's.
            gone_from_choices = ServiceForm.base_fields["registry_secret"].error_messages[
                "invalid_choice"
            ]
            assert SECRET_GONE in page or gone_from_choices in page
            assert 'id="id_registry_secret"' in page
            assert "is-invalid" in page
        _assert_one_order(created=created, deleted=deleted, secret_pk=secret.pk)
        outcomes.add((create.value.status_code, delete.value.status_code))
    assert outcomes <= {(302, 409), (200, 302)}


def test_api_service_create_and_secret_delete_at_once_answer_4xx_never_500():
    secret_field = "definition.docker.image_registry_secret"
    for attempt in range(ATTEMPTS):
        owner, organization, app, secret = _app_and_secret()
        token = token_create(user=owner, organization=organization, name="race")[1]
        headers = {"Authorization": f"Bearer {token}"}
        body = json.dumps(
            {
                "app_id": str(app.pk),
                "definition": {
                    "name": "web",
                    "docker": {"image": IMAGE, "image_registry_secret": "ghcr-bot"},
                },
            }
        )

        def create_call(body=body, headers=headers):
            client = Client(raise_request_exception=False)
            return client.post(
                "/v1/services", body, content_type="application/json", headers=headers
            )

        def delete_call(secret=secret, headers=headers):
            client = Client(raise_request_exception=False)
            return client.delete(f"/v1/secrets/{secret.pk}", headers=headers)

        if attempt % 2:
            create, delete = at_once(create_call, delete_call)
        else:
            delete, create, _ = while_first_holds(delete_call, create_call)
        created = create.value.status_code == 200
        deleted = delete.value.status_code == 200
        if created:
            assert delete.value.status_code == 409
            assert delete.value.json()["code"] == "failed_precondition"
        else:
            assert create.value.status_code == 400, create.value.content
            assert [f["field"] for f in create.value.json()["fields"]] == [secret_field]
        _assert_one_order(created=created, deleted=deleted, secret_pk=secret.pk)


# --- item 4b: a double-submitted new-organization form ------------------------------------


def test_organization_create_at_once_with_one_slug_is_one_field_error():
    for _ in range(ATTEMPTS):
        owner = _user("founder")
        slug = f"initech-{owner.pk}"

        def create(owner=owner, slug=slug):
            return organization_create(name="Initech", slug=slug, owner=owner)

        outcomes = at_once(create, create)
        assert sorted(o.ok for o in outcomes) == [False, True]
        (refused,) = [o.error for o in outcomes if not o.ok]
        assert isinstance(refused, ValidationError)
        assert refused.message_dict == {"slug": [SLUG_TAKEN]}
        assert Organization.objects.filter(slug=slug).count() == 1
        assert Membership.objects.filter(organization__slug=slug).count() == 1


def test_double_submitted_organization_form_is_a_slug_field_error_not_a_500():
    for attempt in range(ATTEMPTS):
        owner = _user("founder")
        first_org = organization_create(
            name=f"Home {owner.pk}", slug=f"home-{owner.pk}", owner=owner
        )
        slug = f"initech-{owner.pk}"
        clients = [_client(owner, first_org), _client(owner, first_org)]

        def submit(client):
            return lambda: client.post(
                reverse("organization_create"), {"name": "Initech", "slug": slug}
            )

        if attempt % 2:
            outcomes = at_once(submit(clients[0]), submit(clients[1]))
        else:
            first, second, waited = while_first_holds(submit(clients[0]), submit(clients[1]))
            assert waited  # the unique index makes the second insert wait for the first
            outcomes = [first, second]
        statuses = sorted(o.value.status_code for o in outcomes)
        assert statuses == [200, 302]
        (page,) = [o.value for o in outcomes if o.value.status_code == 200]
        assert SLUG_TAKEN in page.content.decode()
        assert Organization.objects.filter(slug=slug).count() == 1


def test_sign_ups_whose_usernames_make_the_same_slug_both_get_an_organization():
    for _ in range(ATTEMPTS):
        n = next(_numbers)
        # slugify() drops the dot: both personal organizations want the slug "bobN".
        outcomes = at_once(
            lambda n=n: user_signup(
                username=f"bob.{n}", email=f"dot{n}@example.com", password=PASSWORD
            ),
            lambda n=n: user_signup(
                username=f"bob{n}", email=f"plain{n}@example.com", password=PASSWORD
            ),
        )
        assert all(o.ok for o in outcomes), [o.error for o in outcomes]
        slugs = sorted(
            Organization.objects.filter(slug__startswith=f"bob{n}").values_list("slug", flat=True)
        )
        assert slugs == [f"bob{n}", f"bob{n}-2"]


# --- item 4c: two sign-ups with one email address -----------------------------------------


def test_sign_ups_at_once_with_one_email_make_one_account():
    for _ in range(ATTEMPTS):
        n = next(_numbers)
        outcomes = at_once(
            lambda n=n: user_signup(
                username=f"carol{n}", email=f"carol{n}@example.com", password=PASSWORD
            ),
            lambda n=n: user_signup(
                username=f"caz{n}", email=f"Carol{n}@EXAMPLE.com", password=PASSWORD
            ),
        )
        assert sorted(o.ok for o in outcomes) == [False, True]
        (refused,) = [o.error for o in outcomes if not o.ok]
        assert isinstance(refused, ValidationError)
        assert refused.message_dict == {"email": [EMAIL_TAKEN]}
        assert get_user_model().objects.filter(email__iexact=f"carol{n}@example.com").count() == 1
        # The loser's transaction left nothing behind: no user, no organization.
        assert Organization.objects.filter(slug__in=[f"carol{n}", f"caz{n}"]).count() == 1


def test_sign_ups_at_once_with_one_username_in_two_cases_make_one_account():
    for _ in range(ATTEMPTS):
        n = next(_numbers)
        outcomes = at_once(
            lambda n=n: user_signup(
                username=f"erin{n}", email=f"erin{n}@example.com", password=PASSWORD
            ),
            lambda n=n: user_signup(
                username=f"Erin{n}", email=f"erin.b{n}@example.com", password=PASSWORD
            ),
        )
        assert sorted(o.ok for o in outcomes) == [False, True]
        (refused,) = [o.error for o in outcomes if not o.ok]
        assert isinstance(refused, ValidationError)
        assert refused.message_dict == {"username": [USERNAME_TAKEN]}
        assert get_user_model().objects.filter(username__iexact=f"erin{n}").count() == 1
        assert Organization.objects.filter(slug__startswith=f"erin{n}").count() == 1


def test_sign_up_forms_at_once_with_one_email_get_the_email_field_error():
    url = reverse("signup")
    for attempt in range(ATTEMPTS):
        n = next(_numbers)

        def sign_up(username, email):
            client = Client(raise_request_exception=False)
            data = {
                "username": username,
                "email": email,
                "password1": PASSWORD,
                "password2": PASSWORD,
            }
            return lambda: client.post(url, data)

        calls = (
            sign_up(f"dan{n}", f"dan{n}@example.com"),
            sign_up(f"daniel{n}", f"DAN{n}@example.com"),
        )
        if attempt % 2:
            outcomes = at_once(*calls)
        else:
            first, second, waited = while_first_holds(*calls)
            assert waited  # the unique index on LOWER(email) makes the second insert wait
            outcomes = [first, second]
        assert sorted(o.value.status_code for o in outcomes) == [200, 302]
        (page,) = [o.value.content.decode() for o in outcomes if o.value.status_code == 200]
        assert EMAIL_TAKEN in page
        assert get_user_model().objects.filter(email__iexact=f"dan{n}@example.com").count() == 1
