"""What refreshes itself while a sync is queued or running: an integration's health, the running sync's
counters and Recent syncs, on the Edit page, the HRIS Settings card and the Company Integrations row.

The page polls with htmx while a sync is under way; each answer is the same fragment, polling again only if
the sync still is, so the last answer ends the polling and shows the run's summary. A poll reads a handful of
rows whatever the organization's size, and renders without the site frame's context.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_safe

from skillibrium.accounts.access import admin_view
from skillibrium.accounts.models import Membership

from . import handoff
from .causes import explain
from .health import degradation
from .models import Integration
from .relink import QUEUED_SYNC_EXPIRES

if TYPE_CHECKING:
    from skillibrium.sync.models import SyncRun

POLL_SECONDS = 2
# Where a fragment lives: the template it is, and the context each needs.
FRAGMENTS = {
    "edit": "integrations/_edit_live.html",
    "card": "integrations/_card_live.html",
    "row": "integrations/_row_live.html",
}


def sync_under_way(integration: Integration) -> bool:
    """A sync is queued and not yet started, or a run holds the sync lease (a relink's catch-up included)."""
    now = timezone.now()
    queued_at, lease_until = integration.sync_queued_at, integration.sync_lease_until
    queued = (
        bool(integration.sync_queued) and queued_at is not None and queued_at >= now - QUEUED_SYNC_EXPIRES
    )
    return queued or (lease_until is not None and lease_until >= now)


SUMMARIES = 3  # runs the page watched end, summarised: a catch-up and the follow-ups asked for meanwhile


@dataclass(frozen=True)
class Live:
    """An integration's sync as a page shows it: the latest run and whether a sync is under way (the page
    polls while it is). `since`: the first run the polling page watched; once none is under way, the runs
    from it on are `finished`, and their summaries shown."""

    integration: Integration
    run: "SyncRun | None"
    under_way: bool
    since: int
    finished: tuple["SyncRun", ...] = ()

    @property
    def running(self) -> bool:
        return self.under_way and self.run is not None and self.run.is_running

    @property
    def poll_seconds(self) -> int:
        return POLL_SECONDS

    @property
    def running_for(self) -> str:
        if self.run is None:
            return ""
        seconds = int((timezone.now() - self.run.started_at).total_seconds())
        return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


def live_of(integration: Integration, runs: list["SyncRun"], *, since: int | None = None) -> Live:
    """`runs`: the integration's latest runs, newest first; `since` as the polling page sent it (None on a
    page's own load, which shows no summary)."""
    latest = runs[0] if runs else None
    under_way = sync_under_way(integration)
    if since is None:
        next_run = 0 if latest is None else latest.pk if latest.is_running else latest.pk + 1
        return Live(integration, latest, under_way, since=next_run)
    finished = () if under_way else tuple(run for run in runs if run.pk >= since)[:SUMMARIES]
    return Live(integration, latest, under_way, since=since, finished=finished)


def latest_runs(integrations: Iterable[Integration]) -> dict[int, "SyncRun"]:
    """Each integration's latest run, in one query."""
    from skillibrium.sync.models import SyncRun

    ids = [integration.pk for integration in integrations]
    latest = SyncRun.objects.filter(integration=OuterRef("pk")).order_by("-started_at", "-id").values("pk")
    runs = SyncRun.objects.filter(
        pk__in=Integration.objects.filter(pk__in=ids).values(latest=Subquery(latest[:1]))
    )
    return {run.integration_id: run for run in runs}


def lives(integrations: Iterable[Integration]) -> dict[int, Live]:
    listed = list(integrations)
    runs = latest_runs(listed)
    return {i.pk: live_of(i, [runs[i.pk]] if i.pk in runs else []) for i in listed}


def _since(request: HttpRequest) -> int:
    value = request.GET.get("since", "")
    return int(value) if value.isdigit() else 0


@require_safe
@admin_view
def poll(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """One fragment of the page that polls (`on`: edit, card or row), as it is now."""
    on = request.GET.get("on", "edit")
    template = FRAGMENTS.get(on, FRAGMENTS["edit"])
    integrations = Integration.objects.for_org(membership.organization).select_related("linked_by")
    integration = get_object_or_404(integrations, pk=pk)
    section = "company" if request.GET.get("section") == "company" else "hris"
    context = {"integration": integration, "section": section, "on": on, "polled": True}
    context["csrf_token"] = get_token(request)  # rendered without the request: a form in them still posts
    if template == FRAGMENTS["edit"]:
        from skillibrium.sync.recent import recent_rows, runs_in

        rows = recent_rows(integration.runs.all())
        context |= {"runs": rows, "explanation": explain(integration.cause)}
        runs = runs_in(rows)
    else:
        runs = list(integration.runs.all()[:SUMMARIES])
        context["degraded"] = degradation(integration)
        context["handoff"] = handoff.open_handoffs([integration]).get(integration.pk)
    context["live"] = live_of(integration, runs, since=_since(request))
    return HttpResponse(render_to_string(template, context))
