"""My Org by index: its order with the id that breaks ties (a deep page's ids come from the index alone), and on
PostgreSQL a trigram index for its search (the SQLite demo scans its few people). The search filters on
directory.models.SearchText, the very expression indexed here; pg_trgm came with accounts 0008."""

from typing import Any

from django.db import migrations, models

CREATE = """CREATE INDEX person_search_trgm ON directory_person USING gin ((UPPER(
    first_name || ' ' || last_name || ' ' || work_email || ' ' || title || ' ' || team || ' ' || department
)) gin_trgm_ops)"""


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(CREATE)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS person_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("directory", "0008_person_employee_number")]

    operations = [
        migrations.RemoveIndex(model_name="person", name="directory_p_organiz_af872e_idx"),
        migrations.AddIndex(
            model_name="person",
            index=models.Index(
                fields=["organization", "last_name", "first_name", "id"], name="person_org_name_order"
            ),
        ),
        migrations.RunPython(create, drop),
    ]
