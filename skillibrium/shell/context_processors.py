"""What every page's frame shows: the environment, and for admins what needs their attention."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from skillibrium.accounts.models import Membership
from skillibrium.integrations.choices import Category, IncidentKind
from skillibrium.integrations.models import Integration, PlatformIncident
from skillibrium.provisioning.models import HeldChange


def skillibrium(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {
        "environment": settings.ENVIRONMENT,
        "self_signup": settings.SELF_SIGNUP,
        "merge_link_script_url": settings.MERGE_LINK_SCRIPT_URL,
    }
    user = getattr(request, "user", None)  # absent when a request is refused before authentication (400)
    if user is not None and user.is_authenticated:
        membership = Membership.objects.select_related("organization").filter(user_id=user.pk).first()
        context["membership"] = membership
        if membership is not None and membership.is_admin:
            integrations = Integration.objects.for_org(membership.organization)
            attention = list(integrations.needing_action())
            context["attention"] = attention
            # Each dot leads to where its integration is listed: My Org to HRIS Settings (an HRIS only),
            # Settings to Company Integrations (every integration, a CRM's only home).
            context["attention_hris"] = any(i.category == Category.HRIS for i in attention)
            context["rotation_due"] = [i for i in integrations if i.password_expiry_is_near]
            context["held_pending"] = HeldChange.objects.filter(
                organization=membership.organization, status="pending"
            ).count()
            incident = PlatformIncident.current()
            context["platform_incident"] = incident
            context["merge_outage"] = incident is not None and incident.kind == IncidentKind.MERGE_OUTAGE
    return context
