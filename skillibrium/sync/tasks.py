"""Background work: tasks take ids, re-fetch, and call into the engine."""

import datetime as dt
import random

from apscheduler.triggers.interval import IntervalTrigger
from crontask import cron
from django.conf import settings
from django.tasks import task
from django.utils import timezone

from skillibrium.integrations.choices import Trigger
from skillibrium.integrations.models import Integration, PlatformIncident
from skillibrium.integrations.relink import request_sync

from .engine import sync_integration
from .preview import read_replacement


@task
def sync_linked_account(integration_id: int, trigger: str) -> int | None:
    run = sync_integration(integration_id=integration_id, trigger=Trigger(trigger))
    return run.pk if run else None


@cron(IntervalTrigger(seconds=30))
@task
def enqueue_due_syncs() -> int:
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
