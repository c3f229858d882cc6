"""Turn sync outcomes into health transitions, and notify once per transition."""

import datetime as dt
import logging

from django.utils import timezone

from skillibrium.merge_client import AccountGone, MergeError, RateLimited, RelinkNeeded, Transient
from skillibrium.notifications.services import notify_health_change

from .causes import classify
from .choices import Cause, Health
from .models import Integration

logger = logging.getLogger(__name__)


def record_failure(integration: Integration, error: MergeError) -> None:
    if isinstance(error, RelinkNeeded):
        health, cause = Health.RELINK_NEEDED, classify(str(error))
    elif isinstance(error, AccountGone):
        health, cause = Health.DISCONNECTED, Cause.ACCOUNT_DELETED
    elif isinstance(error, Transient | RateLimited):
        health, cause = Health.DEGRADED, Cause.MERGE_OUTAGE
    else:
        health, cause = Health.DEGRADED, Cause.OTHER
    logger.warning("integration %s: %s (%s)", integration.pk, health, cause)
    if integration.set_health(health, cause, str(error)):
        notify_health_change(integration)


def record_success(integration: Integration, *, watermark: dt.datetime | None) -> None:
    integration.last_successful_sync_at = timezone.now()
    integration.sync_watermark = watermark
    integration.save(update_fields=["last_successful_sync_at", "sync_watermark"])
    previous = Health(integration.health)
    if integration.set_health(Health.HEALTHY) and (previous.needs_action or previous == Health.SYNCING):
        notify_health_change(integration)
