"""The audit log's filters by index: an action's entries newest first, and on PostgreSQL a trigram index for a
search by any fragment of the target (the SQLite demo scans its few entries). The search filters on
UPPER(target) (accounts/audit_pages.py), the very expression indexed here."""

from typing import Any

from django.db import migrations, models

CREATE = "CREATE INDEX audit_target_trgm ON core_auditentry USING gin ((UPPER(target)) gin_trgm_ops)"


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(CREATE)


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS audit_target_trgm")


class Migration(migrations.Migration):
    dependencies = [("core", "0004_audit_run")]

    operations = [
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(
                fields=["organization", "action", "-at", "-id"], name="audit_org_action_newest"
            ),
        ),
        migrations.RunPython(create, drop),
    ]
