"""Release hygiene: one version, shown by /healthz and the footer; a changelog."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from setuptools.config.pyprojecttoml import read_configuration

import regsecrets

ROOT = Path(__file__).resolve().parents[2]


def test_the_version_is_a_pep_440_release_written_once():
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", regsecrets.__version__)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setuptools calls [tool.setuptools] beta
        project = read_configuration(ROOT / "pyproject.toml", expand=True)["project"]
    assert project["version"] == regsecrets.__version__
    assert "version =" not in (ROOT / "pyproject.toml").read_text().split("[project]")[1].split("[")[0]


@pytest.mark.django_db
def test_healthz_reports_the_version(client):
    assert client.get("/healthz").json() == {"status": "ok", "version": regsecrets.__version__}


@pytest.mark.django_db
def test_the_footer_shows_the_version(client):
    page = client.get("/accounts/login/").content.decode()
    footer = page.split("<footer", 1)[1]
    assert f"regsecrets {regsecrets.__version__}" in footer


def test_the_changelog_starts_with_the_version_in_progress():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    first = re.search(r"^## (.+)$", changelog, re.MULTILINE).group(1)
    assert regsecrets.__version__ in first


def pins(path: Path) -> dict[str, str]:
    """{normalised name: version} of the ``name==version`` lines of a requirements file."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(3)
    return found


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_every_locked_requirement_is_pinned_with_hashes(name):
    text = (ROOT / name).read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n\n", 1)[-1].strip())
    entries = [e for e in entries if not e.startswith("#")]
    assert entries
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*==\S+ \\", entry), entry[:80]
        assert "--hash=sha256:" in entry, entry[:80]


@pytest.mark.parametrize(
    ("source", "lock"),
    [("requirements.in", "requirements.txt"), ("requirements-dev.in", "requirements-dev.txt")],
)
def test_the_lock_is_compiled_from_the_current_in_files(source, lock):
    """A pin changed in a .in file without `make lock` fails here, not in the image build."""
    wanted, locked = pins(ROOT / source), pins(ROOT / lock)
    assert wanted
    assert {name: locked.get(name) for name in wanted} == wanted


def test_the_dev_lock_holds_the_runtime_lock():
    runtime, dev = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime
