"""Insert or update many rows in one statement from plain tuples, without building a model instance per row.

A sync writes hundreds of thousands of rows; model instances, per-field preparation and Django's CASE-per-row
bulk_update cost more than the database does. On PostgreSQL new rows arrive by COPY (their ids taken from the
table's sequence first, in one query) and updates travel as one array per column that the server unnests;
elsewhere (the SQLite demo) the ORM's bulk_create / bulk_update do the same job.
"""

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from django.db import connection, models, transaction
from django.utils import timezone

type Row = Sequence[Any]


def _fields(model: type[models.Model], names: Sequence[str]) -> list[models.Field[Any, Any]]:
    return [model._meta.get_field(name) for name in names]  # type: ignore[misc]


def _quoted(name: str | None) -> str:
    assert name is not None
    return str(connection.ops.quote_name(name))


def _array_type(field: models.Field[Any, Any]) -> str:
    # Without the length (varchar, not varchar(150)): an explicit cast would silently truncate.
    return str(field.db_type(connection)).split("(")[0]


def _json_text(field: models.Field[Any, Any]) -> Callable[[Any], str | None]:
    encoder = getattr(field, "encoder", None)
    if encoder is not None:
        import json

        return lambda value: None if value is None else json.dumps(value, cls=encoder)
    return lambda value: None if value is None else orjson.dumps(value).decode()


def _columns(fields: Sequence[models.Field[Any, Any]], rows: Sequence[Row]) -> list[Any]:
    columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in fields]
    for index, field in enumerate(fields):
        if isinstance(field, models.JSONField):
            to_text = _json_text(field)
            columns[index] = [to_text(value) for value in columns[index]]
    return [array_literal(column) for column in columns]


def _element(value: str | int | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_literal(values: Sequence[Any]) -> Any:
    """A list of texts or integers as PostgreSQL's array literal ('{"a","b"}'), which the server parses; other
    values as they are. The driver adapts a list element by element in Python, about ten times slower, and a
    batch sends a few thousand-value arrays per statement."""
    if all(v is None or (isinstance(v, str | int) and not isinstance(v, bool)) for v in values):
        return "{" + ",".join(map(_element, values)) + "}"
    return list(values)


def _completed(
    model: type[models.Model], names: Sequence[str], rows: Iterable[Row]
) -> tuple[list[str], list[Row]]:
    """Add the columns the caller left out, with their defaults (auto_now ones get now), as save() would."""
    given = set(names)
    now = timezone.now()
    missing = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f.name not in given and f.attname not in given
    ]
    fillers: list[Callable[[], Any]] = []
    for field in missing:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            fillers.append(lambda: now)
        else:
            fillers.append(field.get_default)
    rows = [(*row, *(fill() for fill in fillers)) for row in rows] if missing else list(rows)
    return [*names, *(f.name for f in missing)], rows


@functools.cache
def _sequence(table: str, column: str | None) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        return str(cursor.fetchone()[0])


def insert_rows(model: type[models.Model], names: Sequence[str], rows: Iterable[Row]) -> list[int]:
    """Insert rows (values in the order of `names`); returns their new primary keys, in the same order."""
    names, full_rows = _completed(model, names, rows)
    if not full_rows:
        return []
    fields = _fields(model, names)
    if connection.vendor != "postgresql":
        objects = model._default_manager.bulk_create(
            model(**{f.attname: value for f, value in zip(fields, row, strict=True)}) for row in full_rows
        )
        return [int(o.pk) for o in objects]
    pk_field = model._meta.pk
    assert pk_field is not None
    table = _quoted(model._meta.db_table)
    columns = ", ".join(_quoted(f.column) for f in [pk_field, *fields])
    to_text = {i: _json_text(f) for i, f in enumerate(fields) if isinstance(f, models.JSONField)}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
            [_sequence(table, pk_field.column), len(full_rows)],
        )
        ids = [int(r[0]) for r in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for pk_value, row in zip(ids, full_rows, strict=True):
                if to_text:
                    row = [to_text[i](v) if i in to_text else v for i, v in enumerate(row)]
                copy.write_row((pk_value, *row))
    return ids


def update_rows(model: type[models.Model], names: Sequence[str], rows: Iterable[Row]) -> int:
    """Set `names` on each row's primary key: every row is (pk, *values). Like bulk_update, it leaves
    auto_now fields alone unless they are named. Returns the number of rows updated."""
    rows = list(rows)
    if not rows:
        return 0
    fields = _fields(model, names)
    if connection.vendor != "postgresql":
        objects = [
            model(pk=row[0], **{f.attname: value for f, value in zip(fields, row[1:], strict=True)})
            for row in rows
        ]
        return model._default_manager.bulk_update(objects, list(names), batch_size=500)
    pk_field = model._meta.pk
    assert pk_field is not None
    table = _quoted(model._meta.db_table)
    pk = _quoted(pk_field.column)
    aliases = ", ".join(["id", *(f"c{i}" for i in range(len(fields)))])
    arrays = ", ".join(f"%s::{_array_type(f)}[]" for f in [pk_field, *fields])
    sets = ", ".join(f"{_quoted(f.column)} = v.c{i}" for i, f in enumerate(fields))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v({aliases}) WHERE {table}.{pk} = v.id",  # noqa: S608
            _columns([pk_field, *fields], rows),
        )
        return int(cursor.rowcount)


def refresh_statistics(*models_: type[models.Model]) -> None:
    """Tell PostgreSQL's planner how big these tables have become. After a large first load its statistics
    still describe empty tables (autovacuum catches up minutes later), and it would plan the next queries as
    nested scans over rows it believes are not there."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(_quoted(m._meta.db_table) for m in models_)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


class StatisticsAsTablesGrow:
    """Refreshes these tables' statistics once `wrote()` is told of `first` rows, and again each time that
    count grows fourfold; in between, the planner scales its estimates by the tables' size."""

    def __init__(self, *models_: type[models.Model], first: int = 2000) -> None:
        self.models, self.next = models_, first

    def wrote(self, rows: int) -> None:
        if rows >= self.next:
            refresh_statistics(*self.models)
            self.next *= 4


@contextmanager
def batch_transaction() -> Iterator[None]:
    """One transaction for a batch of a sync, planned for data in memory.

    A batch looks up a thousand keys at a time (Merge ids, emails) in tables that hold the organization. With
    PostgreSQL's default random_page_cost (4, for spinning disks) the planner prices a thousand index lookups
    above a scan of a 100,000-row table, and scans it, batch after batch: a first sync grows quadratically.
    1.1 is the usual value for SSDs and warm caches; SET LOCAL keeps it to the enclosing transaction.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL random_page_cost = 1.1")
        yield


@models.Field.register_lookup
class AnyOf(models.Lookup[Any]):
    """`field__any_of=values`: on PostgreSQL `field = ANY(%s)` with the values as one array parameter.

    A batch looks up a thousand keys at a time. As `__in`, each value is prepared by the field and becomes a
    placeholder of its own, and a statement with a different number of them is parsed anew by the driver;
    as one array the statement's text stays the same and the values are sent in one piece. The plan is the
    same: PostgreSQL turns `IN (...)` into `= ANY(...)`. Elsewhere (SQLite) it is `IN (...)`.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return [self.lhs.output_field.get_prep_value(v) for v in self.rhs]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", (*lhs_params, array_literal(values))
        if not values:
            return "1 = 0", tuple(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", (*lhs_params, *values)
