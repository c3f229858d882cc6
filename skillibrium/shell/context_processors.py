"""What every page's frame shows: the environment, and for admins what needs their attention."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from skillibrium.accounts.models import Membership
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
            context["attention"] = list(integrations.needing_action())
            context["rotation_due"] = [i for i in integrations if i.password_expiry_is_near]
            context["held_pending"] = HeldChange.objects.filter(
                organization=membership.organization, status="pending"
            ).count()
            context["platform_incident"] = PlatformIncident.current()
    return context
