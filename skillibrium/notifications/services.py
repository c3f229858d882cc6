"""Tell an organization's admins when an integration needs them, remind them, and say when it recovered."""

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from skillibrium.accounts.time_zones import render_for, zone_of
from skillibrium.integrations.causes import explain
from skillibrium.integrations.choices import Category, Cause, Health
from skillibrium.integrations.models import Integration, IntegrationEvent

from .outbox import queue_email, was_queued
from .recipients import recipients_for

logger = logging.getLogger(__name__)

REMINDER_DAYS = (1, 3, 7)


def subject(text: str) -> str:
    """Every email says which environment it comes from."""
    return f"[Sandbox] {text}" if settings.ENVIRONMENT == "sandbox" else text


def edit_url(integration: Integration) -> str:
    name = "integrations:company_edit" if integration.category == Category.CRM else "integrations:edit"
    return settings.SITE_URL + reverse(name, args=[integration.pk])


def send_alert(integration: Integration, *, key: str, title: str, body: str) -> bool:
    """Every connection alert goes out here: once per key to its recipients, the extra addresses in a copy
    whose footer says why they receive it. False when it was queued before or nobody is there to tell."""
    recipients = recipients_for(integration)
    extra_key = f"{key}/extra"
    if not recipients or was_queued(key) or was_queued(extra_key):
        return False
    queued = queue_email(key=key, subject=subject(title), body=body, to=recipients.admins)
    if recipients.extra:
        footer = render_to_string("notifications/extra_footer.txt", {"integration": integration})
        queued |= queue_email(key=extra_key, subject=subject(title), body=body + footer, to=recipients.extra)
    if queued:
        logger.info(
            "emailing %d recipients of organization %s: %s",
            len(recipients.admins) + len(recipients.extra),
            integration.organization_id,
            key.split("/")[-1],
        )
    return queued


def _send(
    integration: Integration,
    kind: str,
    title: str,
    template: str,
    event: IntegrationEvent | None = None,
    **extra: object,
) -> bool:
    """Queue one email per health transition (the current one unless told) and kind: the outbox key is what
    makes it at most once."""
    event = event or integration.current_event
    key = f"health/{event.pk}/{kind}" if event else ""
    if not key or was_queued(key):
        return False
    context = {
        "integration": integration,
        "explanation": explain(integration.cause),
        "edit_url": edit_url(integration),
    }
    return send_alert(
        integration,
        key=key,
        title=title,
        body=render_for(integration.organization, template, context | extra),
    )


def _send_broken(integration: Integration) -> bool:
    title = f"Action required: relink your {integration.provider_name} integration"
    return _send(integration, "broken", title, "notifications/health_change.txt")


def notify_health_change(integration: Integration) -> None:
    """Called on each transition; degraded states heal by themselves and send nothing."""
    health = Health(integration.health)
    name = integration.provider_name
    if integration.cause == Cause.DISCONNECTED_BY_ADMIN:
        return  # intentional: no one is asked to relink
    if health.needs_action:
        _send_broken(integration)
    elif health == Health.HEALTHY:
        _send(
            integration,
            "recovered",
            f"Your {name} integration is syncing again",
            "notifications/health_change.txt",
        )


def send_due_reminders(*, now: dt.datetime | None = None) -> int:
    """Remind admins 1, 3 and 7 days after a connection broke, while it still needs them."""
    now = now or timezone.now()
    sent = 0
    wanted = Integration.objects.needing_action().filter(is_paused=False)
    for integration in wanted.exclude(cause=Cause.DISCONNECTED_BY_ADMIN):
        sent += _send_broken(integration)  # only if none was queued when it broke (no admin then)
        # After the scheduler was down, only the latest reminder due goes out, not every one it missed.
        broken_for = now - integration.health_changed_at
        due = [days for days in REMINDER_DAYS if broken_for >= dt.timedelta(days=days)]
        if due:
            title = f"Reminder: your {integration.provider_name} integration still needs relinking"
            sent += _send(
                integration,
                f"reminder_{due[-1]}",
                title,
                "notifications/health_change.txt",
                reminder_days=due[-1],
            )
    return sent


def warn_lasting_degradation(
    *, leavers_waiting: Callable[[Integration], int], now: dt.datetime | None = None
) -> int:
    """A degraded connection heals by itself, so it sends nothing at first; one that lasts holds back
    deactivations, so after DEGRADED_ALERT_HOURS the admins hear of it once per spell. Provisioning, which
    sends through this module, counts the leavers it holds back (`leavers_waiting`)."""
    now = now or timezone.now()
    after = dt.timedelta(hours=settings.DEGRADED_ALERT_HOURS)
    sent = 0
    for integration in Integration.objects.filter(health=Health.DEGRADED, is_paused=False):
        spell = integration.degraded_spell
        if spell is None or now - spell.at < after:
            continue
        since = spell.at.astimezone(zone_of(integration.organization))
        sent += _send(
            integration,
            "degraded_lasting",
            f"Your {integration.provider_name} integration has not fully synced since {since:%b %d}",
            "notifications/degraded_lasting.txt",
            event=spell,
            since=spell.at,
            leavers=leavers_waiting(integration),
        )
    return sent


def warn_rotations(*, now: dt.datetime | None = None) -> int:
    """Warn admins before the sync user's password is expected to expire, once per link or relink."""
    now = now or timezone.now()
    sent = 0
    for integration in Integration.objects.filter(password_rotation_days__isnull=False, is_paused=False):
        already = integration.rotation_warned_at and integration.rotation_warned_at >= integration.linked_at
        expires = integration.password_expected_to_expire_at
        if already or not integration.password_expiry_is_near or expires is None:
            continue
        on = expires.astimezone(zone_of(integration.organization))
        title = f"The {integration.provider_name} sync user's password is expected to expire on {on:%b %d}"
        body = render_for(
            integration.organization,
            "notifications/rotation_warning.txt",
            {"integration": integration, "expires": expires, "edit_url": edit_url(integration)},
        )
        key = f"rotation/{integration.pk}/{integration.linked_at.isoformat()}"
        send_alert(integration, key=key, title=title, body=body)
        integration.rotation_warned_at = now
        integration.save(update_fields=["rotation_warned_at"])
        sent += 1
    return sent
