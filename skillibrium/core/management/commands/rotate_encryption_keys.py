"""Re-encrypt every secret at rest under the first key of SKILLIBRIUM_ENCRYPTION_KEYS, while the site runs.

1. `--generate` prints a new key. 2. Deploy with `SKILLIBRIUM_ENCRYPTION_KEYS=<new>,<old>` (everything still
decrypts). 3. Run this command. 4. `--check` confirms nothing is left under an old key. 5. Drop the old key.
"""

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction

from skillibrium.core.crypto import (
    ENCRYPTED_JSON_KEYS,
    encrypted_fields,
    generate_key,
    is_under_primary_key,
    rotate,
)


def _sql(model: type[models.Model], field: models.Field[Any, Any]) -> tuple[str, str]:
    quote = connection.ops.quote_name
    table, column = quote(model._meta.db_table), quote(str(field.column))
    pk = quote(str(model._meta.pk.column))
    # Identifiers come from the models' own metadata, quoted; values are parameters.
    select = (
        f"SELECT {pk}, {column} FROM {table} WHERE {column} IS NOT NULL AND {pk} > %s "  # noqa: S608
        f"ORDER BY {pk} LIMIT %s"
    )
    # Only if the value is still the one read: a relink writing a new token meanwhile is never overwritten.
    update = f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s"  # noqa: S608
    return select, update


class Command(BaseCommand):
    help = "Re-encrypt every encrypted value under the first (newest) key, or check that it is done."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="Fail if any value is under an older key.")
        parser.add_argument("--generate", action="store_true", help="Print a new key and exit.")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["generate"]:
            self.stdout.write(generate_key())
            return
        check, batch = options["check"], options["batch_size"]
        stale = 0
        for model, field in encrypted_fields():
            stale += self._report(
                f"{model._meta.label}.{field.name}", *self._column(model, field, batch, check)
            )
        for label, (field_name, keys) in ENCRYPTED_JSON_KEYS.items():
            stale += self._report(
                f"{label}.{field_name}", *self._json(apps.get_model(label), field_name, keys, check)
            )
        if check and stale:
            raise CommandError(f"{stale} values are still under an older key; run without --check.")

    def _report(self, label: str, rotated: int, behind: int) -> int:
        self.stdout.write(f"{label}: {rotated} re-encrypted, {behind} were under an older key")
        return behind

    def _column(
        self, model: type[models.Model], field: models.Field[Any, Any], batch: int, check: bool
    ) -> tuple[int, int]:
        select, update = _sql(model, field)
        last: Any = 0
        rotated = behind = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(select, [last, batch])
                rows = cursor.fetchall()
                for pk, raw in rows:
                    if is_under_primary_key(raw):
                        continue
                    behind += 1
                    if not check:
                        cursor.execute(update, [rotate(raw), pk, raw])
                        rotated += cursor.rowcount
            if len(rows) < batch:
                return rotated, behind
            last = rows[-1][0]

    def _json(
        self, model: type[models.Model], field: str, keys: tuple[str, ...], check: bool
    ) -> tuple[int, int]:
        rotated = behind = 0
        for pk, data in model._default_manager.values_list("pk", field).iterator():
            stale = {k for k in keys if isinstance(data.get(k), str) and not is_under_primary_key(data[k])}
            if not stale:
                continue
            behind += 1
            if not check:
                fresh = data | {k: rotate(data[k]) for k in stale}
                rotated += model._default_manager.filter(pk=pk, **{field: data}).update(**{field: fresh})
        return rotated, behind
