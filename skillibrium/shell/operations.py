"""Skillibrium staff's operations view: every organization's integrations by health, read-only; and a new
customer's organization, with an invitation to its first admin."""

from django.contrib import messages
from django.db.models import Case, F, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from skillibrium.accounts.access import staff_action_view, staff_view
from skillibrium.accounts.forms import OrganizationForm
from skillibrium.accounts.invitations import InvitationRefused
from skillibrium.accounts.models import Environment, User
from skillibrium.accounts.organizations import create_with_invited_admin
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


@staff_action_view
def create_organization(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        staff = request.user if isinstance(request.user, User) else None
        try:
            organization = create_with_invited_admin(
                name=data["name"],
                time_zone=data["time_zone"],
                environment=Environment(data["environment"]),
                admin_email=data["admin_email"],
                admin_first_name=data["admin_first_name"],
                admin_last_name=data["admin_last_name"],
                by=staff,
            )
        except InvitationRefused as refusal:
            form.add_error("admin_email", refusal.reason)
        else:
            messages.success(
                request, f"Created {organization.name}; an invitation was sent to {data['admin_email']}."
            )
            return redirect("staff_operations")
    status = 400 if form.errors else 200
    return render(request, "shell/create_organization.html", {"form": form}, status=status)
