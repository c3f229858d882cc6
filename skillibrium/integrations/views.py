"""HRIS Settings, Company Integrations, and the Edit view with Relink Integration. Admins only."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from skillibrium.accounts.access import admin_view
from skillibrium.accounts.models import Membership
from skillibrium.merge_client import MergeError, Misconfigured

from . import handoff, relink, support
from .causes import explain
from .choices import Category, Trigger
from .health import for_admins
from .models import Integration
from .relink import request_sync

SECTIONS = {"hris": "HRIS Settings", "company": "Company Integrations"}
CONFIRMATIONS = {
    Category.HRIS: "The integration has been successfully linked.",
    Category.CRM: "The integration has been successfully re-linked.",
}


def _edit_url(pk: int, section: str) -> str:
    return reverse("integrations:company_edit" if section == "company" else "integrations:edit", args=[pk])


def _integration(membership: Membership, pk: int) -> Integration:
    """Another organization's integration answers 404, exactly like one that does not exist."""
    return get_object_or_404(Integration.objects.for_org(membership.organization), pk=pk)


@dataclass(frozen=True)
class Degradation:
    since: dt.datetime
    leavers: int
    lasting: bool  # past DEGRADED_ALERT_HOURS: the admins were told by email


def degradation(integration: Integration) -> Degradation | None:
    """A degraded spell, for the card: since when, and how many deactivations it holds back."""
    from skillibrium.provisioning.scope import leavers_waiting

    spell = integration.degraded_spell
    if spell is None:
        return None
    lasting = timezone.now() - spell.at >= dt.timedelta(hours=settings.DEGRADED_ALERT_HOURS)
    return Degradation(since=spell.at, leavers=leavers_waiting(integration), lasting=lasting)


@admin_view
def hris_settings(request: HttpRequest, membership: Membership) -> HttpResponse:
    integrations = Integration.objects.for_org(membership.organization).filter(category=Category.HRIS)
    handoffs = handoff.open_handoffs(integrations)
    cards = [(i, degradation(i), handoffs.get(i.pk)) for i in integrations]
    return render(request, "integrations/hris_settings.html", {"cards": cards})


@admin_view
def company_integrations(request: HttpRequest, membership: Membership) -> HttpResponse:
    integrations = Integration.objects.for_org(membership.organization).order_by("category")
    handoffs = handoff.open_handoffs(integrations)
    rows = [(i, degradation(i), handoffs.get(i.pk)) for i in integrations]
    return render(request, "integrations/company_integrations.html", {"rows": rows, "tab": "company"})


@admin_view
def edit(request: HttpRequest, membership: Membership, pk: int, section: str = "hris") -> HttpResponse:
    integration = _integration(membership, pk)
    context = {
        "integration": integration,
        "section": section,
        "section_title": SECTIONS.get(section, SECTIONS["hris"]),
        "explanation": explain(integration.cause),
        "runs": integration.runs.all()[:10],
        "events": integration.events.all()[:10],
        "delegations": integration.delegations.select_related("created_by")[:5],
        "diagnostics": support.diagnostics(integration),
        "handoff": handoff.open_handoffs([integration]).get(integration.pk),
    }
    return render(request, "integrations/edit.html", context)


@require_POST
@admin_view
def relink_start(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    integration = _integration(membership, pk)
    try:
        token = relink.start_link(
            organization=membership.organization,
            category=integration.category,
            email=membership.user.email,
            integration=integration.provider_slug or None,
        )
    except MergeError as error:
        # Our own key refused is Skillibrium's fault, not a gateway's: 503, while staff fix it.
        status = 503 if isinstance(error, Misconfigured) else 502
        return JsonResponse({"error": f"Merge Link could not be opened. {for_admins(error)}"}, status=status)
    return JsonResponse({"link_token": token})


@require_POST
@admin_view
def relink_complete(
    request: HttpRequest, membership: Membership, pk: int, section: str = "hris"
) -> HttpResponse:
    integration = _integration(membership, pk)
    public_token = request.POST.get("public_token", "").strip()
    back = redirect(_edit_url(pk, request.POST.get("section", "")))
    if not public_token:
        messages.error(request, "Merge Link did not return a token; nothing was changed. Please try again.")
        return back
    try:
        outcome = relink.complete_relink(
            integration=integration, public_token=public_token, membership=membership
        )
    except MergeError as error:
        messages.error(
            request, f"The relink could not be completed; nothing was changed. {for_admins(error)}"
        )
        return back
    messages.success(request, CONFIRMATIONS[Category(integration.category)])
    if not outcome.same_account:
        messages.warning(
            request,
            "Merge linked a different account than before. Your people keep their Skillibrium identities; "
            "check the next sync's results.",
        )
    return back


@require_POST
@admin_view
def sync_now(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    integration = _integration(membership, pk)
    if not integration.can_sync:
        messages.error(request, f"Sync is not possible while the integration is {integration.status_label}.")
    else:
        request_sync(integration, Trigger.ADMIN)
        messages.success(request, "A sync has been started. Its result appears under Recent syncs.")
    return redirect(_edit_url(pk, request.POST.get("section", "")))
