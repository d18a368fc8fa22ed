"""Fixtures shared by the whole suite: a fixed test key ring, users, organizations."""

from __future__ import annotations

import base64

import pytest

# Fixed, test-only keys: deterministic so that failures reproduce.
TEST_KEY_A = base64.b64encode(bytes(range(32))).decode()
TEST_KEY_B = base64.b64encode(bytes(range(32, 64))).decode()
TEST_KEYRING = f"test-a:{TEST_KEY_A}"
CANARY = "canary-S3cr3t-7f1d9c0b2e"  # a credential that must never be seen again


@pytest.fixture(scope="session", autouse=True)
def _no_https_redirect_for_live_servers():
    """Tests speak plain HTTP; session-wide so that live servers start without the redirect.

    SecurityMiddleware reads SECURE_SSL_REDIRECT when it is built, which for a
    session-scoped live server happens before any function-scoped override.
    """
    from django.conf import settings as django_settings

    previous = django_settings.SECURE_SSL_REDIRECT
    django_settings.SECURE_SSL_REDIRECT = False
    yield
    django_settings.SECURE_SSL_REDIRECT = previous


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.REGSECRETS_ENCRYPTION_KEYS = TEST_KEYRING
    settings.REGSECRETS_DEV_KEY_FILE = tmp_path / "dev.keys"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Plain HTTP test client: no redirect to HTTPS in tests.
    settings.SECURE_SSL_REDIRECT = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = True
    # Rate-limit counters live in the cache: every test starts with none.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch):
    """No test reaches AWS: boto3 goes to a closed loopback port (a quick
    MINT_UNREACHABLE) unless the test points it at the moto server (``aws_env``)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def make_user(db, django_user_model):
    counter = {"n": 0}

    def make(username: str | None = None, password: str = "correct horse battery", **extra):
        counter["n"] += 1
        username = username or f"user{counter['n']}"
        return django_user_model.objects.create_user(
            username=username, email=f"{username}@example.com", password=password, **extra
        )

    return make


@pytest.fixture
def make_org(db):
    from regsecrets.accounts.models import Membership
    from regsecrets.accounts.services import organization_create

    def make(owner, slug: str, *, members: dict | None = None):
        organization = organization_create(name=slug.title(), slug=slug, owner=owner)
        for user, role in (members or {}).items():
            Membership.objects.create(organization=organization, user=user, role=role)
        return organization

    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def org(alice, make_org):
    return make_org(alice, "acme")


@pytest.fixture
def other_org(bob, make_org):
    return make_org(bob, "globex")


@pytest.fixture
def alice_client(client, alice, org):
    client.force_login(alice)
    session = client.session
    session["organization_id"] = org.pk
    session.save()
    return client


def page_text(response) -> str:
    """A page's HTML with the <wbr> line-break hints taken out (hosts, images and
    emails carry them after . / @ : so that they never wrap inside a word)."""
    return response.content.decode().replace("<wbr>", "")
