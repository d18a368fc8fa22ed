"""One account per username, compared case-insensitively.

Django's sign-up form already refuses "Bob" when "bob" exists, but only by reading
first: two sign-ups at the same moment could both pass that check, and "Bob" and
"bob" on one member list, in audit trails and in the admin are two people who look
like one. As for email (0002), the table belongs to django.contrib.auth, so this is
a unique index on LOWER(username), the same SQL on SQLite and PostgreSQL, added only
after checking that no existing accounts clash (with a message saying what to do).
"""

from __future__ import annotations

from django.db import migrations

INDEX_NAME = "accounts_user_username_ci_uniq"


class DuplicateUsernames(Exception):
    """Existing accounts share a username in another case; the operator must resolve them."""


def duplicate_usernames(user_model) -> dict[str, list[str]]:
    """{lowercased username: [usernames]} for every username used in several cases."""
    seen: dict[str, list[str]] = {}
    for username in user_model.objects.values_list("username", flat=True).order_by("pk"):
        seen.setdefault(username.lower(), []).append(username)
    return {key: names for key, names in seen.items() if len(names) > 1}


def duplicates_message(duplicates: dict[str, list[str]]) -> str:
    lines = [f"  {', '.join(names)}" for _, names in sorted(duplicates.items())]
    return (
        f"Cannot make usernames unique regardless of case: {len(duplicates)} username(s) "
        "are used by several accounts in different cases:\n"
        + "\n".join(lines)
        + "\nRename all but one account of each group (in the admin under Users), or delete "
        "the accounts that are not needed, then run `manage.py migrate` again. Nothing has "
        "been changed."
    )


def create_index(apps, schema_editor) -> None:
    user_model = apps.get_model("auth", "User")
    duplicates = duplicate_usernames(user_model)
    if duplicates:
        raise DuplicateUsernames(duplicates_message(duplicates))
    quote = schema_editor.quote_name
    schema_editor.execute(
        f"CREATE UNIQUE INDEX {quote(INDEX_NAME)} "
        f"ON {quote(user_model._meta.db_table)} (LOWER({quote('username')}))"
    )


def drop_index(apps, schema_editor) -> None:
    schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(INDEX_NAME)}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_user_email_unique_ci")]

    operations = [migrations.RunPython(create_index, drop_index)]
