"""parse_image_reference: the distribution reference grammar and its normalization."""

from __future__ import annotations

import pytest

from regsecrets.registries import ImageReference, InvalidImageReference, parse_image_reference

SHA = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("image", "domain", "path", "tag", "digest"),
    [
        pytest.param("nginx", "docker.io", "library/nginx", None, None, id="official"),
        pytest.param("nginx:1.27", "docker.io", "library/nginx", "1.27", None, id="official-tag"),
        pytest.param(
            "library/nginx", "docker.io", "library/nginx", None, None, id="library-explicit"
        ),
        pytest.param("user/app", "docker.io", "user/app", None, None, id="hub-namespace"),
        pytest.param("user/team/app", "docker.io", "user/team/app", None, None, id="hub-nested"),
        pytest.param(
            "docker.io/nginx", "docker.io", "library/nginx", None, None, id="docker-io-official"
        ),
        pytest.param(
            "index.docker.io/user/app", "docker.io", "user/app", None, None, id="legacy-domain"
        ),
        pytest.param("ghcr.io/octo/app:v1", "ghcr.io", "octo/app", "v1", None, id="ghcr-tag"),
        pytest.param("ghcr.io/app", "ghcr.io", "app", None, None, id="no-library-off-hub"),
        pytest.param("localhost/app", "localhost", "app", None, None, id="localhost"),
        pytest.param(
            "localhost:5000/app", "localhost:5000", "app", None, None, id="localhost-port"
        ),
        pytest.param("127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", None, None, id="ipv4-port"),
        pytest.param("[::1]:5000/app:1", "[::1]:5000", "app", "1", None, id="ipv6-port-tag"),
        pytest.param(
            "Registry.Example.com/app",
            "Registry.Example.com",
            "app",
            None,
            None,
            id="mixed-case-host",
        ),
        pytest.param(
            "myreg.azurecr.io/team/app@" + SHA,
            "myreg.azurecr.io",
            "team/app",
            None,
            SHA,
            id="digest",
        ),
        pytest.param(f"ghcr.io/o/app:v1@{SHA}", "ghcr.io", "o/app", "v1", SHA, id="tag-and-digest"),
        pytest.param(
            "a/b__c/d-e.f_g---h", "docker.io", "a/b__c/d-e.f_g---h", None, None, id="separators"
        ),
        pytest.param(
            "ghcr.io/o/app:" + "x" * 128, "ghcr.io", "o/app", "x" * 128, None, id="tag-128"
        ),
        pytest.param(
            "ghcr.io/o/app:_v1.0-RC", "ghcr.io", "o/app", "_v1.0-RC", None, id="tag-chars"
        ),
        pytest.param(
            "europe-west1-docker.pkg.dev/proj/repo/img",
            "europe-west1-docker.pkg.dev",
            "proj/repo/img",
            None,
            None,
            id="artifact-registry",
        ),
        pytest.param(
            "nginx@" + "sha512:" + "a" * 128,
            "docker.io",
            "library/nginx",
            None,
            "sha512:" + "a" * 128,
            id="sha512",
        ),
    ],
)
def test_valid_references(
    image: str, domain: str, path: str, tag: str | None, digest: str | None
) -> None:
    assert parse_image_reference(image) == ImageReference(
        domain=domain, path=path, tag=tag, digest=digest
    )


@pytest.mark.parametrize(
    ("image", "canonical", "familiar", "reference"),
    [
        pytest.param("nginx", "docker.io/library/nginx", "nginx", "latest", id="official"),
        pytest.param("user/app:2", "docker.io/user/app:2", "user/app:2", "2", id="namespace"),
        pytest.param("ghcr.io/o/a", "ghcr.io/o/a", "ghcr.io/o/a", "latest", id="ghcr"),
        pytest.param(
            f"ghcr.io/o/a:1@{SHA}",
            f"ghcr.io/o/a:1@{SHA}",
            f"ghcr.io/o/a:1@{SHA}",
            SHA,
            id="digest-wins",
        ),
    ],
)
def test_rendering(image: str, canonical: str, familiar: str, reference: str) -> None:
    ref = parse_image_reference(image)
    assert str(ref) == canonical
    assert ref.familiar == familiar
    assert ref.reference == reference
    assert parse_image_reference(str(ref)) == ref, "the canonical form parses back to itself"


def test_name_is_domain_and_path() -> None:
    assert parse_image_reference("nginx:1").name == "docker.io/library/nginx"


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("   ", "empty", id="blank"),
        pytest.param(None, "text", id="none"),
        pytest.param("ghcr.io/o/app name", "spaces", id="space"),
        pytest.param("https://ghcr.io/o/app", "scheme", id="scheme"),
        pytest.param("Nginx", "lowercase", id="uppercase-official"),
        pytest.param("user/App", "lowercase", id="uppercase-path"),
        pytest.param("ghcr.io/Octo/app", "lowercase", id="uppercase-after-host"),
        pytest.param("ghcr.io/o//app", "empty component", id="double-slash"),
        pytest.param("ghcr.io/o/app/", "empty component", id="trailing-slash"),
        pytest.param("/app", "empty component", id="leading-slash"),
        pytest.param("ghcr.io/-app", "'-app'", id="component-leading-hyphen"),
        pytest.param("ghcr.io/app-", "'app-'", id="component-trailing-hyphen"),
        pytest.param("ghcr.io/a..b", "'a..b'", id="double-dot"),
        pytest.param("ghcr.io/a___b", "'a___b'", id="triple-underscore"),
        pytest.param("ghcr.io/o/app:", "tag", id="empty-tag"),
        pytest.param("ghcr.io/o/app:-x", "tag", id="tag-leading-hyphen"),
        pytest.param("ghcr.io/o/app:.x", "tag", id="tag-leading-dot"),
        pytest.param("ghcr.io/o/app:" + "x" * 129, "tag", id="tag-too-long"),
        pytest.param("ghcr.io/o/app:a+b", "tag", id="tag-plus"),
        pytest.param("ghcr.io/o/app@sha256:abc", "digest", id="digest-short"),
        pytest.param(
            "ghcr.io/o/app@" + SHA.upper().replace("SHA", "sha"), "lowercase", id="digest-uppercase"
        ),
        pytest.param("ghcr.io/o/app@md5:" + "a" * 32, "algorithm", id="digest-unknown-algorithm"),
        pytest.param("ghcr.io/o/app@sha256:" + "a" * 65, "64", id="digest-wrong-length"),
        pytest.param("ghcr.io/o/app@", "digest", id="digest-empty"),
        pytest.param("-bad.example.com/app", "registry host", id="host-leading-hyphen"),
        pytest.param("bad_host.example.com/app", "registry host", id="host-underscore"),
        pytest.param("ghcr.io:port/app", "registry host", id="port-not-number"),
        pytest.param(":5000/app", "registry host", id="port-without-host"),
        pytest.param("ghcr.io/", "empty component", id="host-only"),
        pytest.param("0123456789abcdef" * 4, "image ID", id="bare-image-id"),
        pytest.param("ghcr.io/" + "a" * 250, "255", id="name-too-long"),
        pytest.param("ghcr.io/o/app:tag:again", "component", id="two-tags"),
    ],
)
def test_invalid_references(image: str, fragment: str) -> None:
    with pytest.raises(InvalidImageReference) as excinfo:
        parse_image_reference(image)  # type: ignore[arg-type]
    assert fragment in str(excinfo.value)


def test_invalid_image_reference_is_a_value_error() -> None:
    assert issubclass(InvalidImageReference, ValueError)
