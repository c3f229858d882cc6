"""All runs of an integration, a page at a time, and the Edit page's history at a glance. Admins only."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from skillibrium.accounts.access import admin_view
from skillibrium.accounts.models import Membership
from skillibrium.accounts.time_zones import zone_of
from skillibrium.sync.models import RunStatus

from . import chart, history
from .choices import Trigger
from .models import Integration


def at_a_glance(integration: Integration) -> dict[str, Any]:
    """The Edit page's chart of the last 30 days, health strip and totals: five queries, whatever the size."""
    zone = zone_of(integration.organization)
    now = timezone.now()
    spans = history.health_spans(integration, zone, now)
    return {
        "chart": chart.chart_of(history.daily(integration, zone, now)),
        "strip": chart.strip_of(spans),
        "strip_summary": chart.strip_summary(spans),
        "strip_width": chart.STRIP_WIDTH,
        "totals": history.totals(integration, now),
    }


@admin_view
def run_history(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    integration = get_object_or_404(Integration.objects.for_org(membership.organization), pk=pk)
    status, trigger = request.GET.get("status", ""), request.GET.get("trigger", "")
    runs = history.filtered_runs(integration, status=status, trigger=trigger)
    page = history.runs_page(runs, before=request.GET.get("before", ""), after=request.GET.get("after", ""))
    section = "company" if request.GET.get("section") == "company" else "hris"
    context = {
        "integration": integration,
        "page": page,
        "section": section,
        "statuses": RunStatus.choices,
        "triggers": Trigger.choices,
        "status": status if status in RunStatus.values else "",
        "trigger": trigger if trigger in Trigger.values else "",
    }
    return render(request, "integrations/run_history.html", context)
