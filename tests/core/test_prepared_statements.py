"""DATABASE_PREPARED_STATEMENTS: PostgreSQL statements prepared once per connection,
off unless asked for (a transaction-pooling PgBouncer may not carry them)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from django.db import connection, connections

import regsecrets.settings as django_settings_module

POSTGRES_URL = "postgres://someone@db.example.com:5432/regsecrets"


def _database(monkeypatch, **env: str) -> dict:
    monkeypatch.delenv("DATABASE_PREPARED_STATEMENTS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(Path(django_settings_module.__file__)))["DATABASES"]["default"]


def test_prepared_statements_are_off_by_default(monkeypatch):
    options = _database(monkeypatch, DATABASE_URL=POSTGRES_URL).get("OPTIONS", {})
    assert "server_side_binding" not in options
    assert "prepare_threshold" not in options


def test_the_variable_binds_on_the_server_and_prepares(monkeypatch):
    database = _database(
        monkeypatch, DATABASE_URL=POSTGRES_URL, DATABASE_PREPARED_STATEMENTS="true"
    )
    assert database["OPTIONS"]["server_side_binding"] is True
    assert database["OPTIONS"]["prepare_threshold"] == 5


def test_sqlite_ignores_the_variable(monkeypatch, tmp_path):
    database = _database(
        monkeypatch,
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        DATABASE_PREPARED_STATEMENTS="true",
        REGSECRETS_VAR_DIR=str(tmp_path),
    )
    assert "server_side_binding" not in database.get("OPTIONS", {})


@pytest.mark.django_db
def test_with_the_options_a_repeated_query_is_prepared_on_its_connection():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    options = {"server_side_binding": True, "prepare_threshold": 5}
    default = connections["default"]
    wrapper = type(default)(
        {**default.settings_dict, "OPTIONS": {**default.settings_dict["OPTIONS"], **options}},
        alias="prepared",
    )
    try:
        with wrapper.cursor() as cursor:
            for n in range(7):
                cursor.execute("SELECT %s::integer + 1", [n])
                assert cursor.fetchone() == (n + 1,)
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [row[0] for row in cursor.fetchall()]
    finally:
        wrapper.close()
    assert any("$1::integer + 1" in statement for statement in prepared)
