"""A trigram index for searching secret names by substring, on PostgreSQL.

The service form's secret picker and the lists' name filter ask for names that
*contain* what was typed (``name__icontains``, which PostgreSQL runs as
``UPPER(name) LIKE UPPER('%q%')``). A b-tree cannot serve a leading wildcard, so a
rare substring read every name of the organization. A GIN index over the trigrams
of ``UPPER(name)`` (pg_trgm) finds the few candidates directly; for a substring
matching many names the planner keeps walking the (organization, name) index and
stops at the LIMIT.

pg_trgm ships with PostgreSQL and is a trusted extension (13+), so the database's
owner may create it. Where it cannot be created (a managed server without it), the
migration says so and goes on: searches stay correct, only slower. SQLite has no
such index and needs none at the sizes it serves.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, migrations, transaction

INDEX_NAME = "secret_name_trgm"
logger = logging.getLogger(__name__)


def create_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        logger.warning(
            "pg_trgm is not available (%s): secret name searches will work without a "
            "trigram index. Ask your database administrator to run CREATE EXTENSION pg_trgm "
            "and migrate again from registry_secrets 0003.",
            exc,
        )
        return
    table = schema_editor.quote_name(apps.get_model("registry_secrets", "Secret")._meta.db_table)
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(INDEX_NAME)} "
        f'ON {table} USING gin (UPPER("name") gin_trgm_ops)'
    )


def drop_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(INDEX_NAME)}")


class Migration(migrations.Migration):
    dependencies = [("registry_secrets", "0003_secret_count_and_host_index")]

    operations = [migrations.RunPython(create_index, drop_index)]
