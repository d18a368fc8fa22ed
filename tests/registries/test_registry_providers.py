"""The provider catalogue: every provider with valid and invalid input."""

from __future__ import annotations

import base64
import io
import json

import pytest

from regsecrets.registries import (
    DOCKER_HUB_AUTH_KEY,
    PROVIDERS,
    InvalidDockerConfig,
    Provider,
    ProviderValidationError,
    encode_auth,
    get_provider,
    parse_docker_config,
    provider_by_key,
    provider_by_slug,
)

CANARY = "CANARY-secret-42"

SERVICE_ACCOUNT = {
    "type": "service_account",
    "project_id": "proj",
    "private_key_id": "abc123",
    "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQ" + CANARY + "\n-----END PRIVATE KEY-----\n",
    "client_email": "puller@proj.iam.gserviceaccount.com",
    "client_id": "1234567890",
}
KEY_JSON = json.dumps(SERVICE_ACCOUNT, indent=2)
KEY_B64 = base64.b64encode(KEY_JSON.encode()).decode()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# --- the catalogue ------------------------------------------------------------------


def test_picker_order() -> None:
    assert [p.slug for p in PROVIDERS] == [
        "docker-hub",
        "github",
        "gitlab",
        "digital-ocean",
        "azure",
        "gcp",
        "aws-ecr",
        "private",
        "docker-config",
    ]


@pytest.mark.parametrize(
    ("key", "slug", "field_names"),
    [
        ("docker_hub_registry", "docker-hub", ["username", "password"]),
        ("github_registry", "github", ["username", "password"]),
        ("gitlab_registry", "gitlab", ["username", "password", "url"]),
        ("digital_ocean_registry", "digital-ocean", ["password"]),
        ("azure_container_registry", "azure", ["registry_name", "username", "password"]),
        ("gcp_container_registry", "gcp", ["url", "keyfile_content"]),
        (
            "aws_ecr_registry",
            "aws-ecr",
            ["access_key_id", "secret_access_key", "region", "registry_id", "role_arn"],
        ),
        ("private_registry", "private", ["url", "username", "password"]),
        ("docker_config", "docker-config", ["config"]),
    ],
)
def test_lookup_by_key_and_slug(key: str, slug: str, field_names: list[str]) -> None:
    provider = provider_by_key(key)
    assert provider is provider_by_slug(slug) is get_provider(key) is get_provider(slug)
    assert (provider.key, provider.slug) == (key, slug)
    assert [f.name for f in provider.fields] == field_names


@pytest.mark.parametrize("lookup", [get_provider, provider_by_key, provider_by_slug])
def test_unknown_provider_is_a_key_error(lookup) -> None:
    with pytest.raises(KeyError):
        lookup("quay")


def test_provider_by_key_does_not_accept_a_slug() -> None:
    with pytest.raises(KeyError):
        provider_by_key("github")
    with pytest.raises(KeyError):
        provider_by_slug("github_registry")


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.slug)
def test_every_provider_is_fully_described(provider: Provider) -> None:
    assert provider.label
    assert provider.description
    assert provider.help
    assert provider.icon.replace("-", "").isalnum()
    assert "\n" not in provider.description
    for spec in provider.fields:
        assert spec.kind in {"text", "password", "json"}
        assert spec.label
        assert spec.help_text
        assert spec.secret == (spec.kind in {"password", "json"})


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.slug)
def test_every_secret_field_is_write_only(provider: Provider) -> None:
    secrets = {f.name for f in provider.fields if f.secret}
    assert secrets & {"password", "keyfile_content", "config", "secret_access_key"} == secrets
    assert secrets, "every provider asks for at least one secret"


# --- valid input --------------------------------------------------------------------

VALID = [
    # (slug, data, host, display username, registry username, registry password, fields)
    pytest.param(
        "docker-hub",
        {"username": " octo ", "password": "dckr_pat_abc"},
        DOCKER_HUB_AUTH_KEY,
        "octo",
        "octo",
        "dckr_pat_abc",
        {"username": "octo", "password": "dckr_pat_abc"},
        id="docker-hub",
    ),
    pytest.param(
        "docker-hub",
        {"username": "octo", "password": "  dckr_pat_abc\n"},
        DOCKER_HUB_AUTH_KEY,
        "octo",
        "octo",
        "dckr_pat_abc",
        {"username": "octo", "password": "dckr_pat_abc"},
        id="docker-hub-token-pasted-with-newline",
    ),
    pytest.param(
        "github",
        {"username": "octo-cat", "password": "ghp_abc"},
        "ghcr.io",
        "octo-cat",
        "octo-cat",
        "ghp_abc",
        {"username": "octo-cat", "password": "ghp_abc"},
        id="github",
    ),
    pytest.param(
        "github",
        {"username": "octocat", "password": "ghp_abc", "url": "https://ghcr.io"},
        "ghcr.io",
        "octocat",
        "octocat",
        "ghp_abc",
        {"username": "octocat", "password": "ghp_abc"},
        id="github-api-sends-ghcr-url",
    ),
    pytest.param(
        "gitlab",
        {"username": "gitlab+deploy-token-1", "password": "gldt-abc"},
        "registry.gitlab.com",
        "gitlab+deploy-token-1",
        "gitlab+deploy-token-1",
        "gldt-abc",
        {"username": "gitlab+deploy-token-1", "password": "gldt-abc", "url": "registry.gitlab.com"},
        id="gitlab-com",
    ),
    pytest.param(
        "gitlab",
        {"username": "me", "password": "glpat-x", "url": "https://Gitlab.Example.com:5050/"},
        "gitlab.example.com:5050",
        "me",
        "me",
        "glpat-x",
        {"username": "me", "password": "glpat-x", "url": "gitlab.example.com:5050"},
        id="gitlab-self-managed",
    ),
    pytest.param(
        "digital-ocean",
        {"password": "dop_v1_abc"},
        "registry.digitalocean.com",
        "",
        "dop_v1_abc",
        "dop_v1_abc",
        {"username": "dop_v1_abc", "password": "dop_v1_abc"},
        id="digital-ocean-token-as-both",
    ),
    pytest.param(
        "digital-ocean",
        {"username": "me@example.com", "password": "dop_v1_abc"},
        "registry.digitalocean.com",
        "me@example.com",
        "me@example.com",
        "dop_v1_abc",
        {"username": "me@example.com", "password": "dop_v1_abc"},
        id="digital-ocean-api-username",
    ),
    pytest.param(
        "azure",
        {"registry_name": "MyRegistry1", "username": "sp-id", "password": "pw with spaces "},
        "myregistry1.azurecr.io",
        "sp-id",
        "sp-id",
        "pw with spaces ",
        {"registry_name": "myregistry1", "username": "sp-id", "password": "pw with spaces "},
        id="azure-password-kept-verbatim",
    ),
    pytest.param(
        "azure",
        {"registry_name": "https://myreg.azurecr.io/", "username": "myreg", "password": "p"},
        "myreg.azurecr.io",
        "myreg",
        "myreg",
        "p",
        {"registry_name": "myreg", "username": "myreg", "password": "p"},
        id="azure-login-server-pasted",
    ),
    pytest.param(
        "gcp",
        {"url": "europe-west1-docker.pkg.dev", "keyfile_content": KEY_JSON},
        "europe-west1-docker.pkg.dev",
        "puller@proj.iam.gserviceaccount.com",  # listed by its service account
        "_json_key",
        KEY_JSON,
        {"url": "europe-west1-docker.pkg.dev", "keyfile_content": KEY_B64},
        id="gcp-artifact-registry-json",
    ),
    pytest.param(
        "gcp",
        {"url": "gcr.io", "keyfile_content": KEY_B64},
        "gcr.io",
        "puller@proj.iam.gserviceaccount.com",  # listed by its service account
        "_json_key",
        KEY_JSON,
        {"url": "gcr.io", "keyfile_content": KEY_B64},
        id="gcp-gcr-base64",
    ),
    pytest.param(
        "gcp",
        {"url": "https://us-docker.pkg.dev/proj/repo", "keyfile_content": KEY_JSON.encode()},
        "us-docker.pkg.dev",
        "puller@proj.iam.gserviceaccount.com",  # listed by its service account
        "_json_key",
        KEY_JSON,
        {"url": "us-docker.pkg.dev", "keyfile_content": KEY_B64},
        id="gcp-multi-region-upload-with-path",
    ),
    pytest.param(
        "gcp",
        {"url": "eu.gcr.io", "keyfile_content": io.BytesIO(b"\xef\xbb\xbf" + KEY_JSON.encode())},
        "eu.gcr.io",
        "puller@proj.iam.gserviceaccount.com",  # listed by its service account
        "_json_key",
        KEY_JSON,
        {"url": "eu.gcr.io", "keyfile_content": KEY_B64},
        id="gcp-file-object-with-bom",
    ),
    pytest.param(
        "private",
        {"url": "registry.example.com:5000", "username": "u", "password": "p:w"},
        "registry.example.com:5000",
        "u",
        "u",
        "p:w",
        {"url": "registry.example.com:5000", "username": "u", "password": "p:w"},
        id="private-host-port",
    ),
    pytest.param(
        "private",
        {"url": " HTTPS://Registry.Example.com/Team/ ", "username": "u", "password": "p"},
        "registry.example.com/team",
        "u",
        "u",
        "p",
        {"url": "registry.example.com/team", "username": "u", "password": "p"},
        id="private-scheme-and-path",
    ),
    pytest.param(
        "private",
        {"url": "bücher.example", "username": "u", "password": "p"},
        "xn--bcher-kva.example",
        "u",
        "u",
        "p",
        {"url": "xn--bcher-kva.example", "username": "u", "password": "p"},
        id="private-idn",
    ),
    pytest.param(
        "private",
        {"url": "[::1]:5000", "username": "u", "password": "p"},
        "[::1]:5000",
        "u",
        "u",
        "p",
        {"url": "[::1]:5000", "username": "u", "password": "p"},
        id="private-ipv6",
    ),
    pytest.param(
        "docker-config",
        {"config": json.dumps({"auths": {"https://quay.io/v2/": {"auth": b64("robot:tok")}}})},
        "quay.io",
        "robot",
        "robot",
        "tok",
        None,
        id="docker-config",
    ),
    pytest.param(
        "docker-config",
        {"config": json.dumps({"auths": {"quay.io": {"auth": b64("robot:tok")}}}).encode("utf-16")},
        "quay.io",
        "robot",
        "robot",
        "tok",
        None,
        id="docker-config-utf16-upload",
    ),
]


@pytest.mark.parametrize(
    ("slug", "data", "host", "display", "username", "password", "fields"), VALID
)
def test_valid_input(slug, data, host, display, username, password, fields) -> None:
    result = get_provider(slug).validate(data)
    assert result.hosts == (host,)
    assert result.username == display
    assert result.config == {
        "auths": {
            host: {
                "username": username,
                "password": password,
                "auth": encode_auth(username, password),
            }
        }
    }
    assert parse_docker_config(result.config) == result.config, "the config is already normalized"
    if fields is not None:
        assert result.fields == fields


def test_gcp_password_is_the_key_json_and_fields_carry_base64() -> None:
    result = get_provider("gcp").validate({"url": "gcr.io", "keyfile_content": KEY_JSON})
    password = result.config["auths"]["gcr.io"]["password"]
    assert json.loads(password) == SERVICE_ACCOUNT
    assert json.loads(base64.b64decode(result.fields["keyfile_content"])) == SERVICE_ACCOUNT


def test_docker_config_with_several_registries() -> None:
    document = {
        "auths": {
            "ghcr.io": {"auth": b64("first:1")},
            "docker.io": {"username": "second", "password": "2"},
        },
        "credsStore": "desktop",
    }
    result = get_provider("docker-config").validate({"config": json.dumps(document)})
    assert result.hosts == ("ghcr.io", DOCKER_HUB_AUTH_KEY)
    assert result.username == "first"
    assert json.loads(result.fields["config"]) == result.config
    assert "credsStore" not in result.fields["config"]


def test_result_repr_hides_secrets() -> None:
    result = get_provider("docker-hub").validate({"username": "octo", "password": CANARY})
    assert CANARY not in repr(result)
    assert "octo" in repr(result)


# --- invalid input ------------------------------------------------------------------

INVALID = [
    # (slug, data, field, message fragment)
    pytest.param("docker-hub", {}, "username", "required", id="docker-hub-empty"),
    pytest.param(
        "docker-hub",
        {"username": "octo", "password": "   "},
        "password",
        "required",
        id="docker-hub-blank-token",
    ),
    pytest.param(
        "docker-hub",
        {"username": "me@example.com", "password": "t"},
        "username",
        "email",
        id="docker-hub-email",
    ),
    pytest.param(
        "docker-hub",
        {"username": "a:b", "password": "t"},
        "username",
        "colon",
        id="docker-hub-colon",
    ),
    pytest.param(
        "docker-hub",
        {"username": "a b", "password": "t"},
        "username",
        "spaces",
        id="docker-hub-space",
    ),
    pytest.param(
        "docker-hub",
        {"username": "octo", "password": "to ken"},
        "password",
        "spaces",
        id="docker-hub-token-space",
    ),
    pytest.param(
        "docker-hub",
        {"username": "x" * 256, "password": "t"},
        "username",
        "at most 255",
        id="docker-hub-long-username",
    ),
    pytest.param(
        "docker-hub",
        {"username": 42, "password": "t"},
        "username",
        "text",
        id="docker-hub-not-text",
    ),
    pytest.param(
        "github",
        {"username": "-octo", "password": "ghp_x"},
        "username",
        "hyphen",
        id="github-bad-login",
    ),
    pytest.param(
        "github",
        {"username": "octo--cat", "password": "ghp_x"},
        "username",
        "hyphen",
        id="github-double-hyphen",
    ),
    pytest.param(
        "github",
        {"username": "me@example.com", "password": "ghp_x"},
        "username",
        "email",
        id="github-email",
    ),
    pytest.param(
        "github",
        {"username": "octo", "password": "github_pat_abc"},
        "password",
        "classic",
        id="github-fine-grained",
    ),
    pytest.param(
        "github",
        {"username": "octo", "password": "ghp_x", "url": "docker.pkg.github.com"},
        "url",
        "use ghcr.io",
        id="github-retired-registry",
    ),
    pytest.param(
        "github",
        {"username": "octo", "password": "ghp_x", "url": "quay.io"},
        "url",
        "ghcr.io",
        id="github-other-url",
    ),
    pytest.param(
        "gitlab",
        {"username": "me", "password": "t", "url": "gitlab.com"},
        "url",
        "registry.gitlab.com",
        id="gitlab-com-typo",
    ),
    pytest.param(
        "gitlab",
        {"username": "me", "password": "t", "url": "gitlab.example.com/group"},
        "url",
        "without a path",
        id="gitlab-path",
    ),
    pytest.param(
        "gitlab",
        {"username": "me", "password": "t", "url": "*.example.com"},
        "url",
        "wildcards",
        id="gitlab-glob",
    ),
    pytest.param(
        "gitlab", {"username": "me", "password": ""}, "password", "required", id="gitlab-no-token"
    ),
    pytest.param("digital-ocean", {}, "password", "required", id="digital-ocean-empty"),
    pytest.param(
        "digital-ocean", {"password": "a:b"}, "password", "colon", id="digital-ocean-colon"
    ),
    pytest.param(
        "azure",
        {"registry_name": "abc", "username": "u", "password": "p"},
        "registry_name",
        "5 to 50",
        id="azure-short-name",
    ),
    pytest.param(
        "azure",
        {"registry_name": "a" * 51, "username": "u", "password": "p"},
        "registry_name",
        "5 to 50",
        id="azure-long-name",
    ),
    pytest.param(
        "azure",
        {"registry_name": "my-registry", "username": "u", "password": "p"},
        "registry_name",
        "letters and digits",
        id="azure-hyphen",
    ),
    pytest.param(
        "azure",
        {"registry_name": "myreg.azurecr.cn", "username": "u", "password": "p"},
        "registry_name",
        "5 to 50",
        id="azure-other-cloud",
    ),
    pytest.param(
        "azure",
        {"registry_name": "myregistry", "username": "u", "password": "p\nw"},
        "password",
        "line breaks",
        id="azure-password-newline",
    ),
    pytest.param(
        "gcp",
        {"url": "quay.io", "keyfile_content": KEY_JSON},
        "url",
        "docker.pkg.dev",
        id="gcp-wrong-host",
    ),
    pytest.param(
        "gcp",
        {"url": "docker.pkg.dev", "keyfile_content": KEY_JSON},
        "url",
        "docker.pkg.dev",
        id="gcp-no-region",
    ),
    pytest.param(
        "gcp", {"url": "gcr.io:443", "keyfile_content": KEY_JSON}, "url", "gcr.io", id="gcp-port"
    ),
    pytest.param(
        "gcp",
        {"url": "gcr.io", "keyfile_content": "not json"},
        "keyfile_content",
        "neither JSON nor base64",
        id="gcp-garbage",
    ),
    pytest.param(
        "gcp",
        {"url": "gcr.io", "keyfile_content": "{not json"},
        "keyfile_content",
        "not valid JSON",
        id="gcp-broken-json",
    ),
    pytest.param(
        "gcp",
        {"url": "gcr.io", "keyfile_content": b64("[1, 2]")},
        "keyfile_content",
        "neither JSON",
        id="gcp-base64-of-array",
    ),
    pytest.param(
        "gcp",
        {"url": "gcr.io", "keyfile_content": "[1]"},
        "keyfile_content",
        "neither JSON",
        id="gcp-array",
    ),
    pytest.param(
        "gcp",
        {
            "url": "gcr.io",
            "keyfile_content": json.dumps({**SERVICE_ACCOUNT, "type": "authorized_user"}),
        },
        "keyfile_content",
        "user credential",
        id="gcp-user-credential",
    ),
    pytest.param(
        "gcp",
        {
            "url": "gcr.io",
            "keyfile_content": json.dumps({**SERVICE_ACCOUNT, "type": "external_account"}),
        },
        "keyfile_content",
        "workload identity",
        id="gcp-external-account",
    ),
    pytest.param(
        "gcp",
        {
            "url": "gcr.io",
            "keyfile_content": json.dumps(
                {k: v for k, v in SERVICE_ACCOUNT.items() if k != "type"}
            ),
        },
        "keyfile_content",
        "service_account",
        id="gcp-no-type",
    ),
    pytest.param(
        "gcp",
        {
            "url": "gcr.io",
            "keyfile_content": json.dumps({**SERVICE_ACCOUNT, "private_key": "", "project_id": 5}),
        },
        "keyfile_content",
        "lacks private_key, project_id",
        id="gcp-missing-fields",
    ),
    pytest.param(
        "gcp",
        {
            "url": "gcr.io",
            "keyfile_content": json.dumps({**SERVICE_ACCOUNT, "private_key": CANARY}),
        },
        "keyfile_content",
        "PEM",
        id="gcp-not-pem",
    ),
    pytest.param(
        "gcp",
        {"url": "gcr.io", "keyfile_content": json.dumps({**SERVICE_ACCOUNT, "pad": "x" * 70000})},
        "keyfile_content",
        "64 KiB",
        id="gcp-oversize",
    ),
    pytest.param(
        "gcp",
        {"url": "gcr.io", "keyfile_content": b"\x80\x81"},
        "keyfile_content",
        "UTF-8",
        id="gcp-binary-upload",
    ),
    pytest.param(
        "private",
        {"url": "ftp://r.example.com", "username": "u", "password": "p"},
        "url",
        "ftp://",
        id="private-scheme",
    ),
    pytest.param(
        "private",
        {"url": "u:p@r.example.com", "username": "u", "password": "p"},
        "url",
        "user information",
        id="private-userinfo",
    ),
    pytest.param(
        "private",
        {"url": "r.example.com/?x=1", "username": "u", "password": "p"},
        "url",
        "query",
        id="private-query",
    ),
    pytest.param(
        "private",
        {"url": "r.example.com#x", "username": "u", "password": "p"},
        "url",
        "fragment",
        id="private-fragment",
    ),
    pytest.param(
        "private",
        {"url": "r.example.com:70000", "username": "u", "password": "p"},
        "url",
        "port",
        id="private-port",
    ),
    pytest.param(
        "private",
        {"url": "*.example.com", "username": "u", "password": "p"},
        "url",
        "wildcards",
        id="private-glob",
    ),
    pytest.param(
        "private",
        {"url": "docker.io", "username": "u", "password": "p"},
        "url",
        "Docker Hub",
        id="private-docker-hub",
    ),
    pytest.param(
        "private",
        {"url": "docker.pkg.github.com", "username": "u", "password": "p"},
        "url",
        "use ghcr.io",
        id="private-retired",
    ),
    pytest.param(
        "private",
        {"url": "r.example.com", "username": "u"},
        "password",
        "required",
        id="private-no-password",
    ),
    pytest.param("docker-config", {"config": ""}, "config", "required", id="docker-config-empty"),
    pytest.param(
        "docker-config", {"config": "{"}, "config", "not valid JSON", id="docker-config-not-json"
    ),
    pytest.param(
        "docker-config",
        {
            "config": json.dumps(
                {"auths": {"https://index.docker.io/v1/": {}}, "credsStore": "desktop"}
            )
        },
        "config",
        "credential helper",
        id="docker-config-helper",
    ),
    pytest.param(
        "docker-config",
        {"config": b"{" + b" " * 70000 + b"}"},
        "config",
        "64 KiB",
        id="docker-config-oversize-upload",
    ),
    pytest.param(
        "docker-config",
        {"config": "x" * 70000},
        "config",
        "64 KiB",
        id="docker-config-oversize-text",
    ),
]


@pytest.mark.parametrize(("slug", "data", "field", "fragment"), INVALID)
def test_invalid_input(slug: str, data: dict, field: str, fragment: str) -> None:
    with pytest.raises(ProviderValidationError) as excinfo:
        get_provider(slug).validate(data)
    errors = excinfo.value.errors
    assert field in errors, errors
    assert any(fragment in message for message in errors[field]), errors


def test_every_problem_of_the_fields_is_reported_together() -> None:
    with pytest.raises(ProviderValidationError) as excinfo:
        get_provider("azure").validate(
            {"registry_name": "x", "username": "a:b", "password": "p\x00"}
        )
    assert set(excinfo.value.errors) == {"registry_name", "username", "password"}


def test_validation_error_is_a_value_error_with_a_summary() -> None:
    error = ProviderValidationError({"username": ["This field is required."], "url": []})
    assert isinstance(error, ValueError)
    assert error.errors == {"username": ["This field is required."]}
    assert "username: This field is required." in str(error)


# --- messages never contain secrets -------------------------------------------------

CANARY_INPUTS = [
    pytest.param("docker-hub", {"username": "a:b", "password": CANARY}, id="docker-hub"),
    pytest.param(
        "docker-hub", {"username": "octo", "password": CANARY + " \n x"}, id="docker-hub-bad-token"
    ),
    pytest.param(
        "github", {"username": "octo", "password": "github_pat_" + CANARY}, id="github-fine-grained"
    ),
    pytest.param(
        "gitlab", {"username": "me", "password": CANARY, "url": "gitlab.com"}, id="gitlab"
    ),
    pytest.param("digital-ocean", {"password": CANARY + ":x"}, id="digital-ocean"),
    pytest.param(
        "azure", {"registry_name": "x", "username": "u", "password": CANARY + "\n"}, id="azure"
    ),
    pytest.param("gcp", {"url": "gcr.io", "keyfile_content": CANARY}, id="gcp-garbage"),
    pytest.param(
        "gcp",
        {"url": "gcr.io", "keyfile_content": '{"private_key": "' + CANARY + '"'},
        id="gcp-truncated",
    ),
    pytest.param(
        "gcp",
        {"url": "gcr.io", "keyfile_content": json.dumps({**SERVICE_ACCOUNT, "type": CANARY})},
        id="gcp-wrong-type",
    ),
    pytest.param(
        "gcp",
        {"url": "nope", "keyfile_content": json.dumps({**SERVICE_ACCOUNT, "client_email": CANARY})},
        id="gcp-bad-email",
    ),
    pytest.param(
        "private",
        {"url": f"user:{CANARY}@r.example.com", "username": "u", "password": CANARY},
        id="private",
    ),
    pytest.param(
        "aws-ecr",
        {
            "access_key_id": CANARY,
            "secret_access_key": CANARY + " \n x",
            "region": CANARY,
            "registry_id": CANARY,
            "role_arn": CANARY,
        },
        id="aws-ecr",
    ),
    pytest.param(
        "docker-config",
        {
            "config": json.dumps(
                {"auths": {"ghcr.io": {"auth": b64(f"u:{CANARY}"), "password": "x"}}}
            )
        },
        id="docker-config-mismatch",
    ),
    pytest.param(
        "docker-config",
        {"config": '{"auths": {"ghcr.io": {"password": "' + CANARY + '" '},
        id="docker-config-json",
    ),
]


@pytest.mark.parametrize(("slug", "data"), CANARY_INPUTS)
def test_messages_never_contain_secrets(slug: str, data: dict) -> None:
    with pytest.raises(ProviderValidationError) as excinfo:
        get_provider(slug).validate(data)
    text = str(excinfo.value) + repr(excinfo.value) + repr(excinfo.value.errors)
    assert CANARY not in text
    assert b64(f"u:{CANARY}")[:12] not in text


# --- previews -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "data", "expected"),
    [
        pytest.param("docker-hub", {}, "docker.io", id="docker-hub"),
        pytest.param("github", {}, "ghcr.io", id="github"),
        pytest.param("gitlab", {}, "registry.gitlab.com", id="gitlab-default"),
        pytest.param(
            "gitlab",
            {"url": "https://GitLab.example.com:5050"},
            "gitlab.example.com:5050",
            id="gitlab-self-managed",
        ),
        pytest.param("digital-ocean", {}, "registry.digitalocean.com", id="digital-ocean"),
        pytest.param("azure", {"registry_name": "myreg"}, "myreg.azurecr.io", id="azure"),
        pytest.param(
            "azure", {"registry_name": "MyReg.azurecr.io"}, "myreg.azurecr.io", id="azure-full-host"
        ),
        pytest.param("azure", {"registry_name": "my"}, None, id="azure-too-short"),
        pytest.param(
            "gcp", {"url": "us-central1-docker.pkg.dev/p/r"}, "us-central1-docker.pkg.dev", id="gcp"
        ),
        pytest.param("gcp", {"url": "quay.io"}, None, id="gcp-wrong"),
        pytest.param(
            "private",
            {"url": "https://r.example.com:5000/team"},
            "r.example.com:5000/team",
            id="private",
        ),
        pytest.param("private", {"url": "not a url"}, None, id="private-invalid"),
        pytest.param(
            "aws-ecr",
            {"region": " EU-west-1", "registry_id": "123456789012 "},
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            id="aws-ecr",
        ),
        pytest.param(
            "aws-ecr",
            {"region": "cn-north-1", "registry_id": "123456789012"},
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            id="aws-ecr-china",
        ),
        pytest.param("aws-ecr", {"region": "eu-west-1"}, None, id="aws-ecr-no-account"),
        pytest.param(
            "aws-ecr",
            {"region": "evil.example.com/x", "registry_id": "123456789012"},
            None,
            id="aws-ecr-hostile-region",
        ),
        pytest.param(
            "docker-config",
            {"config": json.dumps({"auths": {"https://quay.io": {"auth": b64("a:b")}}})},
            "quay.io",
            id="docker-config",
        ),
        pytest.param("docker-config", {"config": "{"}, None, id="docker-config-invalid"),
    ],
)
def test_preview_host(slug: str, data: dict, expected: str | None) -> None:
    assert get_provider(slug).preview_host(data) == expected


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.slug)
@pytest.mark.parametrize(
    "data",
    [
        {},
        {"url": None, "registry_name": None, "config": None},
        {"url": 5, "registry_name": [], "config": 7},
    ],
    ids=["empty", "nones", "wrong-types"],
)
def test_preview_host_never_raises(provider: Provider, data: dict) -> None:
    host = provider.preview_host(data)
    # What the preview endpoint relies on: a host name to display, or None.
    assert host is None or (isinstance(host, str) and host)


def test_docker_config_provider_and_parser_agree() -> None:
    text = json.dumps({"auths": {"bad key": {"auth": b64("a:b")}}})
    with pytest.raises(InvalidDockerConfig) as parser_error:
        parse_docker_config(text)
    with pytest.raises(ProviderValidationError) as provider_error:
        get_provider("docker-config").validate({"config": text})
    assert provider_error.value.errors == {"config": [str(parser_error.value)]}


def test_field_errors_do_not_hide_the_other_fields_problems() -> None:
    with pytest.raises(ProviderValidationError) as excinfo:
        get_provider("private").validate({"url": "user@r.example.com", "password": "p"})
    errors = excinfo.value.errors
    assert errors["username"] == ["This field is required."]
    assert any("user information" in message for message in errors["url"])


def test_required_field_gets_one_message_only() -> None:
    with pytest.raises(ProviderValidationError) as excinfo:
        get_provider("github").validate({})
    assert excinfo.value.errors == {
        "username": ["This field is required."],
        "password": ["This field is required."],
    }


@pytest.mark.parametrize(
    ("image", "slug"),
    [
        ("nginx:1.27", "docker-hub"),
        ("docker.io/acme/api:1", "docker-hub"),
        ("ghcr.io/acme/web:1", "github"),
        ("registry.gitlab.com/acme/app/web:2", "gitlab"),
        ("registry.digitalocean.com/acme/web", "digital-ocean"),
        ("myreg01.azurecr.io/web:1", "azure"),
        ("gcr.io/proj/web", "gcp"),
        ("eu.gcr.io/proj/web", "gcp"),
        ("europe-west1-docker.pkg.dev/proj/repo/web:1", "gcp"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:1", "aws-ecr"),
        ("registry.example.com:5000/team/web", "private"),
        ("gitlab.example.com:5050/team/web", "private"),
    ],
)
def test_an_images_registry_names_the_provider_to_offer_first(image, slug) -> None:
    from regsecrets.registries import parse_image_reference, provider_for_host

    assert provider_for_host(parse_image_reference(image).domain).slug == slug
