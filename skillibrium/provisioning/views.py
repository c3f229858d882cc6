"""Company Settings > Provisioning, the review queue, and the dry-run preview. Admins only."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from skillibrium.accounts.access import admin_view
from skillibrium.accounts.models import Membership
from skillibrium.core import keyset
from skillibrium.core.models import record
from skillibrium.integrations.health import for_admins
from skillibrium.integrations.models import Integration
from skillibrium.merge_client import MergeError

from . import review
from .forms import PolicyForm, what_each_source_supplies
from .models import HeldChange, HoldStatus, ProvisioningPolicy

PENDING_PAGE = 50


@admin_view
def policy(request: HttpRequest, membership: Membership) -> HttpResponse:
    current, _ = ProvisioningPolicy.objects.get_or_create(organization=membership.organization)
    form = PolicyForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        before = {name: getattr(current, name) for name in form.changed_data}
        form.save()
        after = {name: getattr(current, name) for name in form.changed_data}
        record(
            organization_id=membership.organization_id,
            actor_id=membership.user_id,
            action="provisioning.policy_changed",
            target="provisioning policy",
            before=before,
            after=after,
        )
        from .tasks import provision_everyone

        provision_everyone.enqueue(membership.organization_id)
        messages.success(
            request, "Saved. People who now match are being provisioned; nobody is deactivated by a filter."
        )
        return redirect("provisioning:policy")
    integrations = Integration.objects.for_org(membership.organization)
    return render(
        request,
        "provisioning/policy.html",
        {
            "form": form,
            "panel": "provisioning",
            "tab": "company",
            "integrations": integrations,
            "sources": what_each_source_supplies(),
        },
    )


@admin_view
def review_queue(request: HttpRequest, membership: Membership) -> HttpResponse:
    held = HeldChange.objects.filter(organization=membership.organization).select_related(
        "person", "decided_by", "previous__decided_by"
    )
    pending = held.filter(status=HoldStatus.PENDING)
    # A mass hold is tens of thousands of changes: a page at a time (keyset). Their count is the frame's
    # (shell/context_processors.py `held_pending`), made once per page.
    shown = keyset.window(pending, field="created_at", size=PENDING_PAGE, **keyset.params(request.GET))
    decided = held.exclude(status=HoldStatus.PENDING)[:25]  # the latest; none older is linked
    return render(
        request,
        "provisioning/review.html",
        {
            "pending": shown,
            "decided": decided,
            "panel": "review",
            "tab": "company",
        },
    )


@require_POST
@admin_view
def decide(request: HttpRequest, membership: Membership) -> HttpResponse:
    approve = request.POST.get("decision") == "approve"
    ids = (
        None
        if request.POST.get("scope") == "all"
        else [int(i) for i in request.POST.getlist("held") if i.isdigit()]
    )
    if ids == []:
        messages.error(request, "Select at least one change; nothing was decided.")
        return redirect("provisioning:review")
    count = review.decide(membership=membership, held_ids=ids, approve=approve)
    messages.success(
        request,
        f"{count} change{'s' if count != 1 else ''} {'approved and applied' if approve else 'rejected'}.",
    )
    return redirect("provisioning:review")


@require_POST
@admin_view
def preview(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    from skillibrium.sync.engine import preview_sync

    integration = get_object_or_404(Integration.objects.for_org(membership.organization), pk=pk)
    try:
        result = preview_sync(integration_id=integration.pk)
    except MergeError as error:
        messages.error(request, f"The preview could not run: {for_admins(error)}")
        return redirect("provisioning:policy")
    return render(
        request,
        "provisioning/preview.html",
        {
            "integration": integration,
            "run": result.run,
            "changes": result.changes,
            "panel": "provisioning",
            "tab": "company",
        },
    )
