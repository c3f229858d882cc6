"""'Still not syncing?': a diagnostics bundle with no secrets, and a support request that carries it."""

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from skillibrium.accounts.models import Membership
from skillibrium.core.models import record
from skillibrium.notifications.outbox import queue_email
from skillibrium.notifications.services import subject

from .models import Integration, SupportRequest


def diagnostics(integration: Integration) -> dict[str, Any]:
    """What support needs to see; tokens and keys are never part of it."""
    runs = integration.runs.all()[:10]
    return {
        "environment": settings.ENVIRONMENT,
        "organization": integration.organization.name,
        "integration": integration.provider_name,
        "category": integration.category,
        "linked_account_id": integration.merge_account_id,
        "health": integration.health,
        "cause": integration.cause,
        "cause_detail": integration.cause_detail,
        "paused": integration.is_paused,
        "linked_at": integration.linked_at.isoformat(),
        "last_successful_sync_at": integration.last_successful_sync_at.isoformat()
        if integration.last_successful_sync_at
        else None,
        "merge_issues": integration.merge_issues,
        "last_error": next((run.error for run in runs if run.status == "failed"), ""),
        "recent_runs": [
            {
                "id": run.pk,
                "trigger": run.trigger,
                "status": run.status,
                "started_at": run.started_at.isoformat(),
                "error": run.error,
                "pages": run.pages,
                "skipped": run.skipped,
                "record_errors": run.record_errors[:10],
            }
            for run in runs
        ],
        "health_history": [
            {"at": e.at.isoformat(), "from": e.from_health, "to": e.to_health, "cause": e.cause}
            for e in integration.events.all()[:10]
        ],
    }


def file_support_request(*, integration: Integration, membership: Membership, message: str) -> SupportRequest:
    bundle = diagnostics(integration)
    request = SupportRequest.objects.create(
        integration=integration, created_by=membership.user, message=message[:5000], diagnostics=bundle
    )
    lines = [f"{k}: {v}" for k, v in bundle.items() if k not in ("recent_runs", "health_history")]
    body = f"From {membership.user.email}:\n\n{message}\n\n" + "\n".join(lines)
    queue_email(
        key=f"support/{request.pk}",
        subject=subject(f"Support request {request.pk}: {integration} is not syncing"),
        body=body,
        to=[settings.SUPPORT_EMAIL],
        reply_to=[membership.user.email],
    )
    # The admin learns that the request left, and that the answer comes by email (docs/email-delivery.md).
    queue_email(
        key=f"support/{request.pk}/confirmation",
        subject=subject(f"We received your support request {request.pk}"),
        body=render_to_string(
            "notifications/support_confirmation.txt",
            {"request": request, "integration": integration, "message": request.message},
        ),
        to=[membership.user.email],
        reply_to=[settings.SUPPORT_EMAIL],
    )
    record(
        organization_id=integration.organization_id,
        actor_id=membership.user_id,
        action="support.requested",
        target=str(integration),
        request=request.pk,
    )
    return request
