"""Connecting and relinking, and the one way a sync is asked for.

A relink is reported three ways (the admin's Merge Link, Merge's LinkedAccount.linked webhook, the fleet poll
seeing the account complete again) and often by two of them at once: `mark_relinked` is the one transition
they all go through. `request_sync` is how every view, webhook, poller, command and run queues a sync.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models, transaction
from django.utils import timezone

from skillibrium.accounts.models import Membership, Organization, User
from skillibrium.core.models import record
from skillibrium.directory.models import DirectoryGroup, SourceIdentity
from skillibrium.merge_client import LinkedAccountToken, MergeClient

from . import issues as open_issues
from .choices import Cause, Health, IncidentKind, ReviewState, Trigger
from .delegation import complete_delegations
from .disconnect import delete_at_merge
from .models import Integration, PlatformIncident

# A queued sync that has not started after this long is taken as lost (its task never ran): the next request
# queues another. At worst one extra run, which finds nothing new.
QUEUED_SYNC_EXPIRES = dt.timedelta(minutes=15)

type QueueSync = Callable[[int, str], object]
_queue_sync: list[QueueSync] = []


def queue_syncs_with(queue: QueueSync) -> None:
    """The sync app hands over how to queue its task when it starts: this module sits below the engine, which
    asks for syncs through it, so it must not import the engine's task."""
    _queue_sync[:] = [queue]


def request_sync(integration: Integration, trigger: Trigger, *, by: int | None = None) -> bool:
    """Ask for a sync; returns whether a new one was queued. A run in progress goes round once more instead,
    and a sync already queued (and not yet started) takes this request along: a burst of webhooks for one
    linked account is one sync. Each step is one conditional UPDATE, so concurrent requests queue one task.
    `by`: the user who asked (Sync now, a relink, a connection); the run that answers names them."""
    if by is not None:
        Integration.objects.filter(pk=integration.pk).update(sync_requested_by=by)
    if PlatformIncident.api_key_rejected():
        integration.defer_sync(trigger)  # due once Merge accepts our key again
        return False
    now = timezone.now()
    rows = Integration.objects.filter(pk=integration.pk)
    # A relink's catch-up keeps its name over routine triggers, so that the admin sees it.
    requested = models.Case(
        models.When(sync_requested=Trigger.RELINK, then=models.Value(Trigger.RELINK)),
        default=models.Value(trigger),
    )
    if rows.filter(sync_lease_until__gte=now).update(sync_requested=requested):
        return False
    not_queued = models.Q(sync_queued_at__isnull=True) | models.Q(
        sync_queued_at__lt=now - QUEUED_SYNC_EXPIRES
    )
    if rows.filter(not_queued).update(sync_queued=trigger, sync_queued_at=now):
        if not _queue_sync:
            raise RuntimeError("No sync task to queue: the sync app is not installed.")
        # In the marker's transaction: with the database task backend both are committed, or neither.
        _queue_sync[0](integration.pk, trigger)
        return True
    if trigger == Trigger.RELINK:
        rows.update(sync_queued=Trigger.RELINK)
    return False


def mark_relinked(
    *,
    integration: Integration,
    detected_by: str,
    actor_id: int | None = None,
    another_account: bool = False,
    **detail: object,
) -> bool:
    """The account works again after a break: catch up. Returns whether this call made the transition.
    Under the row's lock, so that when the admin's relink, Merge's webhook and the fleet poll report the same
    relink, only the first moves it: one catch-up, one "syncing again" email, never Healthy flipped back.
    An admin's relink is always audited; a relink found by the webhook or the poll when it moves the state."""
    with transaction.atomic():
        current = Integration.objects.select_for_update().get(pk=integration.pk)
        moved = another_account or _awaits_relink(current)
        if moved or actor_id is not None:
            record(
                organization_id=current.organization_id,
                actor_id=actor_id,
                action="integration.relinked" if actor_id is not None else "integration.relinked_elsewhere",
                target=str(current),
                detected_by=detected_by,
                account=current.merge_account_id,
                **detail,
            )
        if moved:
            # The organization lived through a break: its next provisioning pass considers everyone, and
            # holds every change for review where it asks for that, whichever run gets there first.
            current.note_break()
            current.next_sync_at = timezone.now()
            current.save(update_fields=["next_sync_at"])
            current.set_health(Health.CATCHING_UP)
            complete_delegations(current)
            request_sync(current, Trigger.RELINK, by=actor_id)
    integration.refresh_from_db()
    return moved


MERGE_DOWN = (
    "Merge.dev is not answering right now, so relinking cannot help yet: Merge Link would not open. "
    "Skillibrium retries by itself; relink once Merge.dev answers again (this page says so)."
)


def waits_for_merge(integration: Integration) -> bool:
    """While Merge is not answering (the fleet's outage, or this connection's last sync met one), a relink
    can only fail: it is offered again once Merge answers."""
    if integration.cause == Cause.MERGE_OUTAGE:
        return True
    return PlatformIncident.current(IncidentKind.MERGE_OUTAGE) is not None


def _awaits_relink(integration: Integration) -> bool:
    """A relink moves an integration that is broken or unwell; one catching up already has been moved, and a
    healthy one has either caught up already (the webhook's catch-up finished before the admin's relink came
    back) or was never broken."""
    return Health(integration.health) not in (Health.CATCHING_UP, Health.HEALTHY)


def start_link(
    *,
    organization: Organization,
    category: str,
    email: str,
    integration: str | None = None,
    origin_id: str = "",
) -> str:
    """A link token for the origin id (the organization's unless told): Merge relinks the account it holds
    for that origin id in that category, or links a new one."""
    with MergeClient(category=category) as client:
        return client.create_link_token(
            origin_id=origin_id or organization.merge_origin_id,
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
        changed = ["merge_account_id", "account_token", "linked_at", "linked_by"]
        if not same_account:
            # Another linked account: the next run reads everything and moves each record to its new id.
            integration.rekey_from_account = previous_account
            integration.sync_watermark = None
            changed += ["rekey_from_account", "sync_watermark"]
        # Only what the relink changed: a full save would write back the sync lease, health and watermark
        # as they were when this request loaded them, over a sync that ran meanwhile.
        integration.save(update_fields=changed)
        mark_relinked(
            integration=integration,
            detected_by="admin",
            actor_id=membership.user_id,
            another_account=not same_account,
            same_account=same_account,
            previous_account=previous_account,
        )
    # A relink resolves every issue at Merge: the page the admin lands on lists only those still open.
    open_issues.refresh(integration)
    return RelinkOutcome(integration, same_account)


class AlreadyConnected(Exception):
    """The organization has a connected integration of that category: one HRIS and one CRM each."""


def can_connect(organization: Organization, category: str) -> bool:
    """No integration of the category, or only one an admin disconnected on purpose."""
    current = Integration.objects.filter(organization=organization, category=category).first()
    return current is None or current.cause == Cause.DISCONNECTED_BY_ADMIN


def connect(
    *,
    organization: Organization,
    category: str,
    public_token: str,
    membership: Membership | None,
    review_first_sync: bool = True,
    replace_connected: bool = False,
) -> Integration:
    """A new connection, or one made again after a Disconnect: the directory stays, and people are matched
    to the new account's records (by the provider's ids when it is the same provider, else by work email).
    Its first sync reads everyone into the directory and waits for an admin's review before provisioning
    anybody (review.py), unless `review_first_sync` is off (seeds, tests). The same linked account again is
    a relink, never reviewed. A connected integration of the category is refused (one HRIS, one CRM), unless
    `replace_connected` (the demo seed, whose sandbox account is gone)."""
    with MergeClient(category=category) as client:
        linked = client.exchange_public_token(public_token)
    with transaction.atomic():
        previous = (
            Integration.objects.select_for_update()
            .filter(organization=organization, category=category)
            .first()
        )
        relinked = previous is not None and previous.merge_account_id == linked.account_id
        if previous is not None and not (
            relinked or replace_connected or previous.cause == Cause.DISCONNECTED_BY_ADMIN
        ):
            raise AlreadyConnected(
                f"{organization} already has a connected {previous.get_category_display()}."
            )
        integration = previous or Integration(organization=organization, category=category)
        if previous is not None and not relinked and previous.merge_deletion_requested_at:
            # The old account must not outlive its replacement at Merge: its token is about to be replaced.
            delete_at_merge(previous)
        rekey = (
            previous.merge_account_id
            if previous and not relinked and previous.provider_slug == linked.provider_slug
            else ""
        )
        user = membership.user if membership else None
        fields = account_fields(linked, linked_by=user)
        if not relinked:
            review = ReviewState.PENDING if review_first_sync else ReviewState.NONE
            fields |= new_account_fields(rekey_from=rekey, review=review)
        for name, value in fields.items():
            setattr(integration, name, value)
        integration.save()
        if previous is not None and not relinked and not rekey:
            join_by_work_email(integration)
        if previous is not None:
            integration.set_health(Health.HEALTHY, detail="Connected again.")
        record(
            organization_id=organization.pk,
            actor_id=membership.user_id if membership else None,
            action="integration.connected",
            target=str(integration),
            account=linked.account_id,
            again=previous is not None,
            first_sync_reviewed=integration.awaiting_review,
        )
    return integration


def account_fields(
    linked: LinkedAccountToken, *, linked_by: User | None, origin_id: str = ""
) -> dict[str, object]:
    """What an integration takes from a linked account it is connected to (again): it syncs at once."""
    return {
        "provider_slug": linked.provider_slug,
        "provider_name": linked.provider_name,
        "merge_account_id": linked.account_id,
        "account_token": linked.account_token,
        "merge_origin_id": origin_id,
        "linked_by": linked_by,
        "linked_at": timezone.now(),
        "merge_deletion_requested_at": None,
        "disconnected_at": None,
        "disconnected_by": None,
        "is_paused": False,
        "next_sync_at": timezone.now(),
    }


def new_account_fields(*, rekey_from: str, review: ReviewState) -> dict[str, object]:
    """Another linked account than before: nothing of the old one's reading, health or review carries over.
    `rekey_from`: the same provider's records come back under new Merge ids, moved by the provider's ids."""
    return {
        "rekey_from_account": rekey_from,
        "sync_watermark": None,
        "last_full_read_at": None,
        "merge_issues": [],
        "failing_since": None,
        "consecutive_failures": 0,
        "password_rotation_days": None,
        "rotation_warned_at": None,
        "review_state": review,
        "review_summary": {},
        "review_summary_at": None,
        "reviewed_at": None,
        "reviewed_by": None,
    }


def join_by_work_email(integration: Integration) -> None:
    """Another provider's account: its records share no ids with the old one's, and they join the
    directory's people by work email (or by the matches a switch review found). The old records no longer
    speak for anyone, nor do the old account's teams and groups; the people only they knew stay as they are,
    "not seen at the source" after the first full read, never deactivated for it."""
    SourceIdentity.objects.filter(integration=integration).update(superseded=True)
    DirectoryGroup.objects.filter(integration=integration).delete()
