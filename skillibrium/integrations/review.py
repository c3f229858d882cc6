"""The first sync of a new connection, reviewed before anything is provisioned.

`relink.connect` closes the gate for a new connection; while it is closed the sync engine reads the source
into the directory and provisions none of its people (scope.healthy_people leaves them out), and each complete
read stores what confirming would do (provisioning/first_sync.py).
Confirm opens the gate and provisions everyone once; decline keeps it closed.
"""

from django.db import transaction
from django.utils import timezone

from skillibrium.accounts.models import Membership
from skillibrium.core.models import record

from .choices import ReviewState
from .models import Integration


def needs_review(integration: Integration) -> bool:
    """Whether the integration's first sync waits for an admin (pending, or declined and not confirmed)."""
    return integration.awaiting_review


def confirm(*, integration: Integration, membership: Membership | None, send_invitations: bool) -> bool:
    """Open the gate and provision everyone once. Under the row's lock: a second confirm (a double click,
    another admin) finds it open and does nothing (False). `membership` None: the command line."""
    from skillibrium.provisioning.tasks import provision_everyone

    with transaction.atomic():
        current = Integration.objects.select_for_update().get(pk=integration.pk)
        if not current.awaiting_review:
            return False
        current.review_state, current.reviewed_at = ReviewState.CONFIRMED, timezone.now()
        current.reviewed_by_id = membership.user_id if membership else None
        current.save(update_fields=["review_state", "reviewed_at", "reviewed_by"])
        record(
            organization_id=current.organization_id,
            actor_id=membership.user_id if membership else None,
            action="integration.first_sync_confirmed",
            target=str(current),
            send_invitations=send_invitations,
            summary={k: v for k, v in (current.review_summary or {}).items() if isinstance(v, int)},
        )
        # In the confirmation's transaction: with the database task backend both are committed, or neither.
        provision_everyone.enqueue(current.organization_id, send_invitations)
    integration.refresh_from_db()
    return True


def decline(*, integration: Integration, membership: Membership | None) -> bool:
    """Nothing is provisioned and the gate stays closed: the admin can disconnect, or change the filters and
    confirm later. Returns False when the review was confirmed already."""
    with transaction.atomic():
        current = Integration.objects.select_for_update().get(pk=integration.pk)
        if not current.awaiting_review:
            return False
        current.review_state, current.reviewed_at = ReviewState.DECLINED, timezone.now()
        current.reviewed_by_id = membership.user_id if membership else None
        current.save(update_fields=["review_state", "reviewed_at", "reviewed_by"])
        record(
            organization_id=current.organization_id,
            actor_id=membership.user_id if membership else None,
            action="integration.first_sync_declined",
            target=str(current),
        )
    integration.refresh_from_db()
    return True
