"""Which entries a page of the audit log shows: newest first, a page at a time from the entry before it
(keyset, by `at` then id, core/keyset.py), so the oldest page of a million entries costs what the newest does.
The same walk feeds the CSV export in chunks.

Filters read indexes: an action by (organization, action, at, id), a target fragment by a trigram index on
UPPER(target) on PostgreSQL (core migration 0005). Counts stop at COUNTED_UP_TO ("more than 10,000").
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet
from django.db.models.functions import Upper

from skillibrium.core import keyset
from skillibrium.core.keyset import Window
from skillibrium.core.models import AuditEntry

PAGE_SIZE = 50
COUNTED_UP_TO = 10_000


@dataclass(frozen=True)
class Filters:
    action: str
    target: str

    @classmethod
    def of(cls, params: Mapping[str, str]) -> "Filters":
        return cls(params.get("action", "").strip()[:64], params.get("q", "").strip()[:200])


@dataclass(frozen=True)
class Page:
    window: Window[AuditEntry]
    total: int
    total_is_floor: bool  # more than `total` match


def entries(organization_id: int, filters: Filters) -> QuerySet[AuditEntry]:
    found = AuditEntry.objects.filter(organization_id=organization_id)
    if filters.action:
        found = found.filter(action=filters.action)
    if filters.target:
        found = found.alias(target_text=Upper("target")).filter(target_text__contains=filters.target.upper())
    return found


def page_of(
    *, organization_id: int, filters: Filters, after: int | None, before: int | None, oldest: bool
) -> Page:
    found = entries(organization_id, filters)
    shown = keyset.window(
        found.select_related("actor"), field="at", size=PAGE_SIZE, after=after, before=before, oldest=oldest
    )
    if not (after or before) and shown.newer is None and shown.older is None:
        total = len(shown.rows)  # all of them are shown: a search that finds a few costs no count
    else:
        total = found.order_by()[: COUNTED_UP_TO + 1].count()
    return Page(shown, min(total, COUNTED_UP_TO), total > COUNTED_UP_TO)


def actions_of(organization_id: int) -> list[str]:
    """The actions the organization's log holds, for the filter menu: one index probe per distinct action
    (a loose index scan on (organization, action)) instead of reading every entry."""
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    sql = f"""
        WITH RECURSIVE found(action) AS (
            SELECT MIN(action) FROM {table} WHERE organization_id = %s
            UNION ALL
            SELECT (SELECT MIN(action) FROM {table} WHERE organization_id = %s AND action > found.action)
            FROM found WHERE found.action IS NOT NULL
        )
        SELECT action FROM found WHERE action IS NOT NULL"""  # noqa: S608 (the table's own name)
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id, organization_id])
        return [row[0] for row in cursor.fetchall()]
