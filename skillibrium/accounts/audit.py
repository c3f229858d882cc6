"""The audit log: every provisioning action and admin decision, for admins, exportable as CSV."""

import csv
import json
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse

from skillibrium.accounts.models import Membership
from skillibrium.core.models import AuditEntry

from .access import admin_view


def _entries(membership: Membership, request: HttpRequest) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.filter(organization=membership.organization).select_related("actor")
    if action := request.GET.get("action", "").strip():
        entries = entries.filter(action__startswith=action[:64])
    if target := request.GET.get("q", "").strip():
        entries = entries.filter(target__icontains=target[:200])
    return entries


@admin_view
def audit_log(request: HttpRequest, membership: Membership) -> HttpResponse:
    entries = _entries(membership, request)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    _link_runs(membership, list(page))
    actions = AuditEntry.objects.filter(organization=membership.organization).values_list("action", flat=True)
    return render(
        request,
        "accounts/audit.html",
        {
            "page": page,
            "actions": sorted(set(actions)),
            "panel": "audit",
            "tab": "company",
            "filters": request.GET,
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


class _Echo:
    def write(self, value: str) -> str:
        return value


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


@admin_view
def audit_csv(request: HttpRequest, membership: Membership) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(["time", "actor", "action", "target", "detail", "run"])
        for entry in _entries(membership, request).iterator(chunk_size=2000):
            yield writer.writerow(csv_row(entry))

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="skillibrium-audit-log.csv"'
    return response
