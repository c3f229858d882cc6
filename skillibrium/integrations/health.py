"""Turn what Merge says and what syncs see into health transitions, retry schedules and notifications."""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from skillibrium.merge_client import (
    AccountGone,
    BackingOff,
    MergeError,
    Misconfigured,
    RateLimited,
    RelinkNeeded,
    Transient,
)
from skillibrium.notifications.services import notify_health_change

from .causes import classify
from .choices import Cause, Health, IncidentKind
from .models import Integration, PlatformIncident

logger = logging.getLogger(__name__)

# Degraded connections retry by themselves: quickly at first, then hourly, then every six hours after a day.
BACKOFF_SECONDS = (60, 120, 300, 900, 1800, 3600)
SLOW_AFTER = dt.timedelta(days=1)
SLOW_RETRY = dt.timedelta(hours=6)
FLEET_PAUSE = dt.timedelta(seconds=60)
API_KEY_REFUSED = (
    "Merge.dev is refusing Skillibrium's own credentials just now. This is Skillibrium's problem, not yours: "
    "your connection is fine, our team has been alerted and is fixing it. Please try again later."
)


def retry_delay(failures: int, failing_for: dt.timedelta) -> dt.timedelta:
    if failing_for >= SLOW_AFTER:
        return SLOW_RETRY
    return dt.timedelta(seconds=BACKOFF_SECONDS[min(max(failures, 1), len(BACKOFF_SECONDS)) - 1])


def diagnose(error: MergeError) -> tuple[Health, Cause]:
    if isinstance(error, RelinkNeeded):
        return Health.RELINK_NEEDED, classify(str(error))
    if isinstance(error, AccountGone):
        return Health.DISCONNECTED, Cause.ACCOUNT_DELETED
    if isinstance(error, Transient | RateLimited):
        return Health.DEGRADED, Cause.MERGE_OUTAGE
    return Health.DEGRADED, Cause.OTHER


def for_admins(error: MergeError) -> str:
    """What an admin is told when Merge refused what they asked for: our own key refused is ours to fix (the
    client opened the incident as Merge answered), and Merge's words about it would only mislead them."""
    return API_KEY_REFUSED if isinstance(error, Misconfigured) else str(error)


def record_failure(integration: Integration, error: MergeError) -> None:
    if isinstance(error, Misconfigured | BackingOff):
        hold_for_platform(integration, error)
        return
    health, cause = diagnose(error)
    now = timezone.now()
    integration.consecutive_failures += 1
    integration.failing_since = integration.failing_since or now
    integration.note_break()
    if health == Health.DEGRADED:
        integration.next_sync_at = now + retry_delay(
            integration.consecutive_failures, now - integration.failing_since
        )
    integration.save(update_fields=["consecutive_failures", "failing_since", "next_sync_at"])
    logger.warning(
        "integration %s: %s (%s) after %d failures",
        integration.pk,
        health,
        cause,
        integration.consecutive_failures,
    )
    if integration.set_health(health, cause, str(error)[:2000]):
        notify_health_change(integration)


def record_degraded(integration: Integration, cause: Cause, detail: str) -> None:
    """Merge reports a problem (provider offline, say) but still serves data: sync, but deactivate no one."""
    integration.note_break()
    integration.set_health(Health.DEGRADED, cause, detail[:2000])


def record_success(integration: Integration, *, watermark: dt.datetime | None) -> bool:
    """Returns whether the organization needs a full provisioning pass (changes missed while unwell)."""
    full_pass = integration.provisioning_pending
    integration.last_successful_sync_at = timezone.now()
    integration.sync_watermark = watermark
    integration.consecutive_failures, integration.failing_since = 0, None
    integration.provisioning_pending = False
    integration.save(
        update_fields=[
            "last_successful_sync_at",
            "sync_watermark",
            "consecutive_failures",
            "failing_since",
            "provisioning_pending",
        ]
    )
    previous = Health(integration.health)
    if integration.set_health(Health.HEALTHY) and (previous.needs_action or previous == Health.CATCHING_UP):
        notify_health_change(integration)
    return full_pass


def open_platform_incident(detail: str, kind: IncidentKind = IncidentKind.MERGE_OUTAGE) -> PlatformIncident:
    """One open incident per kind for the whole fleet, logged at ERROR once, when it opens."""
    incident = PlatformIncident.current(kind)
    if incident is not None:
        return incident
    try:
        with transaction.atomic():
            incident = PlatformIncident.objects.create(kind=kind, detail=detail[:2000])
    except IntegrityError:  # another worker opened it a moment ago
        return PlatformIncident.objects.get(kind=kind, ended_at__isnull=True)
    logger.error("platform incident: %s: %s", incident.get_kind_display(), detail)
    return incident


def close_platform_incident(kind: IncidentKind = IncidentKind.MERGE_OUTAGE) -> bool:
    open_incidents = PlatformIncident.objects.filter(ended_at__isnull=True, kind=kind)
    closed = open_incidents.update(ended_at=timezone.now())
    if closed:
        logger.warning("platform incident over: %s", kind.label)
    return bool(closed)


def hold_for_platform(integration: Integration, error: MergeError) -> None:
    """A fault of the platform (our API key, the fleet's failure budget) is not this organization's: its
    health stays as it is and no one is emailed; the sync is due again as soon as the platform allows."""
    integration.provisioning_pending = True
    # Held by the incident, it is due again at once; held back by the fleet's budget, after the window.
    integration.next_sync_at = timezone.now() + (
        FLEET_PAUSE if isinstance(error, BackingOff) else dt.timedelta()
    )
    integration.save(update_fields=["provisioning_pending", "next_sync_at"])
    if isinstance(error, Misconfigured):
        open_platform_incident(str(error), IncidentKind.API_KEY_REJECTED)


@dataclass(frozen=True)
class Degradation:
    since: dt.datetime
    leavers: int
    lasting: bool  # past DEGRADED_ALERT_HOURS: the admins were told by email


def degradation(integration: Integration) -> Degradation | None:
    """A degraded spell, for the card: since when, and how many deactivations it holds back."""
    from skillibrium.provisioning.scope import leavers_waiting

    spell = integration.degraded_spell
    if spell is None:
        return None
    lasting = timezone.now() - spell.at >= dt.timedelta(hours=settings.DEGRADED_ALERT_HOURS)
    return Degradation(since=spell.at, leavers=leavers_waiting(integration), lasting=lasting)
