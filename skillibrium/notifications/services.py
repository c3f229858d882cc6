"""Tell an organization's admins when an integration needs them, and when it has recovered."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from skillibrium.accounts.models import Membership, Role
from skillibrium.integrations.causes import explain
from skillibrium.integrations.choices import Health
from skillibrium.integrations.models import Integration

logger = logging.getLogger(__name__)


def admin_emails(organization_id: int) -> list[str]:
    admins = Membership.objects.filter(organization_id=organization_id, role=Role.ADMIN, user__is_active=True)
    return sorted(admins.values_list("user__email", flat=True))


def notify_health_change(integration: Integration) -> None:
    """Called once per transition; degraded states heal by themselves and send nothing."""
    health = Health(integration.health)
    if health == Health.DEGRADED:
        return
    recipients = admin_emails(integration.organization_id)
    if not recipients:
        return
    tag = "[Sandbox] " if settings.ENVIRONMENT == "sandbox" else ""
    if health == Health.HEALTHY:
        subject = f"{tag}Your {integration.provider_name} integration is syncing again"
    else:
        subject = f"{tag}Action required: relink your {integration.provider_name} integration"
    context = {
        "integration": integration,
        "explanation": explain(integration.cause),
        "edit_url": settings.SITE_URL + reverse("integrations:edit", args=[integration.pk]),
    }
    body = render_to_string("notifications/health_change.txt", context)
    send_mail(subject, body, None, recipients)
    logger.info(
        "told %d admins of organization %s: %s", len(recipients), integration.organization_id, subject
    )
