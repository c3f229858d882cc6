"""Connect and relink: the one small pipeline both go through, keeping the same row on relink."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from skillibrium.accounts.models import Membership, Organization
from skillibrium.core.models import record
from skillibrium.merge_client import MergeClient
from skillibrium.sync.models import Trigger

from .choices import Health
from .delegation import complete_delegations
from .models import Integration


def start_link(
    *, organization: Organization, category: str, email: str, integration: str | None = None
) -> str:
    """A link token for the organization's origin id: Merge relinks its existing account in that category."""
    with MergeClient(category=category) as client:
        return client.create_link_token(
            origin_id=organization.merge_origin_id,
            organization_name=organization.name,
            email=email,
            integration=integration,
        )


@dataclass(frozen=True)
class RelinkOutcome:
    integration: Integration
    same_account: bool


def complete_relink(*, integration: Integration, public_token: str, membership: Membership) -> RelinkOutcome:
    with MergeClient(category=integration.category) as client:
        linked = client.exchange_public_token(public_token)
    same_account = linked.account_id == integration.merge_account_id
    with transaction.atomic():
        previous_account = integration.merge_account_id
        integration.merge_account_id = linked.account_id
        integration.account_token = linked.account_token
        integration.linked_at = timezone.now()
        integration.linked_by = membership.user
        integration.next_sync_at = timezone.now()
        changed = ["merge_account_id", "account_token", "linked_at", "linked_by", "next_sync_at"]
        if not same_account:
            integration.rekey_from_account = previous_account
            integration.sync_watermark = None
            changed += ["rekey_from_account", "sync_watermark"]
        # Only what the relink changed: a full save would write back the sync lease, health and watermark
        # as they were when this request loaded them, over a sync that ran meanwhile.
        integration.save(update_fields=changed)
        # Merge's LinkedAccount.linked webhook may have come first and started the catch-up already.
        catching_up = integration.health == Health.SYNCING
        integration.set_health(Health.SYNCING)
        complete_delegations(integration)
        record(
            organization_id=integration.organization_id,
            actor_id=membership.user_id,
            action="integration.relinked",
            target=str(integration),
            same_account=same_account,
            previous_account=previous_account,
            account=linked.account_id,
        )
        from skillibrium.sync.tasks import sync_linked_account

        if not catching_up:
            transaction.on_commit(lambda: sync_linked_account.enqueue(integration.pk, Trigger.RELINK))
    return RelinkOutcome(integration, same_account)


def connect(
    *, organization: Organization, category: str, public_token: str, membership: Membership | None
) -> Integration:
    with MergeClient(category=category) as client:
        linked = client.exchange_public_token(public_token)
    integration, _ = Integration.objects.update_or_create(
        organization=organization,
        category=category,
        defaults={
            "provider_slug": linked.provider_slug,
            "provider_name": linked.provider_name,
            "provider_logo_url": linked.provider_logo_url,
            "merge_account_id": linked.account_id,
            "account_token": linked.account_token,
            "linked_by": membership.user if membership else None,
            "linked_at": timezone.now(),
            "health": Health.HEALTHY,
        },
    )
    record(
        organization_id=organization.pk,
        actor_id=membership.user_id if membership else None,
        action="integration.connected",
        target=str(integration),
    )
    return integration
