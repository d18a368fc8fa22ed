"""Hostile input to every form and API endpoint: never a 500, never a half-written row.

Table tests post a catalogue of hostile values (100k-character strings, NUL,
control characters, invalid UTF-8 and encoded surrogates, bidi overrides,
markup, repeated keys, files where text is expected) to every form of the site,
once in every field at a time and once in each field alone beside otherwise valid
input; hypothesis adds random input to the secret forms, the service form and
the API. Whenever the answer is a refusal, no row of any model was written.

Registry checks are replaced by a stub: nothing here touches the network.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from regsecrets.accounts.models import ApiToken, Membership, Organization
from regsecrets.audit.models import AuditEvent
from regsecrets.deploy.models import App, Service
from regsecrets.registries import PROVIDERS, get_provider
from regsecrets.registries.client import MALFORMED, VerificationResult
from regsecrets.registry_secrets.models import Secret
from tests.api.conftest import PROVIDER_PAYLOADS, Api
from tests.registry_secrets.samples import VALID

pytestmark = pytest.mark.django_db

LONG = "x" * 100_000
HOSTILE: list[Any] = [
    "",
    "   ",
    LONG,
    "\x00",
    "a\x00b",
    "\x01\x02\x07\x08\x1b[31m\x7f",
    "line\r\nSet-Cookie: injected=1",
    "\u202egnp.exe \u200b\ufeff",
    "🙂 日本語 ﷽ Ω",
    "<script>alert(1)</script>\"'><img src=x>",
    "' OR 1=1 --; DROP TABLE registry_secrets_secret;",
    "../../../../etc/passwd",
    "%s%n{0}${jndi:ldap://x}{{ 7*7 }}",
    "-1",
    "99999999999999999999999999",
    "[]",
    "{}",
    b"\xff\xfe\xfd",  # not UTF-8
    b"\xed\xa0\x80",  # a lone surrogate, UTF-8 encoded (CESU)
    ["a", "b"],  # a repeated key
]
# The nastiest few, tried in each field alone beside valid input.
NASTY: list[Any] = [LONG, "\x00", b"\xed\xa0\x80", ["a", LONG]]
ERROR_STATUSES = range(400, 500)


def counts() -> dict[str, int]:
    models = (Secret, App, Service, AuditEvent, Organization, Membership, ApiToken)
    from django.contrib.auth import get_user_model

    return {m.__name__: m.objects.count() for m in (*models, get_user_model())}


def check(response: Any, before: dict[str, int], *, success: tuple[int, ...], what: str) -> None:
    assert response.status_code != 500, what
    assert response.status_code < 500 or response.status_code in (503,), what
    if response.status_code not in success:
        assert counts() == before, f"{what}: a refused request wrote rows"


@pytest.fixture(autouse=True)
def _offline(monkeypatch, settings):
    """Registry checks answer at once without the network; no rate limit in the way."""
    from regsecrets.registries import client as registry_client
    from regsecrets.registry_secrets import verification

    def refuse(*args: Any, **kwargs: Any) -> VerificationResult:
        return VerificationResult(False, MALFORMED, "stubbed in tests", "")

    monkeypatch.setattr(verification, "check_credentials", refuse)
    monkeypatch.setattr(verification, "check_image", refuse)
    monkeypatch.setattr(registry_client, "check_image", refuse)
    monkeypatch.setattr(registry_client, "check_credentials", refuse)
    settings.REGSECRETS_VERIFY_RATE_LIMIT = 0


@dataclass
class World:
    org: Any
    owner: Any
    secrets: dict[str, Secret] = field(default_factory=dict)
    app: Any = None
    service: Any = None
    membership: Any = None

    def client(self) -> Client:
        client = Client(raise_request_exception=False)
        client.force_login(self.owner)
        return client


@pytest.fixture
def world(alice, org, make_user) -> World:
    from regsecrets.deploy.services import app_create, service_create
    from regsecrets.registry_secrets.services import secret_create

    w = World(org=org, owner=alice)
    for slug, (data, _, _) in VALID.items():
        w.secrets[slug] = secret_create(
            organization=org, name=f"s-{slug}", provider=slug, data=data, actor=alice
        )
    w.app = app_create(organization=org, name="web")
    w.service = service_create(
        app=w.app, name="api", image="ghcr.io/octocat/app:1", registry_secret=w.secrets["github"]
    )
    member = make_user("tess")
    w.membership = Membership.objects.create(organization=org, user=member, role="member")
    make_user("newbie")
    return w


@dataclass(frozen=True)
class Face:
    """One form: its URL, valid input, and the statuses that mean "accepted"."""

    name: str
    url: Callable[[World], str]
    valid: Callable[[World], dict[str, Any]]
    success: tuple[int, ...] = (302,)
    anonymous: bool = False


def _provider_data(slug: str) -> dict[str, Any]:
    return dict(VALID[slug][0])


def _secret_faces() -> list[Face]:
    faces = []
    for provider in PROVIDERS:
        slug = provider.slug
        faces += [
            Face(
                f"create-{slug}",
                lambda w, s=slug: reverse("registry_secrets:create", args=[s]),
                lambda w, s=slug: {"name": f"new-{s}", **_provider_data(s)},
            ),
            Face(
                f"inline-{slug}",
                lambda w, s=slug: reverse("deploy:inline_secret_create", args=[s]),
                lambda w, s=slug: {"name": f"inline-{s}", **_provider_data(s)},
                (201,),
            ),
            Face(
                f"edit-{slug}",
                lambda w, s=slug: reverse("registry_secrets:edit", args=[w.secrets[s].pk]),
                lambda w, s=slug: _provider_data(s),
            ),
            Face(
                f"test-input-{slug}",
                lambda w, s=slug: reverse("registry_secrets:test_input", args=[s]),
                lambda w, s=slug: {"name": "t", **_provider_data(s)},
                (200,),
            ),
            Face(
                f"edit-test-{slug}",
                lambda w, s=slug: reverse("registry_secrets:edit_test", args=[w.secrets[s].pk]),
                lambda w, s=slug: _provider_data(s),
                (200,),
            ),
            Face(
                f"preview-host-{slug}",
                lambda w, s=slug: reverse("registry_secrets:preview_host", args=[s]),
                lambda w, s=slug: _provider_data(s),
                (200,),
            ),
        ]
    return faces


FACES: list[Face] = [
    Face(
        "signup",
        lambda w: reverse("signup"),
        lambda w: {
            "username": "newcomer",
            "email": "newcomer@example.com",
            "password1": "A-long-Passw0rd!",
            "password2": "A-long-Passw0rd!",
        },
        anonymous=True,
    ),
    Face(
        "login",
        lambda w: reverse("login"),
        lambda w: {"username": "alice", "password": "wrong password"},
        anonymous=True,
    ),
    Face(
        "organization-create",
        lambda w: reverse("organization_create"),
        lambda w: {"name": "Initech", "slug": "initech"},
    ),
    Face(
        "add-member",
        lambda w: reverse("organization_detail"),
        lambda w: {"username": "newbie", "role": "member"},
    ),
    Face(
        "member-role",
        lambda w: reverse("membership_role", args=[w.membership.pk]),
        lambda w: {"role": "admin"},
    ),
    Face(
        "organization-switch",
        lambda w: reverse("organization_switch"),
        lambda w: {"organization": "acme"},
    ),
    Face(
        "secret-delete",
        lambda w: reverse("registry_secrets:delete", args=[w.secrets["gitlab"].pk]),
        lambda w: {"confirm_name": "s-gitlab"},
    ),
    Face(
        "secret-test",
        lambda w: reverse("registry_secrets:test", args=[w.secrets["github"].pk]),
        lambda w: {"anything": "x"},
    ),
    Face(
        "app-create",
        lambda w: reverse("deploy:app_create"),
        lambda w: {"app_name": "new-app", "name": "web", "image": "nginx:1", "public_image": "on"},
    ),
    Face(
        "app-delete",
        lambda w: reverse("deploy:app_delete", args=[w.app.pk]),
        lambda w: {"confirm_name": "nope"},
        (),
    ),
    Face(
        "service-create",
        lambda w: reverse("deploy:service_create", args=[w.app.pk]),
        lambda w: {
            "name": "svc2",
            "image": "ghcr.io/octocat/app:2",
            "registry_secret": str(w.secrets["github"].pk),
        },
    ),
    Face(
        "service-edit",
        lambda w: reverse("deploy:service_edit", args=[w.service.pk]),
        lambda w: {
            "name": "api",
            "image": "ghcr.io/octocat/app:3",
            "registry_secret": str(w.secrets["github"].pk),
            "public_image": "on",
        },
    ),
    Face(
        "service-use-secret",
        lambda w: reverse("deploy:service_create", args=[w.app.pk]),
        lambda w: {
            "name": "svc3",
            "image": "ghcr.io/octocat/app:2",
            "use_secret": str(w.secrets["github"].pk),
        },
    ),
    Face(
        "verify-image",
        lambda w: reverse("deploy:verify_image"),
        lambda w: {"image": "ghcr.io/octocat/app:1", "secret": str(w.secrets["github"].pk)},
        (200,),
    ),
    Face(
        "api-token",
        lambda w: reverse("api_tokens"),
        lambda w: {"name": "ci", "organization": str(w.org.pk)},
        (200,),
    ),
    *_secret_faces(),
]


@pytest.mark.parametrize("face", FACES, ids=lambda f: f.name)
def test_hostile_values_in_every_field_of_every_form(face, world):
    valid = face.valid(world)
    signed_in = world.client()
    url = face.url(world)

    def _post(world: World, face: Face, data: dict[str, Any]) -> tuple[Any, dict[str, int]]:
        client = Client(raise_request_exception=False) if face.anonymous else signed_in
        before = counts()
        return client.post(url, data), before

    # Each hostile value in every field at once.
    for value in HOSTILE:
        data = dict.fromkeys(valid, value)
        response, before = _post(world, face, data)
        check(response, before, success=face.success, what=f"{face.name} all={value!r:.40}")
    # Each nasty value in one field, the others valid (so it reaches deeper layers).
    for name in valid:
        for value in NASTY:
            response, before = _post(world, face, {**valid, name: value})
            check(response, before, success=face.success, what=f"{face.name} {name}={value!r:.40}")
    # A file where text is expected, and unknown extra fields.
    upload = SimpleUploadedFile("x.json", b"\x00" * 2048, content_type="application/json")
    first = next(iter(valid))
    response, before = _post(world, face, {**valid, first: upload, "zz": LONG})
    check(response, before, success=face.success, what=f"{face.name} {first}=<file>")


def test_get_parameters_of_every_page_are_hostile_proof(world):
    client = world.client()
    pages = [
        reverse("registry_secrets:list"),
        reverse("registry_secrets:new"),
        reverse("registry_secrets:create", args=["github"]),
        reverse("audit:activity"),
        reverse("deploy:service_create", args=[world.app.pk]),
        reverse("deploy:secret_suggestion"),
        reverse("deploy:secret_search"),
        reverse("deploy:inline_secret_fields", args=["github"]),
        reverse("deploy:app_list"),
    ]
    params = [
        "q",
        "provider",
        "page",
        "next",
        "fragment",
        "object",
        "action",
        "image",
        "secret",
        "name",
        "secret_search",
        "before",
        "after",
    ]
    for page in pages:
        for value in ("\x00", LONG[:5000], "-1", "99999999999999999999", "//evil.example/", "%ff"):
            response = client.get(page, dict.fromkeys(params, value))
            assert response.status_code < 500, (page, value[:20])


def test_oversized_and_malformed_requests_are_refused(world, settings):
    client = world.client()
    url = reverse("registry_secrets:create", args=["github"])
    before = counts()
    too_many = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 5)}
    response = client.post(url, {"name": "x", **too_many})
    check(response, before, success=(), what="too many fields")
    huge = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)
    response = client.post(url, {"name": "x", "password": huge})
    check(response, before, success=(), what="huge body")
    response = client.generic(
        "POST", url, b"\x00\xff{not a form", content_type="multipart/form-data; boundary=zz"
    )
    check(response, before, success=(), what="broken multipart")
    response = client.generic(
        "POST", url, b"name=%ff%00&password=%", content_type="application/x-www-form-urlencoded"
    )
    check(response, before, success=(), what="broken urlencoding")


# --- hypothesis: random input to the secret and service forms -------------------------

text = st.text(max_size=300) | st.binary(max_size=64).map(lambda b: b.decode("latin-1"))


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    slug=st.sampled_from([p.slug for p in PROVIDERS]),
    values=st.lists(text, min_size=6, max_size=6),
    editing=st.booleans(),
)
def test_random_secret_form_input_never_answers_500(world, slug, values, editing):
    provider = get_provider(slug)
    names = ["name", *(f.name for f in provider.fields)]
    data = dict(zip(names, values, strict=False))
    if editing:
        data.pop("name")
        url = reverse("registry_secrets:edit", args=[world.secrets[slug].pk])
    else:
        url = reverse("registry_secrets:create", args=[slug])
    # Counted before the POST: counted after it, a refused request that wrote rows
    # would compare equal to itself.
    before = counts()
    response = world.client().post(url, data)
    check(response, before, success=(302,), what=f"{url} {sorted(data)}")


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=text, image=text, secret=text | st.just("new"), public=st.booleans())
def test_random_service_form_input_never_answers_500(world, name, image, secret, public):
    client = world.client()
    before = counts()
    data = {"name": name, "image": image, "registry_secret": secret}
    if public:
        data["public_image"] = "on"
    response = client.post(reverse("deploy:service_create", args=[world.app.pk]), data)
    check(response, before, success=(302,), what=f"service {data}")
    response = client.post(reverse("deploy:verify_image"), {"image": image, "secret": secret})
    assert response.status_code != 500


# --- the API -------------------------------------------------------------------------------

JSON_HOSTILE: list[Any] = [
    None,
    True,
    0,
    -1,
    1e308,
    2**70,
    [],
    {},
    [LONG],
    {"a": {"b": {"c": []}}},
    "",
    LONG,
    "\x00",
    "\ud800",
    "\udfff\ud800",
    "\x1b[31m",
    "🙂",
    "\u202e",
]


@pytest.fixture
def api(world, client) -> Api:
    from regsecrets.accounts.tokens import token_create

    client.raise_request_exception = False
    return Api(client, token_create(user=world.owner, organization=world.org, name="h")[1])


def _api_check(
    api: Api,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: Any = None,
    success: tuple[int, ...] = (200,),
) -> None:
    before = counts()
    response = api.call(method, path, body, raw=raw)
    check(
        response,
        before,
        success=success,
        what=f"{method} {path} {json.dumps(body)[:60] if raw is None else raw[:40]!r}",
    )


def _api_targets(world: World) -> list[tuple[str, str, Callable[[Any], Any]]]:
    github = world.secrets["github"].pk
    return [
        (
            "POST",
            "/v1/secrets",
            lambda v: {"name": v, "github_registry": {"username": v, "password": v}},
        ),
        ("POST", "/v1/secrets", lambda v: {"name": "ok", "type": v, "github_registry": v}),
        (
            "POST",
            "/v1/secrets",
            lambda v: {"name": "ok", "gcp_container_registry": {"keyfile_content": v, "url": v}},
        ),
        (
            "POST",
            "/v1/secrets",
            lambda v: {
                "name": "ok",
                "private_registry": {"username": "u", "password": "p", "url": v},
            },
        ),
        (
            "PUT",
            f"/v1/secrets/{github}",
            lambda v: {"name": v, "github_registry": {"username": v, "password": v}},
        ),
        ("PATCH", f"/v1/secrets/{github}", lambda v: {"github_registry": {"username": v}}),
        (
            "PATCH",
            f"/v1/secrets/{github}?update_mask=github_registry.username",
            lambda v: {"github_registry": {"username": v}},
        ),
        ("POST", f"/v1/secrets/{github}/reveal", lambda v: v),
        ("POST", "/v1/apps", lambda v: {"name": v}),
        (
            "POST",
            "/v1/services",
            lambda v: {"app_id": v, "definition": {"name": "x", "docker": {"image": "nginx"}}},
        ),
        (
            "POST",
            "/v1/services",
            lambda v: {
                "app_id": str(world.app.pk),
                "name": v,
                "definition": {"docker": {"image": v, "image_registry_secret": v}},
            },
        ),
        ("POST", "/v1/services", lambda v: {"app_id": str(world.app.pk), "definition": v}),
    ]


def test_hostile_json_values_in_every_api_field(world, api):
    for method, path, body in _api_targets(world):
        for value in JSON_HOSTILE:
            _api_check(api, method, path, body(value))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"null",
        b"[]",
        b'"x"',
        b"{",
        b"\xff\xfe",
        b'{"name": "\\ud800"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        json.dumps(
            {
                "name": "x",
                "github_registry": {"username": "u", "password": "p"},
                "pad": ["x" * 1000] * 2000,
            }
        ).encode(),
        json.dumps(
            {"name": "x", "github_registry": {"username": "u", "password": "p"}}
            | {f"k{i}": i for i in range(20000)}
        ).encode(),
        b'{"name": "x", "name": "y"}',
        b"NaN",
        b'{"name": Infinity}',
    ],
    ids=lambda r: f"{len(r)}b",
)
def test_malformed_and_huge_api_bodies(world, api, raw):
    github = world.secrets["github"].pk
    for method, path in (
        ("POST", "/v1/secrets"),
        ("PUT", f"/v1/secrets/{github}"),
        ("PATCH", f"/v1/secrets/{github}"),
        ("POST", "/v1/apps"),
        ("POST", "/v1/services"),
        ("POST", f"/v1/secrets/{github}/reveal"),
    ):
        _api_check(api, method, path, raw=raw)


@pytest.mark.parametrize(
    "image",
    [
        "",
        " ",
        LONG[:600],
        "\x00",
        "UPPER/Case:tag",
        "ghcr.io/a/b@sha256:zz",
        "a" * 300 + "/b",
        "http://ghcr.io/a/b",
        "ghcr.io:99999/a",
        "[::1]/a",
        "a//b",
        "ghcr.io/a/b:" + "t" * 200,
        "🙂/a",
        "%00",
        "ghcr.io/a/b?x=1",
    ],
)
def test_verify_with_malformed_images(world, api, image):
    for secret_id in ("", str(world.secrets["github"].pk), "not-a-uuid", "\x00"):
        before = counts()
        response = api.get("/v1/docker-helper/verify", {"image": image, "secret_id": secret_id})
        check(response, before, success=(200,), what=f"verify {image[:30]!r} {secret_id!r}")


api_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3)
    ),
    max_leaves=12,
)


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["PUT", "PATCH"]),
    provider=st.sampled_from(list(PROVIDER_PAYLOADS)),
    body=st.dictionaries(
        st.sampled_from(["name", "type", "github_registry", "private_registry"]), api_json
    ),
    sub=st.dictionaries(
        st.sampled_from(
            ["username", "password", "url", "registry_name", "keyfile_content", "config"]
        ),
        api_json,
    ),
)
def test_random_api_updates_never_answer_500(world, api, method, provider, body, sub):
    secret = world.secrets["github"]
    _api_check(api, method, f"/v1/secrets/{secret.pk}", {**body, "github_registry": sub})
    _api_check(api, "POST", "/v1/secrets", {"name": "rnd", provider: sub})


@hsettings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(app_id=st.text(max_size=40) | st.uuids().map(str), definition=api_json, name=api_json)
def test_random_service_bodies_never_answer_500(world, api, app_id, definition, name):
    _api_check(
        api, "POST", "/v1/services", {"app_id": app_id, "name": name, "definition": definition}
    )
    _api_check(api, "POST", "/v1/apps", {"name": name})


# --- regressions found by the tables above (500s on PostgreSQL) ---------------------------


def test_an_over_long_username_at_sign_in_is_a_form_error_not_a_failure_record():
    from axes.models import AccessAttempt

    response = Client(raise_request_exception=False).post(
        reverse("login"), {"username": "u" * 151, "password": "whatever"}
    )
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    assert not AccessAttempt.objects.exists()


def test_nul_in_the_organization_switch_and_activity_filters(alice_client):
    response = alice_client.post(reverse("organization_switch"), {"organization": "ac\x00me"})
    assert response.status_code == 404
    response = alice_client.get(reverse("audit:activity"), {"object": "\x00", "action": "a\x00"})
    assert response.status_code == 400


# --- the admin: every changelist filter and search, every autocomplete -------------------

# What a probe sends to a filter: NUL (PostgreSQL refuses it in text), very long
# text, a malformed UUID, a choice no field has, numbers past every integer column,
# digits int() refuses although str.isdigit() accepts them, a broken escape.
ADMIN_HOSTILE = [
    "\x00",
    "a\x00b",
    LONG[:10_000],
    "not-a-uuid",
    "00000000-0000-0000-0000-000000000000",
    "zz-unknown-choice",
    "-1",
    "99999999999999999999",
    "²",
    "%ff",
    "",
]


@pytest.fixture
def operator(world, django_user_model) -> Client:
    from regsecrets.accounts.tokens import token_create

    # Rows for every registered model, so filters and autocompletes have something to read.
    token_create(user=world.owner, organization=world.org, name="ci")
    user = django_user_model.objects.create_superuser(
        username="root", email="root@example.com", password="unused-in-tests"
    )
    client = Client(raise_request_exception=False)
    client.force_login(user)
    client.user = user
    return client


def _admin_request(user: Any, path: str = "/admin/") -> Any:
    from django.test import RequestFactory

    request = RequestFactory().get(path)
    request.user = user
    return request


def _registered_admins() -> list[tuple[Any, Any]]:
    from django.contrib import admin

    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _changelist_parameters(model: Any, model_admin: Any, user: Any) -> list[str]:
    """Every query parameter the changelist reads: its filters' own, search, paging, dates."""
    from django.contrib.admin import FieldListFilter
    from django.contrib.admin.utils import get_fields_from_path

    # Built the way ChangeList builds them, but kept even when a filter has too few
    # values to be shown: its parameters are read all the same.
    request = _admin_request(user)
    names = []
    for entry in model_admin.get_list_filter(request):
        if callable(entry):
            spec = entry(request, {}, model, model_admin)
        else:
            path, factory = entry if isinstance(entry, (tuple, list)) else (entry, None)
            factory = factory or FieldListFilter.create
            field = get_fields_from_path(model, path)[-1]
            spec = factory(field, request, {}, model, model_admin, field_path=path)
        names += spec.expected_parameters()
    if model_admin.get_search_fields(_admin_request(user)):
        names.append("q")
    if model_admin.date_hierarchy:
        names += [f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")]
    return [*names, "o", "p", "e", "_to_field", "zz_unknown__exact"]


def _autocomplete_sources(user: Any) -> list[tuple[str, str, str, list[str]]]:
    """(app label, model, field, parameters) of every autocomplete the admin renders.

    The parameters are the view's own (term, page) and whatever the field's widget
    forwards in its URL (e.g. the service form's ``organization``), read from the
    widget the admin builds for an existing object.
    """
    from urllib.parse import parse_qsl, urlsplit

    sources = []
    for model, model_admin in _registered_admins():
        request = _admin_request(user)
        fields = model_admin.get_autocomplete_fields(request)
        if not fields:
            continue
        # The change form of an existing row (a widget may forward what it knows of
        # the row), else the add form (a field may be read-only once set).
        forms = [
            model_admin.get_form(request, model.objects.first()),
            model_admin.get_form(request),
        ]
        for name in fields:
            form = next(f for f in forms if name in f.base_fields)
            widget = form.base_fields[name].widget
            widget = getattr(widget, "widget", widget)  # RelatedFieldWidgetWrapper
            forwarded = [key for key, _ in parse_qsl(urlsplit(widget.get_url()).query)]
            sources.append(
                (model._meta.app_label, model._meta.model_name, name, ["term", "page", *forwarded])
            )
    return sources


def test_the_tables_below_cover_every_admin_filter_and_autocomplete(operator):
    """The enumeration itself: a filter or autocomplete added tomorrow is picked up."""
    user = operator.user
    parameters = {
        model._meta.label: _changelist_parameters(model, model_admin, user)
        for model, model_admin in _registered_admins()
    }
    assert {"provider__exact", "key_id", "organization__id__exact", "q"} <= set(
        parameters["registry_secrets.Secret"]
    )
    assert {"action", "object_type", "created_at__year", "q"} <= set(parameters["audit.AuditEvent"])
    assert "role__exact" in parameters["accounts.Membership"]
    sources = {(a, m, f): params for a, m, f, params in _autocomplete_sources(user)}
    assert "organization" in sources[("deploy", "service", "registry_secret")]
    assert ("accounts", "membership", "user") in sources


@pytest.mark.parametrize(
    "model_label", [model._meta.label for model, _ in _registered_admins()], ids=str
)
def test_hostile_values_in_every_admin_changelist_filter_and_search(operator, model_label):
    from django.apps import apps
    from django.contrib import admin

    model = apps.get_model(model_label)
    model_admin = admin.site._registry[model]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    names = _changelist_parameters(model, model_admin, operator.user)
    assert names
    for name in names:
        for value in ADMIN_HOSTILE:
            response = operator.get(url, {name: value})
            assert response.status_code < 500, (url, name, value[:20])
    # A NUL is refused before any filter reads it, wherever it is.
    response = operator.get(url, {"q": "a\x00b"})
    assert response.status_code == 400
    response = operator.get(url + "?a%00b=1")
    assert response.status_code == 400


def test_hostile_values_in_every_admin_autocomplete(operator):
    url = reverse("admin:autocomplete")
    sources = _autocomplete_sources(operator.user)
    assert sources
    for app_label, model_name, field_name, params in sources:
        source = {"app_label": app_label, "model_name": model_name, "field_name": field_name}
        response = operator.get(url, {**source, "term": "a"})
        assert response.status_code == 200, (model_name, field_name)
        for name in [*params, "app_label", "model_name", "field_name"]:
            for value in ADMIN_HOSTILE:
                response = operator.get(url, {**source, name: value})
                assert response.status_code < 500, (model_name, field_name, name, value[:20])
        response = operator.get(url, {**source, "term": "\x00"})
        assert response.status_code == 400


def test_a_nul_in_a_query_string_is_a_400_in_each_face_and_a_form_error_in_a_form(
    operator, world, api
):
    # Pages: the project's 400 page, naming the parameter, never echoing the value.
    response = world.client().get(reverse("registry_secrets:list"), {"q": "canary\x00"})
    assert response.status_code == 400
    assert "“q”" in response.content.decode()
    assert "canary" not in response.content.decode()
    # /v1: the API's error shape.
    response = api.get("/v1/secrets", {"name": "x\x00"})
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "code": "invalid_argument",
        "message": "Validation error",
        "fields": [
            {
                "field": "name",
                "description": "Text cannot contain NUL characters or unpaired surrogates.",
            }
        ],
    }
    # A form body is not the query string: its NUL still gets the field's own error.
    before = counts()
    response = world.client().post(reverse("deploy:app_create"), {"app_name": "we\x00b"})
    assert response.status_code == 200
    assert "app_name" in response.context["form"].errors
    assert counts() == before
