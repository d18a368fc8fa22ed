"""The verification use cases themselves, called the way every face calls them.

No outbound traffic: the secrets point at loopback, which the SSRF guard refuses
(FORBIDDEN_ADDRESS) before connecting. Real registries: tests/verification/.
"""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404

from regsecrets.audit.models import AuditEvent
from regsecrets.crypto import DecryptionError
from regsecrets.registry_secrets import services, verification
from regsecrets.registry_secrets.errors import (
    RATE_LIMITED_MESSAGE,
    InvalidInput,
    NotFound,
    RateLimited,
    Undecryptable,
    undecryptable_message,
)
from regsecrets.registry_secrets.models import Secret
from tests.conftest import CANARY
from tests.registry_secrets.conftest import corrupt_ciphertext

pytestmark = pytest.mark.django_db

LOOPBACK = "127.0.0.1:5999"
OTHER_LOOPBACK = "127.0.0.2:5999"
PRIVATE_INPUT = {"url": LOOPBACK, "username": "deploy", "password": CANARY}
IMAGE = f"{LOOPBACK}/team/app:v1"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def secret(org, make_secret):
    return make_secret(org, "loop", "private", PRIVATE_INPUT)


@pytest.fixture
def opened(monkeypatch):
    """Counts decryptions: every stored document is opened through services.open_document."""
    calls: list[object] = []
    real = services.open_document

    def counting(instance, field):
        calls.append(instance.pk)
        return real(instance, field)

    monkeypatch.setattr(services, "open_document", counting)
    return calls


def corrupted(secret: Secret) -> Secret:
    """The secret as a caller loads it after its ciphertext was damaged."""
    corrupt_ciphertext(secret)
    return Secret.objects.get(pk=secret.pk)


def verified_events():
    return list(AuditEvent.objects.filter(action="secret.verified").order_by("id"))


# --- One audit shape ------------------------------------------------------------------


def test_a_stored_secret_check_audits_one_event_per_host_in_the_shared_shape(alice, secret):
    (check,) = verification.verify_stored_secret(secret=secret, actor=alice, rate_limit=True)

    assert check.result.code == "FORBIDDEN_ADDRESS"
    (event,) = verified_events()
    assert event.actor == alice
    assert event.object_id == str(secret.pk)
    assert event.details == {
        "check": "credentials",
        "host": LOOPBACK,
        "success": False,
        "code": "FORBIDDEN_ADDRESS",
    }
    assert CANARY not in json.dumps(event.details)


def test_an_image_check_with_a_secret_audits_the_same_shape_plus_the_image(alice, org, secret):
    result = verification.verify_image(
        organization=org, image=IMAGE, secret=str(secret.pk), actor=alice, rate_limit=True
    )

    assert result.code == "FORBIDDEN_ADDRESS"
    (event,) = verified_events()
    assert event.details == {
        "check": "image",
        "image": IMAGE,
        "host": LOOPBACK,
        "success": False,
        "code": "FORBIDDEN_ADDRESS",
    }


def test_the_batch_audits_each_host_like_a_single_check(alice, org, make_secret):
    first = make_secret(org, "first", "private", PRIVATE_INPUT)
    second = make_secret(org, "second", "private", {**PRIVATE_INPUT, "url": OTHER_LOOPBACK})

    outcomes = verification.verify_stored_secrets(secrets=[first, second], actor=alice)

    assert [o.secret for o in outcomes] == [first, second]
    assert [o.error for o in outcomes] == [None, None]
    assert [e.details for e in verified_events()] == [
        {"check": "credentials", "host": LOOPBACK, "success": False, "code": "FORBIDDEN_ADDRESS"},
        {
            "check": "credentials",
            "host": OTHER_LOOPBACK,
            "success": False,
            "code": "FORBIDDEN_ADDRESS",
        },
    ]


def test_typed_input_is_checked_but_not_audited_since_no_secret_exists(alice):
    (check,) = verification.verify_new_input(
        provider="private_registry", data=PRIVATE_INPUT, actor=alice, rate_limit=True
    )
    assert (check.host, check.result.code) == (LOOPBACK, "FORBIDDEN_ADDRESS")
    assert verified_events() == []


# --- Callers without a request: the system ----------------------------------------------


def test_a_system_caller_checks_without_a_request_or_a_rate_budget(secret, settings):
    settings.REGSECRETS_VERIFY_RATE_LIMIT = 1
    for _ in range(3):
        verification.verify_stored_secret(secret=secret, actor=None, rate_limit=False)

    events = verified_events()
    assert len(events) == 3
    assert {e.actor_id for e in events} == {None}
    assert {e.ip_address for e in events} == {None}


def test_the_system_does_not_spend_a_persons_budget(alice, secret, settings):
    settings.REGSECRETS_VERIFY_RATE_LIMIT = 1
    verification.verify_stored_secret(secret=secret, actor=alice, rate_limit=False)
    # Alice's one request a minute is still hers.
    verification.verify_stored_secret(secret=secret, actor=alice, rate_limit=True)


# --- Rate limit -----------------------------------------------------------------------------


def test_beyond_the_budget_nothing_is_decrypted_checked_or_audited(
    alice, secret, settings, opened
):
    settings.REGSECRETS_VERIFY_RATE_LIMIT = 1
    verification.verify_stored_secret(secret=secret, actor=alice, rate_limit=True)
    opened.clear()

    with pytest.raises(RateLimited) as caught:
        verification.verify_stored_secret(secret=secret, actor=alice, rate_limit=True)

    assert caught.value.message == RATE_LIMITED_MESSAGE
    assert opened == []
    assert len(verified_events()) == 1


def test_every_question_shares_one_budget_per_person(alice, bob, org, secret, settings):
    settings.REGSECRETS_VERIFY_RATE_LIMIT = 3
    verification.verify_stored_secret(secret=secret, actor=alice, rate_limit=True)
    verification.verify_new_input(
        provider="private_registry", data=PRIVATE_INPUT, actor=alice, rate_limit=True
    )
    verification.verify_image(organization=org, image=IMAGE, actor=alice, rate_limit=True)

    with pytest.raises(RateLimited):
        verification.verify_edit_input(
            secret=secret, data={**PRIVATE_INPUT, "password": ""}, actor=alice, rate_limit=True
        )
    # Another person has a budget of their own.
    verification.verify_image(organization=org, image=IMAGE, actor=bob, rate_limit=True)


def test_invalid_input_spends_no_budget(alice, settings):
    settings.REGSECRETS_VERIFY_RATE_LIMIT = 1
    with pytest.raises(InvalidInput):
        verification.verify_new_input(
            provider="private_registry", data={"username": "deploy"}, actor=alice, rate_limit=True
        )
    verification.verify_new_input(
        provider="private_registry", data=PRIVATE_INPUT, actor=alice, rate_limit=True
    )


# --- Typed errors -----------------------------------------------------------------------------


def test_an_undecryptable_secret_raises_undecryptable_wrapping_the_crypto_error(alice, secret):
    secret = corrupted(secret)

    with pytest.raises(Undecryptable) as caught:
        verification.verify_stored_secret(secret=secret, actor=alice, rate_limit=True)

    assert isinstance(caught.value.error, DecryptionError)
    assert caught.value.kid == secret.key_id
    assert caught.value.message == undecryptable_message()
    assert "cannot be decrypted" in caught.value.message
    assert verified_events() == []


def test_a_batch_reports_an_undecryptable_secret_and_checks_the_others(alice, org, make_secret):
    broken = make_secret(org, "broken", "private", PRIVATE_INPUT)
    fine = make_secret(org, "fine", "private", PRIVATE_INPUT)
    broken = corrupted(broken)

    outcomes = verification.verify_stored_secrets(secrets=[broken, fine], actor=alice)

    assert isinstance(outcomes[0].error, Undecryptable)
    assert outcomes[0].checks == []
    assert outcomes[1].error is None
    assert [c.result.code for c in outcomes[1].checks] == ["FORBIDDEN_ADDRESS"]
    assert [e.object_name for e in verified_events()] == ["fine"]


def test_a_batch_larger_than_the_cap_is_invalid_input_and_checks_nothing(alice, org, make_secret):
    secrets = [
        make_secret(org, f"s{i:02d}", "private", PRIVATE_INPUT)
        for i in range(verification.MAX_SECRETS_PER_BATCH + 1)
    ]
    with pytest.raises(InvalidInput) as caught:
        verification.verify_stored_secrets(secrets=secrets, actor=alice)
    assert caught.value.messages == [
        f"Select at most {verification.MAX_SECRETS_PER_BATCH} secrets to test at once."
    ]
    assert verified_events() == []


def test_invalid_typed_input_is_a_validation_error_keyed_by_field(alice):
    with pytest.raises(InvalidInput) as caught:
        verification.verify_new_input(
            provider="private_registry",
            data={"url": "https://bad host/", "username": "deploy", "password": CANARY},
            actor=alice,
            rate_limit=True,
        )
    assert isinstance(caught.value, ValidationError)
    assert list(caught.value.message_dict) == ["url"]
    assert CANARY not in str(caught.value.message_dict)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("", "Enter an image reference."),
        ("   ", "Enter an image reference."),
        ("a/" * 300, "Use at most 512 characters."),
    ],
)
def test_a_missing_or_overlong_image_is_invalid_input(alice, org, image, expected):
    with pytest.raises(InvalidInput) as caught:
        verification.verify_image(organization=org, image=image, actor=alice, rate_limit=True)
    assert caught.value.message_dict == {"image": [expected]}


def test_a_malformed_image_is_invalid_input_or_a_malformed_result_when_asked(alice, org):
    with pytest.raises(InvalidInput) as caught:
        verification.verify_image(organization=org, image="INVALID", actor=alice, rate_limit=True)
    assert list(caught.value.message_dict) == ["image"]

    result = verification.verify_image(
        organization=org, image="INVALID", actor=alice, rate_limit=True, malformed_is_result=True
    )
    assert (result.success, result.code) == (False, "MALFORMED")


def test_another_organizations_secret_is_not_found_and_not_decrypted(
    alice, org, other_org, make_secret, opened
):
    theirs = make_secret(other_org, "theirs", "private", PRIVATE_INPUT)
    for secret in (theirs, str(theirs.pk), str(uuid.uuid4()), "not-a-uuid"):
        with pytest.raises(NotFound) as caught:
            verification.verify_image(
                organization=org, image=IMAGE, secret=secret, actor=alice, rate_limit=True
            )
        assert isinstance(caught.value, Http404)  # faces without an adapter still 404
    assert opened == []
    assert verified_events() == []


# --- Host binding and decrypt-once ------------------------------------------------------------


def test_an_edit_check_decrypts_the_stored_secret_once(alice, secret, opened):
    (check,) = verification.verify_edit_input(
        secret=secret, data={**PRIVATE_INPUT, "password": ""}, actor=alice, rate_limit=True
    )
    assert check.result.code == "FORBIDDEN_ADDRESS"
    assert opened == [secret.pk]


def test_the_edit_forms_test_endpoint_decrypts_once_per_request(alice_client, secret, opened):
    response = alice_client.post(
        f"/secrets/{secret.pk}/edit/test/", {**PRIVATE_INPUT, "password": ""}
    )
    assert response.status_code == 200
    assert opened == [secret.pk]


def test_an_edit_check_to_a_new_host_without_the_password_sends_nothing(alice, secret):
    with pytest.raises(InvalidInput) as caught:
        verification.verify_edit_input(
            secret=secret,
            data={**PRIVATE_INPUT, "url": OTHER_LOOPBACK, "password": ""},
            actor=alice,
            rate_limit=True,
        )
    assert list(caught.value.message_dict) == ["password"]
    assert verified_events() == []


def test_an_edit_check_of_an_undecryptable_secret_never_repairs_it(alice, secret):
    secret = corrupted(secret)
    with pytest.raises(Undecryptable):
        verification.verify_edit_input(
            secret=secret, data=PRIVATE_INPUT, actor=alice, rate_limit=True
        )


# --- One wording on every face -----------------------------------------------------------------


def test_every_site_face_says_the_one_rate_limit_message(alice_client, secret, settings):
    settings.REGSECRETS_VERIFY_RATE_LIMIT = 1
    assert alice_client.post("/services/verify-image/", {"image": IMAGE}).status_code == 200

    detail = alice_client.post(f"/secrets/{secret.pk}/test/")
    new = alice_client.post("/secrets/new/private/test/", PRIVATE_INPUT)
    edit = alice_client.post(f"/secrets/{secret.pk}/edit/test/", {**PRIVATE_INPUT, "password": ""})
    image = alice_client.post("/services/verify-image/", {"image": IMAGE})

    assert [r.status_code for r in (detail, new, edit, image)] == [429] * 4
    assert [str(m) for m in detail.context["messages"]] == [RATE_LIMITED_MESSAGE]
    assert [r.json() for r in (new, edit, image)] == [{"error": RATE_LIMITED_MESSAGE}] * 3


def test_every_site_face_says_the_one_undecryptable_message(alice_client, secret):
    corrupt_ciphertext(secret)
    message = undecryptable_message()

    detail = alice_client.post(f"/secrets/{secret.pk}/test/", follow=True)
    edit = alice_client.post(f"/secrets/{secret.pk}/edit/test/", PRIVATE_INPUT)
    image = alice_client.post("/services/verify-image/", {"image": IMAGE, "secret": secret.pk})
    page = alice_client.get(f"/secrets/{secret.pk}/edit/")

    assert [str(m) for m in detail.context["messages"]] == [message]
    assert (edit.status_code, edit.json()) == (409, {"error": message})
    assert (image.status_code, image.json()) == (409, {"error": message})
    assert page.status_code == 409
    assert page.context["message"] == message
