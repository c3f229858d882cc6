from typing import Any

from django.conf import settings
from django.http import HttpRequest

from skillibrium.accounts.models import Membership


def skillibrium(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {
        "environment": settings.ENVIRONMENT,
        "merge_link_script_url": settings.MERGE_LINK_SCRIPT_URL,
    }
    user = request.user
    if user.is_authenticated:
        membership = Membership.objects.select_related("organization").filter(user_id=user.pk).first()
        context["membership"] = membership
        if membership is not None and membership.is_admin:
            from skillibrium.integrations.models import Integration

            context["attention"] = list(Integration.objects.for_org(membership.organization).needing_action())
    return context
