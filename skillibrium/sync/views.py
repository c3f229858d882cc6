"""A sync run's page: how it went, phase by phase, and its per-person log, searched, filtered and paged by
id (a run of 100,000 people is never counted or skipped through with OFFSET). Admins only."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from skillibrium.accounts.access import admin_view
from skillibrium.accounts.models import Membership
from skillibrium.directory.models import Person

from .models import PHASES, RunAction, RunEntry, SyncRun

PAGE_SIZE = 50
LABELS = {"name": "Name", "email": "Sign-in email", "manager": "Manager", "remote_was_deleted": "Deleted"}


@dataclass(frozen=True)
class Row:
    entry: RunEntry
    why: str


def run_of(membership: Membership, pk: int, run_pk: int) -> SyncRun:
    """Another organization's run, or one of another integration, answers 404."""
    runs = SyncRun.objects.filter(
        integration__organization=membership.organization, integration_id=pk
    ).select_related("integration", "started_by")
    return get_object_or_404(runs, pk=run_pk)


def started_by(run: SyncRun) -> str:
    if run.started_by is not None:
        return run.started_by.get_full_name() or run.started_by.email
    return run.get_trigger_display()


def _searched(entries: QuerySet[RunEntry], text: str) -> QuerySet[RunEntry]:
    for word in text.split():
        entries = entries.filter(Q(name__icontains=word) | Q(email__icontains=word))
    return entries


def _label(name: str) -> str:
    if name in LABELS:
        return LABELS[name]
    return str(getattr(Person._meta.get_field(name), "verbose_name", name)).capitalize()


def _value(name: str, value: Any, managers: dict[int, str]) -> str:
    if name == "manager":
        return managers.get(value, "someone no longer listed") if value else "nobody"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value not in (None, "") else "—"


def why(entry: RunEntry, managers: dict[int, str]) -> str:
    """What the log says of one entry, in a sentence."""
    details = entry.details or {}
    if entry.action == RunAction.CREATED:
        return (
            "New at the source; a user was created with the record."
            if details.get("user")
            else ("New at the source.")
        )
    if "fields" in details:
        fields = details["fields"]
        if not fields:
            return "The source record changed; nothing shown in the directory did."
        return "; ".join(
            f"{_label(name)}: {_value(name, old, managers)} → {_value(name, new, managers)}"
            for name, (old, new) in fields.items()
        )
    if entry.action == RunAction.PROVISIONED:
        return "Admitted by the provisioning policy; " + (
            "invited by email." if details.get("invited") else "no invitation sent (invitations are off)."
        )
    if entry.action == RunAction.DEACTIVATED:
        return f"Evidence: {details.get('evidence') or 'from the source'}."
    if entry.action == RunAction.HELD:
        parts = [details.get("kind"), details.get("reason"), details.get("evidence")]
        return " · ".join(str(p) for p in parts if p)
    if entry.action == RunAction.SKIPPED:
        return f"Error: {details.get('error', 'unknown')}"
    return str(details.get("note") or "")


def _managers(entries: list[RunEntry], membership: Membership) -> dict[int, str]:
    """Names of the managers a page of entries mentions: one query for the page."""
    ids = {
        value
        for e in entries
        for value in (e.details or {}).get("fields", {}).get("manager", [])
        if isinstance(value, int)
    }
    if not ids:
        return {}
    people = Person.objects.for_org(membership.organization).filter(pk__in=ids)
    return {p.pk: p.name for p in people.only("display_name", "first_name", "last_name", "work_email")}


def _page(entries: QuerySet[RunEntry], after: int, before: int) -> tuple[list[RunEntry], bool, bool]:
    """One page by id, after or before a given entry: (entries, is there an earlier page, a later one)."""
    if before:
        rows = list(entries.filter(pk__lt=before).order_by("-pk")[: PAGE_SIZE + 1])
        earlier, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE][::-1]
        return rows, earlier, True
    rows = list(entries.filter(pk__gt=after).order_by("pk")[: PAGE_SIZE + 1])
    return rows[:PAGE_SIZE], bool(after), len(rows) > PAGE_SIZE


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


@admin_view
def run_detail(request: HttpRequest, membership: Membership, pk: int, run_pk: int) -> HttpResponse:
    run = run_of(membership, pk, run_pk)
    query = request.GET.get("q", "").strip()[:200]
    action = request.GET.get("action", "")
    entries = RunEntry.objects.filter(run=run)
    if action in RunAction.values:
        entries = entries.filter(action=action)
    else:
        action = ""
    if query:
        entries = _searched(entries, query)
    found, earlier, later = _page(entries, _int(request.GET.get("after")), _int(request.GET.get("before")))
    managers = _managers(found, membership)
    context = {
        "integration": run.integration,
        "run": run,
        "started_by": started_by(run),
        "phases": [(label, run.phases[name]) for name, label in PHASES.items() if name in run.phases],
        "rows": [Row(e, why(e, managers)) for e in found],
        "actions": RunAction.choices,
        "action": action,
        "query": query,
        "earlier": found[0].pk if earlier and found else None,
        "later": found[-1].pk if later and found else None,
    }
    return render(request, "integrations/run_detail.html", context)
