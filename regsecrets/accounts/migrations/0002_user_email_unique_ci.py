"""One account per email address, compared case-insensitively.

django.contrib.auth's User has no unique email, and its table belongs to another
app, so a model constraint cannot be declared here: this migration adds a unique
index on LOWER(email) for non-empty addresses (users made by createsuperuser may
have none). The same SQL works on SQLite and PostgreSQL.

Before creating the index it looks for accounts that already share an address
and, if any do, stops with a message that lists them and says what to do, rather
than the database's bare "could not create unique index".
"""

from __future__ import annotations

from django.db import migrations

INDEX_NAME = "accounts_user_email_ci_uniq"


class DuplicateEmails(Exception):
    """Existing accounts share an email address; the operator must resolve them first."""


def duplicate_emails(user_model) -> dict[str, list[str]]:
    """{lowercased email: [usernames]} for every non-empty address used more than once."""
    seen: dict[str, list[str]] = {}
    rows = user_model.objects.exclude(email="").values_list("email", "username").order_by("pk")
    for email, username in rows.iterator():
        seen.setdefault(email.lower(), []).append(username)
    return {email: names for email, names in seen.items() if len(names) > 1}


def duplicates_message(duplicates: dict[str, list[str]]) -> str:
    lines = [
        f"  {email}: {', '.join(usernames)}" for email, usernames in sorted(duplicates.items())
    ]
    return (
        f"Cannot make email addresses unique: {len(duplicates)} address(es) are shared by "
        "several accounts (compared case-insensitively):\n"
        + "\n".join(lines)
        + "\nGive each of these accounts its own address, or delete the accounts that are "
        "not needed (in the admin under Users, or with `manage.py shell`), then run "
        "`manage.py migrate` again. Nothing has been changed."
    )


def create_index(apps, schema_editor) -> None:
    user_model = apps.get_model("auth", "User")
    duplicates = duplicate_emails(user_model)
    if duplicates:
        raise DuplicateEmails(duplicates_message(duplicates))
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE UNIQUE INDEX {quote(INDEX_NAME)} "
        f"ON {quote(user_model._meta.db_table)} (LOWER({quote('email')})) "
        f"WHERE {quote('email')} <> ''"
    )


def drop_index(apps, schema_editor) -> None:
    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(INDEX_NAME)}")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
