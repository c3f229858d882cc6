"""Skillibrium staff's operations view: every organization's integrations by health, read-only."""

from django.db.models import Case, F, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from skillibrium.accounts.access import staff_view
from skillibrium.integrations.choices import Health
from skillibrium.integrations.handoff import unclaimed
from skillibrium.integrations.models import Integration, PlatformIncident

# Worst first: what support should look at before anything else.
HEALTH_ORDER = [
    Health.DISCONNECTED,
    Health.RELINK_NEEDED,
    Health.DEGRADED,
    Health.CATCHING_UP,
    Health.HEALTHY,
]


@staff_view
def operations(request: HttpRequest) -> HttpResponse:
    rank = Case(
        *[When(health=h, then=Value(i)) for i, h in enumerate(HEALTH_ORDER)],
        default=Value(len(HEALTH_ORDER)),
        output_field=IntegerField(),
    )
    integrations = (
        Integration.objects.select_related("organization")
        .only(
            "organization__name",
            "category",
            "provider_name",
            "health",
            "cause",
            "is_paused",
            "health_changed_at",
            "last_successful_sync_at",
        )
        .annotate(rank=rank)
        .order_by("rank", "organization__name", "category")
    )
    rows = list(integrations)
    counts = {h.label: sum(1 for i in rows if i.health == h) for h in HEALTH_ORDER}
    # Open platform incidents first, then the last few that ended.
    incidents = PlatformIncident.objects.order_by(F("ended_at").desc(nulls_first=True), "-started_at")[:5]
    context = {"integrations": rows, "counts": counts, "incidents": list(incidents), "handoffs": unclaimed()}
    return render(request, "shell/operations.html", context)
