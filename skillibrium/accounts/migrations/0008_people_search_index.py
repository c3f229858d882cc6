"""A trigram index for the People page's search, on PostgreSQL (the SQLite demo scans its few users).

Built on the expression the search filters on (accounts/people_search.py `SearchText`), so that a search
for any fragment of an email or name reads the index instead of every user. pg_trgm is a trusted extension:
the database's owner may create it.
"""

from typing import Any

from django.db import migrations

CREATE = """CREATE INDEX user_search_trgm ON accounts_user
    USING gin ((UPPER(email || ' ' || first_name || ' ' || last_name)) gin_trgm_ops)"""


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(CREATE)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS user_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_membership_access_override")]

    operations = [migrations.RunPython(create, drop)]
