"""The fallback signal: poll Merge for every linked account's status, once for the whole fleet."""

import logging
from dataclasses import dataclass, field

from django.utils import timezone

from skillibrium.merge_client import BackingOff, MergeClient, Misconfigured, RateLimited, Transient

from . import health
from .choices import Category, Cause, Health, IncidentKind, Trigger
from .models import Integration, PlatformIncident, client_for
from .relink import mark_relinked, request_sync

logger = logging.getLogger(__name__)


@dataclass
class PollResult:
    checked: int = 0
    to_sync: list[int] = field(default_factory=list)
    relinked_elsewhere: list[int] = field(default_factory=list)
    merge_down: bool = False
    api_key_rejected: bool = False


def poll_linked_accounts() -> PollResult:
    """Merge lists the accounts that need relinking; absence from a list is never taken as evidence."""
    result = PollResult()
    if PlatformIncident.api_key_rejected() and not _api_key_works_again():
        result.api_key_rejected = True
        return result
    for category in Category:
        ours = {i.merge_account_id: i for i in Integration.objects.filter(category=category, is_paused=False)}
        if not ours:
            continue
        try:
            with MergeClient(category=category) as client:
                needing = {
                    str(a.get("id"))
                    for page in client.pages("linked-accounts", {"status": "RELINK_NEEDED"})
                    for a in page
                }
                recovered = _recovered(
                    client, [i for i in ours.values() if Health(i.health).needs_action], needing
                )
        except BackingOff:
            result.merge_down = True  # the fleet just had many failures: this tick asks nothing
            return result
        except Misconfigured as error:
            health.open_platform_incident(str(error), IncidentKind.API_KEY_REJECTED)
            result.api_key_rejected = True
            return result
        except (Transient, RateLimited) as error:
            health.open_platform_incident(str(error))
            result.merge_down = True
            return result
        result.checked += len(ours)
        for account_id, integration in ours.items():
            if account_id in needing and not Health(integration.health).needs_action:
                result.to_sync.append(integration.pk)  # the sync names the cause from Merge's issues
        for integration in recovered:
            if mark_relinked(integration=integration, detected_by="poll"):
                result.relinked_elsewhere.append(integration.pk)
    for integration in Integration.objects.filter(pk__in=result.to_sync):
        request_sync(integration, Trigger.SCHEDULE)
    return result


def merge_answers_again() -> list[int]:
    """Merge answered a request: an outage ends then, not at the next poll, and the connections it degraded
    sync at once (those syncing now go on). Returns the integrations asked to sync."""
    if not health.close_platform_incident():
        return []
    outage = Integration.objects.filter(health=Health.DEGRADED, cause=Cause.MERGE_OUTAGE)
    waiting = list(outage.exclude(sync_lease_until__gte=timezone.now()))
    for integration in waiting:
        request_sync(integration, Trigger.SCHEDULE)
    return [i.pk for i in waiting]


def watch_outage() -> bool:
    """While an outage is open, one cheap question to Merge: its first answer ends the outage (through
    merge_answers_again, at the client). Returns whether Merge is answering."""
    if PlatformIncident.current(IncidentKind.MERGE_OUTAGE) is None:
        return True
    with MergeClient(category=Category.HRIS) as client:
        client.api_key_works()
    return PlatformIncident.current(IncidentKind.MERGE_OUTAGE) is None


def _api_key_works_again() -> bool:
    """One cheap call per tick while the key is rejected; when it works, the syncs held meanwhile go."""
    from skillibrium.sync.tasks import queue_due_syncs

    with MergeClient(category=Category.HRIS) as client:
        if not client.api_key_works():
            return False
    health.close_platform_incident(IncidentKind.API_KEY_REJECTED)
    queue_due_syncs()
    return True


def _recovered(client: MergeClient, broken: list[Integration], needing: set[str]) -> list[Integration]:
    """An account relinked outside Skillibrium (a magic link, Merge's dashboard) is COMPLETE again."""
    back = []
    for integration in broken:
        if integration.merge_account_id in needing or integration.health == Health.DISCONNECTED:
            continue
        if is_complete_at_merge(integration):
            integration.linked_at = timezone.now()
            integration.save(update_fields=["linked_at"])
            back.append(integration)
    return back


def is_complete_at_merge(integration: Integration) -> bool:
    """Merge's own word that the linked account works now (not a late or replayed webhook's)."""
    with client_for(integration) as own:
        return own.account_details().status == "COMPLETE"
