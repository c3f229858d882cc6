"""Admin actions on an integration (all POST, all checked on the server), and the delegated link's landing."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from skillibrium.accounts.access import admin_view
from skillibrium.accounts.models import Membership
from skillibrium.core.models import record
from skillibrium.merge_client import MergeError

from . import delegation, handoff, probe, support
from .choices import Category, Trigger
from .disconnect import disconnect as disconnect_integration
from .health import for_admins
from .models import DelegatedRelink, Integration
from .relink import request_sync
from .views import SECTIONS, edit_context


def _integration(membership: Membership, pk: int) -> Integration:
    return get_object_or_404(Integration.objects.for_org(membership.organization), pk=pk)


def back_to_edit(integration: Integration) -> HttpResponseRedirect:
    name = "integrations:company_edit" if integration.category == Category.CRM else "integrations:edit"
    return redirect(reverse(name, args=[integration.pk]))


def _audit(membership: Membership, integration: Integration, action: str, **detail: object) -> None:
    record(
        organization_id=integration.organization_id,
        actor_id=membership.user_id,
        action=action,
        target=str(integration),
        **detail,
    )


@require_POST
@admin_view
def pause(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    integration = _integration(membership, pk)
    integration.is_paused = True
    integration.save(update_fields=["is_paused"])
    _audit(membership, integration, "integration.paused")
    messages.success(
        request, "Sync and provisioning are paused. They stay paused, even after a relink, until you resume."
    )
    return back_to_edit(integration)


@require_POST
@admin_view
def resume(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    integration = _integration(membership, pk)
    integration.is_paused, integration.next_sync_at = False, timezone.now()
    integration.save(update_fields=["is_paused", "next_sync_at"])
    _audit(membership, integration, "integration.resumed")
    if integration.can_sync:
        request_sync(integration, Trigger.ADMIN, by=membership.user.pk)
    messages.success(request, "Resumed. A sync has been started.")
    return back_to_edit(integration)


@require_POST
@admin_view
def take_over(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """The clicking admin becomes the owner of a connection whose owner is leaving or has left (audited in
    handoff.take_over)."""
    integration = _integration(membership, pk)
    if handoff.take_over(integration=integration, by=membership) is None:
        messages.info(request, "Nothing to take over: the connection already has an owner.")
    else:
        messages.success(request, "You now own this connection: its alerts and relinks come to you.")
    return back_to_edit(integration)


@require_POST
@admin_view
def disconnect(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    integration = _integration(membership, pk)
    if request.POST.get("confirm") != integration.provider_name:
        messages.error(request, f"Type {integration.provider_name} to confirm; nothing was changed.")
        return back_to_edit(integration)
    not_deleted = disconnect_integration(integration=integration, by=membership.user)
    _audit(membership, integration, "integration.disconnected", deleted_at_merge=not not_deleted)
    if not_deleted:
        messages.warning(
            request,
            "Disconnected here: Skillibrium no longer syncs. Merge.dev has not confirmed that it deleted the "
            f"linked account ({not_deleted}); Skillibrium keeps asking it to until it does.",
        )
    else:
        messages.success(
            request,
            "Disconnected. Your people and users are kept as they are; connect again whenever you want.",
        )
    return back_to_edit(integration)


class RotationForm(forms.Form):
    password_rotation_days = forms.IntegerField(min_value=1, max_value=3650, required=False)
    rotation_warning_days = forms.IntegerField(min_value=1, max_value=365)


@require_POST
@admin_view
def rotation_policy(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    integration = _integration(membership, pk)
    form = RotationForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())
        messages.error(request, f"The password-rotation policy was not saved: {errors}")
        return back_to_edit(integration)
    integration.password_rotation_days = form.cleaned_data["password_rotation_days"]
    integration.rotation_warning_days = form.cleaned_data["rotation_warning_days"]
    integration.save(update_fields=["password_rotation_days", "rotation_warning_days"])
    _audit(membership, integration, "integration.rotation_policy", days=integration.password_rotation_days)
    messages.success(request, "Password-rotation policy saved.")
    return back_to_edit(integration)


class FullReadForm(forms.Form):
    full_read_every_days = forms.IntegerField(min_value=0, max_value=90)


@require_POST
@admin_view
def full_read_policy(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """How often a sync reads everything to find what incremental reads missed (0: only after a break)."""
    integration = _integration(membership, pk)
    form = FullReadForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Enter a number of days from 0 to 90; the full-read schedule was not changed."
        )
        return back_to_edit(integration)
    integration.full_read_every_days = form.cleaned_data["full_read_every_days"]
    integration.save(update_fields=["full_read_every_days"])
    _audit(membership, integration, "integration.full_read_policy", days=integration.full_read_every_days)
    messages.success(request, "Full-read schedule saved.")
    return back_to_edit(integration)


class DelegateForm(forms.Form):
    email = forms.EmailField()
    days = forms.IntegerField(min_value=1, max_value=delegation.MAX_DAYS, initial=7)


@require_POST
@admin_view
def delegate(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    integration = _integration(membership, pk)
    form = DelegateForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "Enter the IT administrator's email and a validity of 1 to 7 days; nothing was sent."
        )
        return back_to_edit(integration)
    try:
        sent = delegation.send_delegated_relink(
            integration=integration,
            email=form.cleaned_data["email"],
            days=form.cleaned_data["days"],
            membership=membership,
        )
    except MergeError as error:
        messages.error(request, f"Merge could not create the link; nothing was sent. {for_admins(error)}")
        return back_to_edit(integration)
    messages.success(
        request, f"A relink link was sent to {sent.email}. It works until {sent.expires_at:%b %d, %H:%M} UTC."
    )
    return back_to_edit(integration)


@require_POST
@admin_view
def delegation_action(
    request: HttpRequest, membership: Membership, pk: int, delegation_id: int
) -> HttpResponse:
    integration = _integration(membership, pk)
    sent = get_object_or_404(DelegatedRelink, pk=delegation_id, integration=integration)
    revealed = delegation.revoke(sent, membership=membership)
    # Merge offers no way to end a magic link early: say so when its address had been handed out.
    still_at_merge = (
        f" {sent.email} had already opened it, so Merge's own page stays usable until "
        f"{sent.expires_at:%b %d, %H:%M} UTC: Merge offers no way to end a magic link early."
        if revealed
        else ""
    )
    if request.POST.get("action") == "resend":
        try:
            again = delegation.send_delegated_relink(
                integration=integration, email=sent.email, days=delegation.MAX_DAYS, membership=membership
            )
        except MergeError as error:
            messages.error(request, f"Merge could not create a new link. {for_admins(error)}")
            return back_to_edit(integration)
        messages.success(
            request,
            f"A new link was sent to {again.email}; the previous one no longer works.{still_at_merge}",
        )
    else:
        messages.success(request, f"The link sent to {sent.email} no longer works.{still_at_merge}")
    return back_to_edit(integration)


@login_not_required
@require_http_methods(["GET", "POST"])
def delegated_open(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows who asks and a Continue button; only the recipient's POST counts as opening and moves on to
    Merge's magic link (link scanners in mail gateways fetch with GET)."""
    sent = delegation.find_delegation(token)
    if sent is None or not sent.is_live:
        return render(
            request, "integrations/delegated_closed.html", {"delegation": sent}, status=410 if sent else 404
        )
    if request.method == "GET":
        return render(request, "integrations/delegated_open.html", {"delegation": sent})
    delegation.open_delegation(sent)
    # Our CSP's form-action 'self' stops a form's redirect to another origin: the page moves on by itself.
    return render(request, "integrations/delegated_continue.html", {"delegation": sent})


@require_POST
@admin_view
def contact_support(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    integration = _integration(membership, pk)
    filed = support.file_support_request(
        integration=integration, membership=membership, message=request.POST.get("message", "").strip()
    )
    messages.success(
        request, f"Support request {filed.pk} was sent with the diagnostics shown. We reply by email."
    )
    return back_to_edit(integration)


@require_POST
@admin_view
def test_connection(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """Asks Merge about the linked account and answers on the Edit page itself: htmx swaps in the result
    (and the status card, which a definite answer may have moved); without JavaScript the page is rendered."""
    integration = _integration(membership, pk)
    if integration.disconnected_on_purpose:
        messages.error(request, "There is nothing to test: the integration was disconnected.")
        return back_to_edit(integration)
    result = probe.try_connection(integration)
    _audit(
        membership,
        integration,
        "integration.connection_tested",
        verdict=result.verdict.value,
        health_before=result.health_before,
        health_after=result.health_after,
    )
    section = request.POST.get("section", "")
    if section not in SECTIONS:
        section = "company" if integration.category == Category.CRM else "hris"
    context = edit_context(integration, section) | {"probe": result}
    return render(request, "integrations/edit.html", context)
