"""HRIS Settings, Company Integrations, and the Edit view with Relink Integration. Admins only."""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from skillibrium.accounts.access import admin_view
from skillibrium.accounts.models import Membership
from skillibrium.merge_client import MergeError, Misconfigured
from skillibrium.provisioning import first_sync
from skillibrium.sync.recent import recent_rows, runs_in

from . import handoff, relink, review, support, switch
from .causes import explain
from .choices import Category, Trigger
from .health import degradation, for_admins
from .history_views import at_a_glance
from .live import live_of, lives
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


@admin_view
def hris_settings(request: HttpRequest, membership: Membership) -> HttpResponse:
    integrations = Integration.objects.for_org(membership.organization).filter(category=Category.HRIS)
    handoffs = handoff.open_handoffs(integrations)
    live = lives(integrations)
    cards = [(i, degradation(i), handoffs.get(i.pk), live[i.pk]) for i in integrations]
    context = {"cards": cards, "can_connect": relink.can_connect(membership.organization, Category.HRIS)}
    return render(request, "integrations/hris_settings.html", context)


@admin_view
def company_integrations(request: HttpRequest, membership: Membership) -> HttpResponse:
    integrations = Integration.objects.for_org(membership.organization).order_by("category")
    handoffs = handoff.open_handoffs(integrations)
    live = lives(integrations)
    rows = [(i, degradation(i), handoffs.get(i.pk), live[i.pk]) for i in integrations]
    context = {
        "rows": rows,
        "tab": "company",
        "can_connect_crm": relink.can_connect(membership.organization, Category.CRM),
    }
    return render(request, "integrations/company_integrations.html", context)


CONNECTED_FROM = {
    Category.HRIS: "integrations:hris_settings",
    Category.CRM: "integrations:company_integrations",
}


def _link_refused(error: MergeError) -> JsonResponse:
    """Merge gave no link token. Our own key refused is Skillibrium's fault, not a gateway's: 503, while
    staff fix it."""
    status = 503 if isinstance(error, Misconfigured) else 502
    return JsonResponse({"error": f"Merge Link could not be opened. {for_admins(error)}"}, status=status)


@require_POST
@admin_view
def connect_start(request: HttpRequest, membership: Membership, category: str) -> HttpResponse:
    """A link token without a provider: Merge Link lets the admin pick one of the category's providers."""
    kind = Category(category)
    if not relink.can_connect(membership.organization, kind):
        return JsonResponse({"error": f"An {kind.label} is already connected."}, status=409)
    try:
        token = relink.start_link(
            organization=membership.organization, category=kind, email=membership.user.email
        )
    except MergeError as error:
        return _link_refused(error)
    return JsonResponse({"link_token": token})


@require_POST
@admin_view
def connect_complete(request: HttpRequest, membership: Membership, category: str) -> HttpResponse:
    kind = Category(category)
    back = redirect(CONNECTED_FROM[kind])
    public_token = request.POST.get("public_token", "").strip()
    if not public_token:
        messages.error(request, "Merge Link did not return a token; nothing was connected. Please try again.")
        return back
    try:
        integration = relink.connect(
            organization=membership.organization,
            category=kind,
            public_token=public_token,
            membership=membership,
        )
    except relink.AlreadyConnected as refused:
        messages.error(request, f"{refused} Nothing was changed.")
        return back
    except MergeError as error:
        messages.error(
            request, f"The connection could not be completed; nothing was changed. {for_admins(error)}"
        )
        return back
    request_sync(integration, Trigger.SETUP, by=membership.user.pk)
    told = (
        "once it has read everyone, review it here (Review the first sync) "
        "before anyone is created or emailed"
        if integration.awaiting_review
        else "its result appears under Recent syncs on the integration's Edit page"
    )
    messages.success(
        request, f"{integration.provider_name} is connected. The first sync has started; {told}."
    )
    return back


@admin_view
def edit(request: HttpRequest, membership: Membership, pk: int, section: str = "hris") -> HttpResponse:
    integration = _integration(membership, pk)
    return render(request, "integrations/edit.html", edit_context(integration, section))


def edit_context(integration: Integration, section: str) -> dict[str, Any]:
    """The Edit page's context; actions that answer on the page itself (Test connection) render it too."""
    runs = recent_rows(integration.runs.all())
    return {
        "integration": integration,
        "section": section,
        "section_title": SECTIONS.get(section, SECTIONS["hris"]),
        "explanation": explain(integration.cause),
        "runs": runs,
        "live": live_of(integration, runs_in(runs)),
        "events": integration.events.all()[:10],
        "delegations": integration.delegations.select_related("created_by")[:5],
        "diagnostics": support.diagnostics(integration),
        "handoff": handoff.open_handoffs([integration]).get(integration.pk),
        "replacement": switch.replacement_of(integration),
        "can_replace": switch.can_replace(integration),
        **at_a_glance(integration),
        "waits_for_merge": relink.waits_for_merge(integration),
        "merge_down": relink.MERGE_DOWN,
    }


@require_POST
@admin_view
def relink_start(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    integration = _integration(membership, pk)
    if integration.disconnected_on_purpose:
        # Its linked account is deleted at Merge: a relink would link a new one outside the first-sync review.
        where = "Company Integrations" if integration.category == Category.CRM else "HRIS Settings"
        return JsonResponse(
            {"error": f"{integration.provider_name} was disconnected. Connect it again from {where}."},
            status=409,
        )
    if relink.waits_for_merge(integration):
        return JsonResponse({"error": relink.MERGE_DOWN}, status=503)
    try:
        token = relink.start_link(
            organization=membership.organization,
            category=integration.category,
            email=membership.user.email,
            integration=integration.provider_slug or None,
            origin_id=integration.origin_id,
        )
    except MergeError as error:
        return _link_refused(error)
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
        request_sync(integration, Trigger.ADMIN, by=membership.user.pk)
        messages.success(request, "A sync has been started. Its progress shows below as it runs.")
    return redirect(_edit_url(pk, request.POST.get("section", "")))


@dataclass(frozen=True)
class Listed:
    """A kind of change or conflict in the first sync's summary: how many, some of them, and how many more."""

    count: int
    examples: list[str]

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.examples))


def _listed(found: dict[str, Any], kind: str) -> Listed:
    examples = found.get(f"{kind}_examples") or []
    shown = [e if isinstance(e, str) else f"{e[0]} ({e[1]} records)" for e in examples]
    return Listed(count=int(found.get(kind) or 0), examples=shown)


@admin_view
def first_sync_review(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """The first sync's summary, and the admin's decision: confirm (with or without invitations), decline,
    or compute it again after a change of filters."""
    from skillibrium.provisioning.models import ProvisioningPolicy

    integration = _integration(membership, pk)
    section = request.POST.get("section") or request.GET.get("section", "hris")
    here = f"{reverse('integrations:first_sync_review', args=[pk])}?section={section}"
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "confirm":
            invite = request.POST.get("send_invitations") == "on"
            if review.confirm(integration=integration, membership=membership, send_invitations=invite):
                told = (
                    "no one is new, so nobody is invited"
                    if not (integration.review_summary or {}).get("create")
                    else "the new users are invited"
                    if invite
                    else "no invitations are sent"
                )
                messages.success(request, f"Confirmed. Your people are being provisioned; {told}.")
            else:
                messages.info(request, "The first sync was confirmed already; nothing was done again.")
            return redirect(_edit_url(pk, section))
        if action == "decline":
            if review.decline(integration=integration, membership=membership):
                messages.success(
                    request,
                    "Declined: nobody was provisioned. Change the filters and confirm, or disconnect.",
                )
            return redirect(here)
        if action == "recompute" and review.needs_review(integration):
            first_sync.store_summary(integration)
            messages.success(request, "The summary was computed again with the filters in effect.")
            return redirect(here)
        messages.error(request, "Nothing was done: choose Confirm, Decline or Recompute.")
        return redirect(here)
    found = first_sync.summary(integration)
    policy, _ = ProvisioningPolicy.objects.get_or_create(organization=membership.organization)
    kinds = (
        "create",
        "already_linked",
        "linked_by_email",
        "deactivate",
        "elsewhere",
        "duplicates",
        "without_email",
    )
    context = {
        "integration": integration,
        "section": section,
        "section_title": SECTIONS.get(section, SECTIONS["hris"]),
        "found": found,
        "listed": {kind: _listed(found, kind) for kind in kinds},
        "policy": policy,
        "filters_changed": bool(found) and found.get("filters") != first_sync.filters_in_effect(policy),
    }
    return render(request, "integrations/first_sync_review.html", context)


@require_POST
@admin_view
def switch_start(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """Merge Link for another provider of the category, to replace this one (switch.py)."""
    integration = _integration(membership, pk)
    try:
        token = switch.start(integration=integration, membership=membership)
    except switch.SwitchRefused as refused:
        return JsonResponse({"error": str(refused)}, status=409)
    except MergeError as error:
        return _link_refused(error)
    return JsonResponse({"link_token": token})


@require_POST
@admin_view
def switch_complete(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    from skillibrium.sync.tasks import read_replacement_account

    integration = _integration(membership, pk)
    section = request.POST.get("section", "")
    public_token = request.POST.get("public_token", "").strip()
    if not public_token:
        messages.error(request, "Merge Link did not return a token; nothing was changed. Please try again.")
        return redirect(_edit_url(pk, section))
    try:
        replacement = switch.add(integration=integration, public_token=public_token, membership=membership)
    except (switch.SwitchRefused, MergeError) as error:
        why = for_admins(error) if isinstance(error, MergeError) else str(error)
        messages.error(request, f"The replacement could not be linked; nothing was changed. {why}")
        return redirect(_edit_url(pk, section))
    read_replacement_account.enqueue(replacement.pk)
    messages.success(
        request,
        f"{replacement.provider_name} is linked beside {integration.provider_name}. "
        "Skillibrium is reading it; nothing changes until you confirm the switch.",
    )
    return redirect(f"{reverse('integrations:switch_review', args=[pk])}?section={section or 'hris'}")


@admin_view
def switch_review(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """What switching to the replacement would do, and the admin's decision: confirm, decline, read again."""
    from skillibrium.sync.tasks import read_replacement_account

    integration = _integration(membership, pk)
    section = request.POST.get("section") or request.GET.get("section", "hris")
    here = f"{reverse('integrations:switch_review', args=[pk])}?section={section}"
    replacement = switch.replacement_of(integration)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "confirm":
            old = integration.provider_name
            if switch.confirm(integration=integration, membership=membership):
                messages.success(
                    request,
                    f"Switched from {old} to {integration.provider_name}. Its first sync has started; "
                    f"{old}'s linked account is being deleted at Merge.",
                )
            else:
                messages.info(request, "There is no switch ready to confirm; nothing was changed.")
            return redirect(_edit_url(pk, section))
        if action == "decline":
            if switch.decline(integration=integration, membership=membership):
                messages.success(
                    request, f"Declined: {integration.provider_name} stays, and nothing was changed."
                )
            return redirect(_edit_url(pk, section))
        if action == "read_again" and replacement is not None and switch.read_again(replacement):
            read_replacement_account.enqueue(replacement.pk)
            messages.success(request, f"Reading {replacement.provider_name} again.")
            return redirect(here)
        messages.error(request, "Nothing was done: choose Confirm, Decline or Read again.")
        return redirect(here)
    found = replacement.summary if replacement else {}
    kinds = ("matched", "new", "only_in_old", "leaving", "duplicates", "without_email", "elsewhere")
    context = {
        "integration": integration,
        "replacement": replacement,
        "section": section,
        "section_title": SECTIONS.get(section, SECTIONS["hris"]),
        "found": found,
        "listed": {kind: _listed(found, kind) for kind in kinds},
    }
    return render(request, "integrations/switch_review.html", context)
