"""Delegated relink: a tracked magic link for the IT administrator who holds the service account."""

import datetime as dt
import secrets

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.models import Membership
from skillibrium.accounts.time_zones import render_for
from skillibrium.core.models import record
from skillibrium.merge_client import MergeClient
from skillibrium.notifications.outbox import queue_email
from skillibrium.notifications.services import subject

from .models import DelegatedRelink, DelegationStatus, Integration

MAX_DAYS = 7  # Merge's limit for a magic link (link_expiry_mins <= 10080)
REMIND_BEFORE = dt.timedelta(days=1)


def send_delegated_relink(
    *, integration: Integration, email: str, days: int, membership: Membership
) -> DelegatedRelink:
    days = max(1, min(days, MAX_DAYS))
    with MergeClient(category=integration.category) as client:
        url = client.create_magic_link(
            origin_id=integration.origin_id,
            organization_name=integration.organization.name,
            email=email,
            integration=integration.provider_slug or None,
            expiry_minutes=days * 24 * 60,
        )
    delegation = DelegatedRelink.objects.create(
        integration=integration,
        email=email,
        token=secrets.token_urlsafe(32),
        magic_link_url=url,
        created_by=membership.user,
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    _email(delegation, reminder=False)
    record(
        organization_id=integration.organization_id,
        actor_id=membership.user_id,
        action="relink.delegated",
        target=str(integration),
        email=email,
        expires_at=delegation.expires_at.isoformat(),
    )
    return delegation


def public_url(delegation: DelegatedRelink) -> str:
    return settings.SITE_URL + reverse("integrations:delegated_open", args=[delegation.token])


def _email(delegation: DelegatedRelink, *, reminder: bool) -> None:
    integration = delegation.integration
    context = {
        "delegation": delegation,
        "integration": integration,
        "url": public_url(delegation),
        "reminder": reminder,
    }
    title = f"Please re-authenticate {integration.provider_name} for {integration.organization.name}"
    queue_email(
        key=f"delegation/{delegation.pk}/{'reminder' if reminder else 'link'}",
        subject=subject(("Reminder: " if reminder else "") + title),
        body=render_for(integration.organization, "notifications/delegated_relink.txt", context),
        to=[delegation.email],
    )


def find_delegation(token: str) -> DelegatedRelink | None:
    """The link in the email, as it stands now (expired if its time has passed). Looking changes nothing:
    mail scanners fetch every link they see."""
    delegation = (
        DelegatedRelink.objects.select_related("integration__organization", "created_by")
        .filter(token=token)
        .first()
    )
    if delegation is None:
        return None
    expire_stale()
    delegation.refresh_from_db()
    return delegation


def open_delegation(delegation: DelegatedRelink) -> None:
    """The recipient pressed Continue: the first time counts as opened, and Merge's link is revealed."""
    if delegation.status == DelegationStatus.SENT and delegation.is_live:
        delegation.status, delegation.opened_at = DelegationStatus.OPENED, timezone.now()
        delegation.save(update_fields=["status", "opened_at"])


def revoke(delegation: DelegatedRelink, *, membership: Membership) -> bool:
    """Ends our link and forgets Merge's. Merge documents no way to end a magic link early, so one that was
    already revealed (opened) works at Merge until it expires. Returns whether it had been revealed."""
    if delegation.status not in (DelegationStatus.SENT, DelegationStatus.OPENED):
        return False
    revealed = delegation.status == DelegationStatus.OPENED
    delegation.status, delegation.magic_link_url = DelegationStatus.REVOKED, ""
    delegation.save(update_fields=["status", "magic_link_url"])
    record(
        organization_id=delegation.integration.organization_id,
        actor_id=membership.user_id,
        action="relink.delegation_revoked",
        target=delegation.email,
        merge_link_revealed=revealed,
        merge_link_expires_at=delegation.expires_at.isoformat(),
    )
    return revealed


def complete_delegations(integration: Integration) -> int:
    """The account is linked again: every live delegation for it is done."""
    return DelegatedRelink.objects.filter(
        integration=integration, status__in=[DelegationStatus.SENT, DelegationStatus.OPENED]
    ).update(status=DelegationStatus.COMPLETED, completed_at=timezone.now())


def expire_stale() -> int:
    live = DelegatedRelink.objects.filter(status__in=[DelegationStatus.SENT, DelegationStatus.OPENED])
    return live.filter(expires_at__lte=timezone.now()).update(status=DelegationStatus.EXPIRED)


def remind_before_expiry(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    expire_stale()
    due = DelegatedRelink.objects.filter(
        status__in=[DelegationStatus.SENT, DelegationStatus.OPENED],
        reminded_at__isnull=True,
        expires_at__lte=now + REMIND_BEFORE,
        expires_at__gt=now,
    ).select_related("integration__organization")
    count = 0
    for delegation in due:
        _email(delegation, reminder=True)
        delegation.reminded_at = now
        delegation.save(update_fields=["reminded_at"])
        count += 1
    return count
