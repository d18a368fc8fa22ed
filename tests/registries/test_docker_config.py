"""parse_docker_config and normalize_registry_key: valid, normalized and malformed documents."""

from __future__ import annotations

import base64
import codecs
import json

import pytest

from regsecrets.registries import (
    DOCKER_HUB_AUTH_KEY,
    MAX_DOCKER_CONFIG_BYTES,
    InvalidDockerConfig,
    decode_auth,
    encode_auth,
    normalize_registry_key,
    parse_docker_config,
)

CANARY = "CANARY-pw-7f3a9"


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def doc(auths: object, **extra: object) -> str:
    return json.dumps({"auths": auths, **extra})


def entry(username: str, password: str) -> dict[str, str]:
    return {"username": username, "password": password, "auth": encode_auth(username, password)}


# --- registry keys ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param("docker.io", DOCKER_HUB_AUTH_KEY, id="docker-io"),
        pytest.param("index.docker.io", DOCKER_HUB_AUTH_KEY, id="index-docker-io"),
        pytest.param("registry-1.docker.io", DOCKER_HUB_AUTH_KEY, id="registry-1"),
        pytest.param("https://index.docker.io/v1/", DOCKER_HUB_AUTH_KEY, id="hub-canonical"),
        pytest.param("https://index.docker.io/v1", DOCKER_HUB_AUTH_KEY, id="hub-no-slash"),
        pytest.param("https://registry-1.docker.io/v2/", DOCKER_HUB_AUTH_KEY, id="hub-v2"),
        pytest.param("http://docker.io", DOCKER_HUB_AUTH_KEY, id="hub-http"),
        pytest.param("index.docker.io/myorg", "docker.io/myorg", id="hub-with-path"),
        pytest.param("https://ghcr.io/v2/", "ghcr.io", id="v2-suffix"),
        pytest.param("https://ghcr.io/v1/", "ghcr.io", id="v1-suffix"),
        pytest.param("GHCR.IO", "ghcr.io", id="uppercase"),
        pytest.param("  ghcr.io  ", "ghcr.io", id="surrounding-spaces"),
        pytest.param("ghcr.io/", "ghcr.io", id="trailing-slash"),
        pytest.param("ghcr.io/Acme/App/", "ghcr.io/acme/app", id="path-lowercased"),
        pytest.param(
            "HTTPS://Registry.Example.com:5000", "registry.example.com:5000", id="scheme-port"
        ),
        pytest.param(
            "registry.example.com:05000", "registry.example.com:5000", id="port-leading-zero"
        ),
        pytest.param("localhost:5000", "localhost:5000", id="localhost-port"),
        pytest.param("127.0.0.1:5000", "127.0.0.1:5000", id="ipv4"),
        pytest.param("[::1]:5000", "[::1]:5000", id="ipv6"),
        pytest.param("[0:0::1]", "[::1]", id="ipv6-compressed"),
        pytest.param("*.azurecr.io", "*.azurecr.io", id="glob"),
        pytest.param("bücher.example", "xn--bcher-kva.example", id="idn-punycode"),
        pytest.param(
            "registry.example.com/v2/team", "registry.example.com/team", id="v2-then-path"
        ),
    ],
)
def test_normalize_registry_key(key: str, expected: str) -> None:
    assert normalize_registry_key(key) == expected


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("https://", "no host", id="scheme-only"),
        pytest.param("ftp://ghcr.io", "ftp://", id="other-scheme"),
        pytest.param("user:pw@ghcr.io", "user information", id="userinfo"),
        pytest.param("ghcr.io?x=1", "query", id="query"),
        pytest.param("ghcr.io#frag", "fragment", id="fragment"),
        pytest.param("ghcr.io:99999", "port", id="port-range"),
        pytest.param("ghcr.io:abc", "port", id="port-not-number"),
        pytest.param("gh cr.io", "spaces", id="inner-space"),
        pytest.param("ghcr..io", "empty label", id="double-dot"),
        pytest.param("-ghcr.io", "letters, digits", id="leading-hyphen"),
        pytest.param("gh_cr.io", "letters, digits", id="underscore"),
        pytest.param("::1", "brackets", id="ipv6-unbracketed"),
        pytest.param("[::1", "bracket", id="ipv6-unclosed"),
        pytest.param("[zz::1]", "IPv6", id="ipv6-invalid"),
        pytest.param("ghcr.io/a//b", "empty component", id="path-double-slash"),
        pytest.param("ghcr.io/-a", "path", id="path-bad-component"),
        pytest.param("a" * 64 + ".io", "63", id="label-too-long"),
    ],
)
def test_normalize_registry_key_refuses(key: str, fragment: str) -> None:
    with pytest.raises(InvalidDockerConfig, match="Registry key") as excinfo:
        normalize_registry_key(key)
    assert fragment in str(excinfo.value)


# --- auth values --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        pytest.param(b64("user:pass"), ("user", "pass"), id="simple"),
        pytest.param(b64("user:pa:ss"), ("user", "pa:ss"), id="colon-in-password"),
        pytest.param(b64("user:"), ("user", ""), id="empty-password"),
        pytest.param(b64("user:pass").rstrip("="), ("user", "pass"), id="no-padding"),
        pytest.param(b64("ünïcode:pässwörd"), ("ünïcode", "pässwörd"), id="unicode"),
    ],
)
def test_decode_auth(auth: str, expected: tuple[str, str]) -> None:
    assert decode_auth(auth) == expected


def test_encode_auth_is_base64_of_user_colon_password() -> None:
    assert encode_auth("octocat", "ghp_x") == b64("octocat:ghp_x")


# --- valid documents ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected_auths"),
    [
        pytest.param(
            doc({"ghcr.io": {"auth": b64("octocat:ghp_x")}}),
            {"ghcr.io": entry("octocat", "ghp_x")},
            id="auth-only",
        ),
        pytest.param(
            doc({"ghcr.io": {"username": "octocat", "password": "ghp_x"}}),
            {"ghcr.io": entry("octocat", "ghp_x")},
            id="username-password-only",
        ),
        pytest.param(
            doc({"ghcr.io": entry("octocat", "ghp_x")}),
            {"ghcr.io": entry("octocat", "ghp_x")},
            id="all-three-agree",
        ),
        pytest.param(
            doc({"https://index.docker.io/v1/": {"auth": b64("me:tok")}}),
            {DOCKER_HUB_AUTH_KEY: entry("me", "tok")},
            id="docker-hub",
        ),
        pytest.param(
            doc({"docker.io": {"auth": b64("me:tok")}}),
            {DOCKER_HUB_AUTH_KEY: entry("me", "tok")},
            id="docker-hub-short-key",
        ),
        pytest.param(
            doc(
                {
                    "docker.io": {"auth": b64("me:tok")},
                    "https://index.docker.io/v1/": {"username": "me", "password": "tok"},
                }
            ),
            {DOCKER_HUB_AUTH_KEY: entry("me", "tok")},
            id="same-credentials-two-spellings-merge",
        ),
        pytest.param(
            doc(
                {
                    "https://ghcr.io/v2/": {"auth": b64("a:1")},
                    "registry.gitlab.com": {"auth": b64("b:2")},
                }
            ),
            {"ghcr.io": entry("a", "1"), "registry.gitlab.com": entry("b", "2")},
            id="several-registries-keep-order",
        ),
        pytest.param(
            doc(
                {"ghcr.io": {"auth": b64("a:1"), "email": "a@example.com", "x": [1]}},
                HttpHeaders={"User-Agent": "x"},
                psFormat="table",
            ),
            {"ghcr.io": entry("a", "1")},
            id="unknown-keys-dropped",
        ),
        pytest.param(
            doc(
                {
                    "myreg.azurecr.io": {
                        "auth": b64("00000000-0000-0000-0000-000000000000:"),
                        "identitytoken": "eyJ-token",
                    }
                }
            ),
            {
                "myreg.azurecr.io": {
                    **entry("00000000-0000-0000-0000-000000000000", ""),
                    "identitytoken": "eyJ-token",
                }
            },
            id="identitytoken-with-empty-password",
        ),
        pytest.param(
            doc({"registry.example.com": {"registrytoken": "bearer-x"}}),
            {"registry.example.com": {"registrytoken": "bearer-x"}},
            id="registrytoken-only",
        ),
        pytest.param(
            doc({"ghcr.io": {"auth": b64("a:1")}}, credsStore="desktop"),
            {"ghcr.io": entry("a", "1")},
            id="helper-present-but-entries-filled",
        ),
        pytest.param(
            doc({"registry.example.com": {"username": "ünï", "password": "pässwörd 🔑"}}),
            {"registry.example.com": entry("ünï", "pässwörd 🔑")},
            id="unicode-credentials",
        ),
        pytest.param(
            doc({"bücher.example:5000/team": {"auth": b64("a:1")}}),
            {"xn--bcher-kva.example:5000/team": entry("a", "1")},
            id="idn-key-with-port-and-path",
        ),
        pytest.param(
            doc({"*.azurecr.io": {"auth": b64("a:1")}}),
            {"*.azurecr.io": entry("a", "1")},
            id="glob-key",
        ),
        pytest.param(
            doc({"gcr.io": {"username": "_json_key", "password": '{\n  "type": "x"\n}'}}),
            {"gcr.io": entry("_json_key", '{\n  "type": "x"\n}')},
            id="password-with-newlines",
        ),
    ],
)
def test_valid_documents_are_normalized(data: str, expected_auths: dict) -> None:
    assert parse_docker_config(data) == {"auths": expected_auths}


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda text: text, id="str"),
        pytest.param(lambda text: text.encode(), id="bytes"),
        pytest.param(lambda text: "\ufeff" + text, id="str-with-bom"),
        pytest.param(lambda text: codecs.BOM_UTF8 + text.encode(), id="utf8-bom"),
        pytest.param(lambda text: text.encode("utf-16"), id="utf16-powershell"),
        pytest.param(lambda text: bytearray(text.encode()), id="bytearray"),
        pytest.param(json.loads, id="dict"),
    ],
)
def test_accepts_text_bytes_and_dicts(wrap) -> None:
    text = doc({"ghcr.io": {"auth": b64("a:1")}})
    assert parse_docker_config(wrap(text)) == {"auths": {"ghcr.io": entry("a", "1")}}


def test_normalizing_is_idempotent() -> None:
    once = parse_docker_config(doc({"https://Index.Docker.io/v1/": {"auth": b64("a:1")}}))
    assert parse_docker_config(once) == once
    assert parse_docker_config(json.dumps(once)) == once


def test_does_not_mutate_a_dict_input() -> None:
    data = {"auths": {"docker.io": {"auth": b64("a:1"), "email": "x"}}}
    snapshot = json.loads(json.dumps(data))
    parse_docker_config(data)
    assert data == snapshot


def _padded_document(size: int) -> str:
    """A valid document of exactly ``size`` UTF-8 bytes, padded by a dropped key."""
    base = {"auths": {"ghcr.io": {"auth": b64("a:1")}}, "pad": ""}
    overhead = len(json.dumps(base).encode())
    base["pad"] = "x" * (size - overhead)
    text = json.dumps(base)
    assert len(text.encode()) == size
    return text


def test_accepts_a_document_of_exactly_64_kib() -> None:
    text = _padded_document(MAX_DOCKER_CONFIG_BYTES)
    assert list(parse_docker_config(text)["auths"]) == ["ghcr.io"]
    assert list(parse_docker_config(text.encode())["auths"]) == ["ghcr.io"]


# --- malformed documents ------------------------------------------------------------

_deep = "[" * 5000 + "]" * 5000
_deep_dict: dict = {}
_node = _deep_dict
for _ in range(5000):
    _node["x"] = {}
    _node = _node["x"]

MALFORMED = [
    # (data, message fragment, registry key the message must name or None)
    pytest.param("{", "not valid JSON", None, id="truncated-json"),
    pytest.param("auths: {}", "not valid JSON", None, id="yaml-not-json"),
    pytest.param("{'auths': {}}", "not valid JSON", None, id="single-quotes"),
    pytest.param("", "empty", None, id="empty-string"),
    pytest.param("   \n", "empty", None, id="whitespace-only"),
    pytest.param(b"", "empty", None, id="empty-bytes"),
    pytest.param("[]", "JSON object", None, id="array"),
    pytest.param('"auths"', "JSON object", None, id="string"),
    pytest.param("null", "JSON object", None, id="null"),
    pytest.param("42", "JSON object", None, id="number"),
    pytest.param(42, "JSON text or an object", None, id="not-text-at-all"),
    pytest.param(None, "JSON text or an object", None, id="none"),
    pytest.param("{}", 'no "auths"', None, id="no-auths"),
    pytest.param(doc([]), '"auths" must be an object', None, id="auths-list"),
    pytest.param(doc("ghcr.io"), '"auths" must be an object', None, id="auths-string"),
    pytest.param(doc(None), 'no "auths"', None, id="auths-null"),
    pytest.param(doc({}), '"auths" is empty', None, id="auths-empty"),
    pytest.param(
        doc({"ghcr.io": "dXNlcjpwYXNz"}), "must be an object", "ghcr.io", id="entry-string"
    ),
    pytest.param(doc({"ghcr.io": None}), "must be an object", "ghcr.io", id="entry-null"),
    pytest.param(doc({"ghcr.io": {}}), "no credentials", "ghcr.io", id="entry-empty"),
    pytest.param(
        doc({"ghcr.io": {"auth": "", "username": ""}}),
        "no credentials",
        "ghcr.io",
        id="entry-blank",
    ),
    pytest.param(
        doc({"ghcr.io": {"auth": "!!!not base64"}}), "base64", "ghcr.io", id="auth-bad-base64"
    ),
    pytest.param(doc({"ghcr.io": {"auth": "abcde"}}), "base64", "ghcr.io", id="auth-bad-length"),
    pytest.param(
        doc({"ghcr.io": {"auth": b64("userpass")}}), "no colon", "ghcr.io", id="auth-no-colon"
    ),
    pytest.param(
        doc({"ghcr.io": {"auth": b64(":pass")}}), "empty username", "ghcr.io", id="auth-empty-user"
    ),
    pytest.param(
        doc({"ghcr.io": {"auth": b64(b"\xff\xfe:x")}}), "UTF-8", "ghcr.io", id="auth-not-utf8"
    ),
    pytest.param(
        doc({"ghcr.io": {"auth": 1234}}), "auth must be a string", "ghcr.io", id="auth-number"
    ),
    pytest.param(
        doc({"ghcr.io": {"auth": ["a"]}}), "auth must be a string", "ghcr.io", id="auth-list"
    ),
    pytest.param(
        doc({"ghcr.io": {"username": "a", "password": 1}}),
        "password must be a string",
        "ghcr.io",
        id="password-number",
    ),
    pytest.param(
        doc({"ghcr.io": {"identitytoken": {"t": 1}}}),
        "identitytoken must be a string",
        "ghcr.io",
        id="identitytoken-object",
    ),
    pytest.param(doc({"ghcr.io": {"username": "a"}}), "no password", "ghcr.io", id="username-only"),
    pytest.param(doc({"ghcr.io": {"password": "p"}}), "no username", "ghcr.io", id="password-only"),
    pytest.param(
        doc({"ghcr.io": {"username": "a:b", "password": "p"}}),
        "colon",
        "ghcr.io",
        id="username-colon",
    ),
    pytest.param(
        doc({"ghcr.io": {"username": "a\u0007", "password": "p"}}),
        "control characters",
        "ghcr.io",
        id="username-control-char",
    ),
    pytest.param(
        doc({"ghcr.io": {"auth": b64("a:1"), "username": "b"}}),
        "username does not match",
        "ghcr.io",
        id="username-disagrees-with-auth",
    ),
    pytest.param(
        doc({"ghcr.io": {"auth": b64("a:1"), "password": "2"}}),
        "password does not match",
        "ghcr.io",
        id="password-disagrees-with-auth",
    ),
    pytest.param(
        doc({"https://index.docker.io/v1/": {}}, credsStore="desktop"),
        "credential helper",
        "https://index.docker.io/v1/",
        id="creds-store-only",
    ),
    pytest.param(
        doc({"gcr.io": {}}, credHelpers={"gcr.io": "gcloud"}),
        "credential helper",
        "gcr.io",
        id="cred-helpers-only",
    ),
    pytest.param(
        json.dumps({"credHelpers": {"gcr.io": "gcloud"}}),
        "credential helper",
        None,
        id="cred-helpers-without-auths",
    ),
    pytest.param(
        doc({}, credsStore="osxkeychain"), "credential helper", None, id="creds-store-empty-auths"
    ),
    pytest.param(
        doc({"ghcr.io": {"auth": b64("a:1")}, "quay.io": {}}, credsStore="desktop"),
        "credential helper",
        "quay.io",
        id="helper-partial",
    ),
    pytest.param("x" * (MAX_DOCKER_CONFIG_BYTES + 1), "64 KiB", None, id="oversize-str"),
    pytest.param(
        _padded_document(MAX_DOCKER_CONFIG_BYTES + 1), "64 KiB", None, id="oversize-by-one-byte"
    ),
    pytest.param(b"{" + b" " * MAX_DOCKER_CONFIG_BYTES + b"}", "64 KiB", None, id="oversize-bytes"),
    pytest.param(
        "é" * (MAX_DOCKER_CONFIG_BYTES // 2 + 1), "64 KiB", None, id="oversize-multibyte-str"
    ),
    pytest.param(
        {"auths": {"ghcr.io": {"auth": b64("a:1")}}, "pad": "x" * MAX_DOCKER_CONFIG_BYTES},
        "64 KiB",
        None,
        id="oversize-dict",
    ),
    pytest.param(b"\x80\x81{}", "not UTF-8", None, id="bytes-not-utf8"),
    pytest.param(_deep, "nested too deeply", None, id="deep-nesting-text"),
    pytest.param({"auths": _deep_dict}, "nested too deeply", None, id="deep-nesting-dict"),
    pytest.param({"auths": {"ghcr.io": {"auth": b"x"}}}, "not JSON", None, id="dict-with-bytes"),
    pytest.param(
        '{"auths": {"ghcr.io": {"username": "a", "password": "\\ud800"}}}',
        "invalid Unicode",
        "ghcr.io",
        id="lone-surrogate",
    ),
    pytest.param(
        '{"auths": {"ghcr.io": {"username": "a", "password": "p\\u0000"}}}',
        "NUL",
        "ghcr.io",
        id="nul-in-password",
    ),
    pytest.param(
        '{"auths": {"ghcr.io": {"auth": "'
        + b64("a:1")
        + '"}, "ghcr.io": {"auth": "'
        + b64("b:2")
        + '"}}}',
        "appears twice",
        "ghcr.io",
        id="duplicate-json-key",
    ),
    pytest.param(
        doc({"docker.io": {"auth": b64("a:1")}, DOCKER_HUB_AUTH_KEY: {"auth": b64("b:2")}}),
        "both mean",
        "docker.io",
        id="conflicting-spellings",
    ),
    pytest.param(doc({"": {"auth": b64("a:1")}}), "empty", None, id="empty-key"),
    pytest.param(
        doc({"not a host": {"auth": b64("a:1")}}), "spaces", "not a host", id="key-with-spaces"
    ),
    pytest.param(
        doc({"user@ghcr.io": {"auth": b64("a:1")}}),
        "user information",
        "user@ghcr.io",
        id="key-userinfo",
    ),
    pytest.param(doc({"ghcr.io:0": {"auth": b64("a:1")}}), "port", "ghcr.io:0", id="key-port-zero"),
    pytest.param(
        doc({"docker.pkg.github.com": {"auth": b64("a:1")}}),
        "use ghcr.io",
        "docker.pkg.github.com",
        id="retired-github-registry",
    ),
    pytest.param(
        json.dumps({"https://index.docker.io/v1/": {"auth": b64("a:1"), "email": "x"}}),
        "legacy .dockercfg",
        None,
        id="legacy-dockercfg",
    ),
]


@pytest.mark.parametrize(("data", "fragment", "key"), MALFORMED)
def test_malformed_documents_are_refused(data: object, fragment: str, key: str | None) -> None:
    with pytest.raises(InvalidDockerConfig) as excinfo:
        parse_docker_config(data)  # type: ignore[arg-type]
    message = str(excinfo.value)
    assert fragment in message
    if key is not None:
        assert repr(key) in message, "the message names the offending registry key"


def test_there_are_at_least_30_malformed_cases() -> None:
    assert len(MALFORMED) >= 30


def test_invalid_docker_config_is_a_value_error() -> None:
    assert issubclass(InvalidDockerConfig, ValueError)


def test_helper_message_explains_helpers_hold_no_secret() -> None:
    with pytest.raises(InvalidDockerConfig) as excinfo:
        parse_docker_config(doc({DOCKER_HUB_AUTH_KEY: {}}, credsStore="desktop"))
    message = str(excinfo.value)
    assert "credsStore" in message
    assert "your own machine" in message
    assert "no secret" in message


def test_message_truncates_a_huge_key() -> None:
    with pytest.raises(InvalidDockerConfig) as excinfo:
        parse_docker_config(doc({"a b" + "c" * 5000: {"auth": b64("a:1")}}))
    assert len(str(excinfo.value)) < 400


# --- messages never contain secrets -------------------------------------------------

CANARY_DOCUMENTS = [
    pytest.param(
        doc({"ghcr.io": {"auth": b64(f"user:{CANARY}"), "password": "other"}}), id="auth-mismatch"
    ),
    pytest.param(
        doc({"ghcr.io": {"auth": b64(f"user:{CANARY}"), "username": "x"}}), id="user-mismatch"
    ),
    pytest.param(doc({"ghcr.io": {"auth": CANARY}}), id="canary-as-auth"),
    pytest.param(doc({"ghcr.io": {"auth": b64(CANARY)}}), id="canary-no-colon"),
    pytest.param(doc({"ghcr.io": {"auth": b64(f":{CANARY}")}}), id="canary-empty-user"),
    pytest.param(doc({"ghcr.io": {"password": CANARY}}), id="password-no-user"),
    pytest.param(doc({"ghcr.io": {"username": "a:b", "password": CANARY}}), id="bad-user"),
    pytest.param(doc({"ghcr.io": {"identitytoken": 1, "password": CANARY}}), id="bad-token-type"),
    pytest.param(
        doc({"ghcr.io": {"auth": b64(f"a:{CANARY}")}, "bad key": {"auth": b64(f"a:{CANARY}")}}),
        id="bad-key-after-good-entry",
    ),
    pytest.param(
        '{"auths": {"ghcr.io": {"password": "' + CANARY + '"', id="truncated-after-secret"
    ),
    pytest.param(
        '{"auths": {"ghcr.io": {"password": "' + CANARY + '" x}}}', id="syntax-after-secret"
    ),
    pytest.param(
        doc({"ghcr.io": {"auth": b64(f"a:{CANARY}")}}) + " " * MAX_DOCKER_CONFIG_BYTES,
        id="oversize",
    ),
]


@pytest.mark.parametrize("data", CANARY_DOCUMENTS)
def test_messages_never_contain_secrets(data: str) -> None:
    with pytest.raises(InvalidDockerConfig) as excinfo:
        parse_docker_config(data)
    message = str(excinfo.value) + repr(excinfo.value)
    assert CANARY not in message
    assert b64(CANARY)[:12] not in message
    assert b64(f"user:{CANARY}")[:12] not in message


def test_credential_values_are_every_password_auth_password_and_token_of_every_entry():
    from regsecrets.registries import credential_values

    config = {
        "auths": {
            "a.example.com": {"auth": base64.b64encode(b"robot:auth-pw").decode()},
            "b.example.com": {"username": "u", "password": "plain-pw"},
            "c.example.com": {"identitytoken": "id-tok", "registrytoken": "reg-tok"},
            "d.example.com": {"auth": "not base64!"},
        }
    }
    assert credential_values(config) == {"auth-pw", "plain-pw", "id-tok", "reg-tok"}
    assert credential_values({}) == set()
