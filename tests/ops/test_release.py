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
