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
    if health == Health.HEALTHY:
        title = subject(f"Your {integration.provider_name} integration is syncing again")
    else:
        title = subject(f"Action required: relink your {integration.provider_name} integration")
    context = {
        "integration": integration,
        "explanation": explain(integration.cause),
        "edit_url": settings.SITE_URL + reverse("integrations:edit", args=[integration.pk]),
    }
    body = render_to_string("notifications/health_change.txt", context)
    send_mail(title, body, None, recipients)
    logger.info(
        "told %d admins of organization %s: %s", len(recipients), integration.organization_id, title
    )


def subject(text: str) -> str:
    """Every email says which environment it comes from."""
    return f"[Sandbox] {text}" if settings.ENVIRONMENT == "sandbox" else text


def send_invitation_emails(*, user_ids: list[int]) -> int:
    """Invite new users: they choose a password through password reset; no password is ever mailed."""
    from skillibrium.accounts.models import User

    sent = 0
    for user in User.objects.filter(pk__in=user_ids, is_active=True).select_related(
        "membership__organization"
    ):
        context = {
            "user": user,
            "organization": user.membership.organization,
            "url": settings.SITE_URL + reverse("account_reset_password"),
        }
        body = render_to_string("notifications/invitation.txt", context)
        send_mail(
            subject(f"You're invited to Skillibrium by {context['organization']}"), body, None, [user.email]
        )
        sent += 1
    return sent
