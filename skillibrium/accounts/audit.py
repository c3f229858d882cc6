"""The audit log: every provisioning action and admin decision, for admins, exportable as CSV."""

import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse

from skillibrium.accounts.models import Membership
from skillibrium.core import keyset
from skillibrium.core.models import AuditEntry

from . import audit_pages
from .access import admin_view
from .audit_pages import Filters


@admin_view
def audit_log(request: HttpRequest, membership: Membership) -> HttpResponse:
    filters = Filters.of(request.GET)
    page = audit_pages.page_of(
        organization_id=membership.organization_id, filters=filters, **keyset.params(request.GET)
    )
    _link_runs(membership, page.window.rows)
    return render(
        request,
        "accounts/audit.html",
        {
            "page": page,
            "actions": audit_pages.actions_of(membership.organization_id),
            "panel": "audit",
            "tab": "company",
            "filters": filters,
        },
    )


def _link_runs(membership: Membership, entries: list[AuditEntry]) -> None:
    """Each entry a sync run made links to that run's page: one query for the page's runs."""
    from skillibrium.sync.models import SyncRun

    wanted = {e.run_id for e in entries if e.run_id}
    runs = SyncRun.objects.filter(pk__in=wanted, integration__organization=membership.organization)
    integration_of = dict(runs.values_list("pk", "integration_id")) if wanted else {}
    for entry in entries:
        integration = integration_of.get(entry.run_id or 0)
        url = reverse("integrations:run_detail", args=[integration, entry.run_id]) if integration else ""
        setattr(entry, "run_url", url)  # noqa: B010 - shown beside the entry, never saved


# A spreadsheet runs a cell that begins with one of these as a formula (OWASP's CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """Names and emails come from the HRIS: a leading quote makes a would-be formula plain text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_row(entry: AuditEntry) -> list[str]:
    actor = entry.actor.email if entry.actor else "Skillibrium"
    detail = json.dumps(entry.detail, sort_keys=True, ensure_ascii=False, default=str)
    run = str(entry.run_id) if entry.run_id else ""
    cells = (entry.at.isoformat(), actor, entry.action, entry.target, detail, run)
    return [spreadsheet_safe(value) for value in cells]


EXPORT_CHUNK = 2000
Cursor = tuple[dt.datetime, int]
HEADER = ["time", "actor", "action", "target", "detail", "run"]


def export_chunk(organization_id: int, filters: Filters, cursor: Cursor | None) -> tuple[str, Cursor | None]:
    """The CSV of up to EXPORT_CHUNK entries after `cursor` (newest first), and where the next chunk starts:
    each chunk is one short indexed query, so the export holds no cursor or transaction open meanwhile."""
    found = audit_pages.entries(organization_id, filters).select_related("actor")
    ordered = keyset.older_than(found, "at", *cursor) if cursor else found.order_by("-at", "-id")
    rows = list(ordered[:EXPORT_CHUNK])
    text = io.StringIO()
    csv.writer(text).writerows(csv_row(entry) for entry in rows)
    following = (rows[-1].at, rows[-1].pk) if len(rows) == EXPORT_CHUNK else None
    return text.getvalue(), following


def _header() -> str:
    text = io.StringIO()
    csv.writer(text).writerow(HEADER)
    return text.getvalue()


def _chunks(organization_id: int, filters: Filters) -> Iterator[str]:
    yield _header()
    chunk, cursor = export_chunk(organization_id, filters, None)
    yield chunk
    while cursor:
        chunk, cursor = export_chunk(organization_id, filters, cursor)
        yield chunk


async def _chunks_async(organization_id: int, filters: Filters) -> AsyncIterator[str]:
    yield _header()
    chunk, cursor = await sync_to_async(export_chunk)(organization_id, filters, None)
    yield chunk
    while cursor:
        chunk, cursor = await sync_to_async(export_chunk)(organization_id, filters, cursor)
        yield chunk


@admin_view
def audit_csv(request: HttpRequest, membership: Membership) -> StreamingHttpResponse:
    """Under ASGI, Django collects a synchronous iterator into a list before sending a byte (the whole log in
    memory): there the export is an asynchronous iterator, whose reads run in the request's thread; under WSGI
    an asynchronous one would be collected instead, so there it stays synchronous."""
    filters = Filters.of(request.GET)
    organization_id = membership.organization_id
    content = (
        _chunks_async(organization_id, filters)
        if isinstance(request, ASGIRequest)
        else _chunks(organization_id, filters)
    )
    response = StreamingHttpResponse(content, content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="skillibrium-audit-log.csv"'
    return response
