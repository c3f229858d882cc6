"""Background work: tasks take ids, re-fetch, and call into the engine."""

import datetime as dt
import random

from apscheduler.triggers.interval import IntervalTrigger
from crontask import cron
from django.conf import settings
from django.tasks import task
from django.utils import timezone

from skillibrium.core.health import scheduler_ticked
from skillibrium.integrations.choices import Health, Trigger
from skillibrium.integrations.models import Integration, PlatformIncident, client_for
from skillibrium.integrations.relink import request_sync
from skillibrium.merge_client import MergeError

from .engine import CatchUpWaits, sync_integration
from .merge_status import reading_again
from .preview import read_replacement

# A relink's catch-up waits for Merge's own read of the provider, asking again every few seconds; past the
# limit it runs with what Merge has.
CATCH_UP_WAITS = dt.timedelta(minutes=10)
CATCH_UP_LOOKS_AGAIN = dt.timedelta(seconds=5)


@task
def sync_linked_account(integration_id: int, trigger: str) -> int | None:
    try:
        run = sync_integration(
            integration_id=integration_id, trigger=Trigger(trigger), waits=catch_up_waits_for_merge
        )
    except CatchUpWaits:
        # Still queued (its marker stays): webhooks meanwhile join it, and it carries what they announce.
        later = sync_linked_account.using(run_after=timezone.now() + CATCH_UP_LOOKS_AGAIN)
        later.enqueue(integration_id, trigger)
        return None
    return run.pk if run else None


def catch_up_waits_for_merge(integration: Integration) -> bool:
    """Whether the catch-up after a relink should wait: Merge is still reading the provider again."""
    if integration.health != Health.CATCHING_UP or integration.is_paused:
        return False
    if integration.health_changed_at < timezone.now() - CATCH_UP_WAITS:
        return False
    try:
        with client_for(integration) as client:
            return reading_again(client, integration)
    except MergeError:
        return False  # the sync itself meets the error and records it


@cron(IntervalTrigger(seconds=settings.SCHEDULER_TICK_SECONDS))
@task
def enqueue_due_syncs() -> int:
    scheduler_ticked()
    return queue_due_syncs()


def queue_due_syncs() -> int:
    """Spread scheduled syncs with jitter so that many organizations do not hit Merge at the same instant.
    While Merge rejects our API key nothing is queued: the fleet poll resumes them when the key works."""
    if PlatformIncident.api_key_rejected():
        return 0
    due = list(Integration.objects.due_for_sync())
    for integration in due:
        jitter = random.uniform(0, settings.SYNC_INTERVAL_SECONDS * 0.1)  # noqa: S311 - not security relevant
        next_at = timezone.now() + dt.timedelta(seconds=settings.SYNC_INTERVAL_SECONDS + jitter)
        Integration.objects.filter(pk=integration.pk).update(next_sync_at=next_at)
        request_sync(integration, Trigger(integration.sync_requested or Trigger.SCHEDULE))
    return len(due)


@task
def read_replacement_account(replacement_id: int) -> str:
    """A vendor switch's preview: the new account read in full, nothing written to the directory."""
    return read_replacement(replacement_id)
