"""Which registry keys serve which image: the kubelet keyring's rules."""

from __future__ import annotations

import pytest

from regsecrets.registries import (
    DOCKER_HUB_AUTH_KEY,
    Credential,
    InvalidDockerConfig,
    InvalidImageReference,
    build_docker_config,
    credentials_for_image,
    encode_auth,
    hosts_for_image,
    key_matches_image,
    parse_image_reference,
    registry_host_for_matching,
)

MATCHING = [
    # (stored keys, image, expected matches most specific first)
    # host labels and globs
    pytest.param(["ghcr.io"], "ghcr.io/octo/app", ["ghcr.io"], id="exact-host"),
    pytest.param(["ghcr.io"], "nginx", [], id="other-host"),
    pytest.param(["*.azurecr.io"], "myreg.azurecr.io/app", ["*.azurecr.io"], id="glob-one-label"),
    pytest.param(["*.azurecr.io"], "azurecr.io/app", [], id="glob-needs-a-label"),
    pytest.param(["*.azurecr.io"], "a.b.azurecr.io/app", [], id="glob-matches-one-label-only"),
    pytest.param(["app*.k8s.io"], "app1.k8s.io/x", ["app*.k8s.io"], id="partial-label-glob"),
    pytest.param(["app*.k8s.io"], "web.k8s.io/x", [], id="partial-label-glob-miss"),
    pytest.param(["k8s.*"], "k8s.io/x", ["k8s.*"], id="tld-glob"),
    pytest.param(["*.*.registry.io"], "a.b.registry.io/x", ["*.*.registry.io"], id="two-globs"),
    pytest.param(["*.io"], "nginx", ["*.io"], id="glob-serves-docker-io"),
    pytest.param(["ghcr.io.evil.com"], "ghcr.io/o/a", [], id="no-suffix-tricks"),
    pytest.param(["evil-ghcr.io"], "ghcr.io/o/a", [], id="no-prefix-tricks"),
    # ports
    pytest.param(["localhost:5000"], "localhost:5000/app", ["localhost:5000"], id="same-port"),
    pytest.param(["localhost"], "localhost:5000/app", [], id="key-without-port"),
    pytest.param(
        ["registry.example.com:443"], "registry.example.com/app", [], id="image-without-port"
    ),
    pytest.param(["localhost:5001"], "localhost:5000/app", [], id="other-port"),
    pytest.param(
        ["*.example.com:5000"], "r.example.com:5000/app", ["*.example.com:5000"], id="glob-and-port"
    ),
    pytest.param(["[::1]:5000"], "[::1]:5000/app", ["[::1]:5000"], id="ipv6"),
    pytest.param(
        ["[::1]:5000"], "[0:0::1]:5000/app", ["[::1]:5000"], id="ipv6-spelled-differently"
    ),
    # paths
    pytest.param(["ghcr.io/acme"], "ghcr.io/acme/app", ["ghcr.io/acme"], id="path-prefix"),
    pytest.param(["ghcr.io/acme"], "ghcr.io/acme2/app", [], id="path-prefix-by-component"),
    pytest.param(["ghcr.io/acme/app"], "ghcr.io/acme/app:1", ["ghcr.io/acme/app"], id="path-equal"),
    pytest.param(["ghcr.io/acme/app/sub"], "ghcr.io/acme/app", [], id="path-longer-than-image"),
    pytest.param(["ghcr.io/other"], "ghcr.io/acme/app", [], id="path-differs"),
    # Docker Hub and its spellings
    pytest.param([DOCKER_HUB_AUTH_KEY], "nginx", [DOCKER_HUB_AUTH_KEY], id="hub-official"),
    pytest.param([DOCKER_HUB_AUTH_KEY], "user/app:1", [DOCKER_HUB_AUTH_KEY], id="hub-namespace"),
    pytest.param(
        [DOCKER_HUB_AUTH_KEY], "docker.io/library/nginx", [DOCKER_HUB_AUTH_KEY], id="hub-docker-io"
    ),
    pytest.param(
        [DOCKER_HUB_AUTH_KEY], "index.docker.io/user/app", [DOCKER_HUB_AUTH_KEY], id="hub-index"
    ),
    pytest.param(["docker.io"], "nginx", ["docker.io"], id="hub-short-key"),
    pytest.param(["index.docker.io"], "nginx", ["index.docker.io"], id="hub-index-key"),
    pytest.param(
        ["https://registry-1.docker.io/v2/"],
        "nginx",
        ["https://registry-1.docker.io/v2/"],
        id="hub-registry-1-key",
    ),
    pytest.param([DOCKER_HUB_AUTH_KEY], "ghcr.io/o/app", [], id="hub-not-for-ghcr"),
    pytest.param([DOCKER_HUB_AUTH_KEY], "localhost:5000/app", [], id="hub-not-for-localhost"),
    pytest.param(["docker.io/myorg"], "myorg/app", ["docker.io/myorg"], id="hub-path-key"),
    pytest.param(["docker.io/myorg"], "otherorg/app", [], id="hub-path-key-miss"),
    # key spellings
    pytest.param(["https://ghcr.io"], "ghcr.io/o/a", ["https://ghcr.io"], id="key-with-scheme"),
    pytest.param(["https://ghcr.io/v2/"], "ghcr.io/o/a", ["https://ghcr.io/v2/"], id="key-with-v2"),
    pytest.param(["GHCR.IO"], "ghcr.io/o/a", ["GHCR.IO"], id="key-uppercase"),
    pytest.param(["ghcr.io"], "GHCR.io/o/a", ["ghcr.io"], id="image-host-uppercase"),
    pytest.param(["bücher.example"], "xn--bcher-kva.example/app", ["bücher.example"], id="idn-key"),
    pytest.param(["not a host!", "ghcr.io"], "ghcr.io/o/a", ["ghcr.io"], id="invalid-key-skipped"),
    pytest.param([], "ghcr.io/o/a", [], id="no-keys"),
    pytest.param(["ghcr.io"], "ghcr.io/o/a@sha256:" + "a" * 64, ["ghcr.io"], id="digest-image"),
    # ordering
    pytest.param(
        ["ghcr.io", "ghcr.io/acme", "ghcr.io/acme/app"],
        "ghcr.io/acme/app",
        ["ghcr.io/acme/app", "ghcr.io/acme", "ghcr.io"],
        id="longest-path-first",
    ),
    pytest.param(
        ["*.azurecr.io", "myreg.azurecr.io"],
        "myreg.azurecr.io/app",
        ["myreg.azurecr.io", "*.azurecr.io"],
        id="exact-before-glob",
    ),
    pytest.param(
        ["*.*.example.com", "*.b.example.com", "a.b.example.com"],
        "a.b.example.com/app",
        ["a.b.example.com", "*.b.example.com", "*.*.example.com"],
        id="fewer-globs-first",
    ),
    pytest.param(
        ["myreg.azurecr.io", "*.azurecr.io/team"],
        "myreg.azurecr.io/team/app",
        ["*.azurecr.io/team", "myreg.azurecr.io"],
        id="path-beats-exact-host",
    ),
    pytest.param(
        [DOCKER_HUB_AUTH_KEY, "docker.io/myorg", "docker.io/myorg/app"],
        "myorg/app",
        ["docker.io/myorg/app", "docker.io/myorg", DOCKER_HUB_AUTH_KEY],
        id="hub-paths-before-hub",
    ),
    pytest.param(
        ["a*.example.com", "ab*.example.com"],
        "abc.example.com/app",
        ["ab*.example.com", "a*.example.com"],
        id="longer-glob-first",
    ),
    pytest.param(
        ["ghcr.io", "quay.io", "ghcr.io/acme"],
        "quay.io/acme/app",
        ["quay.io"],
        id="only-matches-returned",
    ),
]


@pytest.mark.parametrize(("keys", "image", "expected"), MATCHING)
def test_hosts_for_image(keys: list[str], image: str, expected: list[str]) -> None:
    assert hosts_for_image(keys, image) == expected


@pytest.mark.parametrize(("keys", "image", "expected"), MATCHING)
def test_credentials_for_image_follows_the_same_rules(
    keys: list[str], image: str, expected: list[str]
) -> None:
    config = build_docker_config((key, f"user-{i}", f"pw-{i}") for i, key in enumerate(keys))
    assert [credential.server for credential in credentials_for_image(config, image)] == expected


def test_there_are_at_least_25_matching_cases() -> None:
    assert len(MATCHING) >= 25


def test_order_does_not_depend_on_input_order() -> None:
    keys = ["ghcr.io", "*.io", "ghcr.io/acme", "ghcr.io/acme/app", "g*.io"]
    expected = hosts_for_image(keys, "ghcr.io/acme/app")
    assert hosts_for_image(reversed(keys), "ghcr.io/acme/app") == expected
    assert expected == ["ghcr.io/acme/app", "ghcr.io/acme", "ghcr.io", "g*.io", "*.io"]


def test_credentials_carry_username_password_and_stored_key() -> None:
    config = {
        "auths": {
            "https://ghcr.io/v2/": {"auth": encode_auth("octocat", "ghp_secret")},
            "myreg.azurecr.io": {"username": "sp", "password": "pw", "identitytoken": "tok"},
        }
    }
    assert credentials_for_image(config, "ghcr.io/o/a") == [
        Credential(server="https://ghcr.io/v2/", username="octocat", password="ghp_secret")
    ]
    [acr] = credentials_for_image(config, "myreg.azurecr.io/app")
    assert (acr.username, acr.password, acr.identitytoken) == ("sp", "pw", "tok")


def test_credential_repr_hides_secrets() -> None:
    credential = Credential(
        server="ghcr.io",
        username="octocat",
        password="CANARY-pw",
        identitytoken="CANARY-it",
        registrytoken="CANARY-rt",
    )
    assert "CANARY" not in repr(credential)
    assert "CANARY" not in str(credential)
    assert "octocat" in repr(credential)


def test_unusable_entries_are_skipped() -> None:
    config = {
        "auths": {
            "ghcr.io": "not an object",
            "ghcr.io/acme": {"auth": "!!!"},
            "ghcr.io/acme/app": {},
            "*.io": {"username": "u", "password": "p"},
        }
    }
    assert [c.server for c in credentials_for_image(config, "ghcr.io/acme/app")] == ["*.io"]


def test_accepts_a_parsed_reference() -> None:
    config = build_docker_config([("ghcr.io", "u", "p")])
    assert (
        credentials_for_image(config, parse_image_reference("ghcr.io/o/a"))[0].server == "ghcr.io"
    )
    assert hosts_for_image(["ghcr.io"], parse_image_reference("ghcr.io/o/a")) == ["ghcr.io"]


@pytest.mark.parametrize(
    "config", [{}, {"auths": []}, [], None], ids=["no-auths", "auths-list", "list", "none"]
)
def test_config_without_auths_is_refused(config: object) -> None:
    with pytest.raises(InvalidDockerConfig):
        credentials_for_image(config, "nginx")  # type: ignore[arg-type]


def test_invalid_image_is_refused() -> None:
    with pytest.raises(InvalidImageReference):
        hosts_for_image(["ghcr.io"], "https://ghcr.io/Octo")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        pytest.param(DOCKER_HUB_AUTH_KEY, "docker.io", id="hub"),
        pytest.param("index.docker.io/org", "docker.io/org", id="hub-path"),
        pytest.param("https://ghcr.io/v2/", "ghcr.io", id="ghcr"),
        pytest.param("*.azurecr.io", "*.azurecr.io", id="glob"),
    ],
)
def test_registry_host_for_matching(key: str, expected: str) -> None:
    assert registry_host_for_matching(key) == expected


def test_key_matches_image() -> None:
    assert key_matches_image("*.azurecr.io", "x.azurecr.io/app")
    assert not key_matches_image("*.azurecr.io", "azurecr.io/app")
