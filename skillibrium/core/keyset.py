"""Keyset paging, newest first by a time column then id: each page starts from the row before it, so the last
page of a million rows costs what the first does (OFFSET reads and discards every row before the page).

Links carry a row's id: `after` (Next, older rows), `before` (Previous, newer rows), or `oldest`. The cursor
is looked up within the filtered rows, so another organization's id, or a stale one, shows the newest page.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Model, Q, QuerySet


@dataclass(frozen=True)
class Window[M: Model]:
    rows: list[M]
    newer: int | None  # the first row shown, when newer rows exist: the Previous link's `before`
    older: int | None  # the last row shown, when older rows exist: the Next link's `after`


def older_than[M: Model](found: QuerySet[M], field: str, at: Any, pk: int) -> QuerySet[M]:
    """Rows after (at, pk) in newest-first order; `at <=` lets the index bound the walk."""
    tie = Q(**{f"{field}__lt": at}) | Q(pk__lt=pk)
    return found.filter(Q(**{f"{field}__lte": at}) & tie).order_by(f"-{field}", "-pk")


def newer_than[M: Model](found: QuerySet[M], field: str, at: Any, pk: int) -> QuerySet[M]:
    tie = Q(**{f"{field}__gt": at}) | Q(pk__gt=pk)
    return found.filter(Q(**{f"{field}__gte": at}) & tie).order_by(field, "pk")


def window[M: Model](
    found: QuerySet[M], *, field: str, size: int, after: int | None, before: int | None, oldest: bool
) -> Window[M]:
    cursor = after or before
    at = found.filter(pk=cursor).values_list(field, flat=True).first() if cursor else None
    if cursor and at is not None:
        if after:
            return _newest_first(list(older_than(found, field, at, cursor)[: size + 1]), size, True)
        return _oldest_first(list(newer_than(found, field, at, cursor)[: size + 1]), size, True)
    if oldest:
        return _oldest_first(list(found.order_by(field, "pk")[: size + 1]), size, False)
    return _newest_first(list(found.order_by(f"-{field}", "-pk")[: size + 1]), size, False)


def _newest_first[M: Model](rows: list[M], size: int, newer_exist: bool) -> Window[M]:
    """Up to a page and one more, newest first: the one more says that older rows exist."""
    more, rows = len(rows) > size, rows[:size]
    if not rows:
        return Window(rows, None, None)
    return Window(rows, rows[0].pk if newer_exist else None, rows[-1].pk if more else None)


def _oldest_first[M: Model](rows: list[M], size: int, older_exist: bool) -> Window[M]:
    """Up to a page and one more read oldest first, shown newest first: the one more says newer rows exist."""
    more, rows = len(rows) > size, rows[:size][::-1]
    if not rows:
        return Window(rows, None, None)
    return Window(rows, rows[0].pk if more else None, rows[-1].pk if older_exist else None)


def params(get: Any) -> dict[str, Any]:
    """The keyword arguments of `window` a request's query string gives."""

    def row_id(name: str) -> int | None:
        value = str(get.get(name, ""))
        return int(value) if value.isdigit() else None

    return {"after": row_id("after"), "before": row_id("before"), "oldest": get.get("oldest") == "1"}
