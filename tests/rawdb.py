"""Read the database as a stolen backup would: every table, every column, with plain SQL."""

from collections.abc import Iterator
from typing import Any

from django.db import connection


def as_text(value: Any) -> str:
    if isinstance(value, memoryview | bytes):
        return bytes(value).decode(errors="replace")
    return str(value)


def every_cell() -> Iterator[tuple[str, str]]:
    """(table, value) for every column of every row in the database."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                yield from ((table, as_text(value)) for value in row)


def tables_holding(text: str) -> set[str]:
    return {table for table, value in every_cell() if text in value}


def raw(model: type[Any], pk: int, column: str) -> Any:
    """One column of one row as stored, before any field decodes it."""
    table, quote = model._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote(column)} FROM {quote(table)} WHERE id = %s", [pk])
        return cursor.fetchone()[0]
